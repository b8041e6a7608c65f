// The runbook family's contract: one workflow per execution (`runbook-exec:<id>`), its
// input and progress. Pure; shared by the workflow, its activities (activities/runbook.ts),
// the incident workflow that starts executions, and its client (clients/runbook.ts).
import { defineQuery } from '@temporalio/workflow';
import type { RunbookContext, RunInfo } from '../domain/runbook-context.js';
import type { RunbookStep } from '../domain/runbook-schemas.js';
import type { WorkflowLabels } from './search-attributes.contract.js';

export const runbookExecutionWorkflowId = (executionId: number) => `runbook-exec:${executionId}`;

export interface RunbookExecutionInput {
  run: RunInfo;
  workspaceId: number;
  /** The steps as they were when the execution started (a retry: the runbook's current ones). */
  steps: RunbookStep[];
  context: RunbookContext;
  /** A retry starts at its predecessor's failed step. */
  fromStep: number;
  /** No node: steps that would touch a host, zone or provider are simulated. */
  simulated: boolean;
}

/** What the Temporal UI shows of an execution: kind runbook, its workspace, incident, node and target. */
export function runbookExecutionAbout(input: RunbookExecutionInput): { labels: WorkflowLabels; summary: string } {
  const c = input.context;
  return {
    labels: { workspaceId: input.workspaceId, kind: 'runbook', target: c.target, incidentId: c.incidentId ?? undefined, node: c.nodeUuid ?? undefined },
    summary: `runbook ${input.run.runbookName} (execution ${input.run.executionId})${input.simulated ? ', simulated' : ''}${c.incidentId === null ? '' : `, incident ${c.incidentId}`}`,
  };
}

export type ExecutionOutcome = { status: 'succeeded' } | { status: 'failed'; step: number; error: string } | { status: 'cancelled' };

export interface ExecutionProgress {
  /** The step running now (or last run). */
  step: number;
  /** Undone on the incident's resolution (UAM restored, diversion withdrawn), still pending. */
  pendingCleanups: string[];
}

export const executionProgressQuery = defineQuery<ExecutionProgress>('progress');

/** What a step left to undo when the incident resolves (or after a set time). */
export type Cleanup =
  | { kind: 'restore_security_level'; integrationId: number; previous: string; afterSeconds: number | null }
  | { kind: 'end_diversion'; integrationId: number };

/** How often an execution holding cleanups asks whether its incident has resolved. */
export const RESOLVED_POLL_SECONDS = 5;

/** Activity failure types no retry can mend: the step failed, the execution stops there. */
export const STEP_REFUSED = 'StepRefused';
