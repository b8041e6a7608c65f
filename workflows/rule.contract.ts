// The rule workflow's contract: its id, its messages and payloads. Pure, so the workflow,
// its activities (activities/rule.ts) and its client (clients/rule.ts) share one definition.
// Bound to the replay fixtures: message names and payload shapes are in recorded histories.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { ruleSummary, type WorkflowLabels } from './search-attributes.contract.js';

/** One workflow per rule row: a repeated request finds the running workflow. */
export const ruleWorkflowId = (ruleId: number) => `rule:${ruleId}`;

export interface RuleWorkflowInput {
  ruleId: number;
  /** 0 = until withdrawn. */
  ttlSeconds: number;
  /** A scrubbing rule: the integration whose diversion (`scrubbing:<id>`, a child) the rule holds. */
  scrubbingId?: number;
  /**
   * What the Temporal UI shows of the rule: its search attributes when started and its
   * summary (absent in histories older than them, and in inputs built without the row).
   */
  about?: RuleAbout;
}

export interface RuleAbout {
  labels: WorkflowLabels;
  summary: string;
}

/** A rule's row, as much of it as the workflow input and its labels take. */
export interface RuleRowLike {
  id: number;
  ttl: number;
  scrubbingId: number | null;
  workspaceId?: number;
  intentType?: string;
  targetIp?: string;
  adapterId?: number | null;
  incidentId?: number | null;
  /** What the summary says the rule goes through (the adapter's or integration's name; default `adapter <id>` / `scrubbing <id>`). */
  via?: string;
}

/** The workflow input for a rule's row (with what the UI shows of it, when the row says enough). */
export function ruleInput(row: RuleRowLike): RuleWorkflowInput {
  const input: RuleWorkflowInput = row.scrubbingId === null ? { ruleId: row.id, ttlSeconds: row.ttl } : { ruleId: row.id, ttlSeconds: row.ttl, scrubbingId: row.scrubbingId };
  const about = ruleAbout(row);
  return about ? { ...input, about } : input;
}

/** The rule's labels and summary, when the row says enough (its workspace, intent and target). */
export function ruleAbout(row: RuleRowLike): RuleAbout | undefined {
  if (row.workspaceId === undefined || row.intentType === undefined || row.targetIp === undefined) return undefined;
  const through = row.via ?? (row.scrubbingId !== null ? `scrubbing ${row.scrubbingId}` : `adapter ${row.adapterId ?? '?'}`);
  return {
    labels: {
      workspaceId: row.workspaceId,
      kind: row.intentType,
      target: row.targetIp,
      adapterId: row.adapterId ?? undefined,
      incidentId: row.incidentId ?? undefined,
      status: 'pending',
    },
    summary: ruleSummary({ intentType: row.intentType, target: row.targetIp, via: through, ttlSeconds: row.ttl, incidentId: row.incidentId }),
  };
}

/** The rule status (the API's word, BulwarkStatus) of a workflow phase. */
export const ruleStatusOf = (phase: RulePhase): string => (phase === 'announcing' ? 'pending' : phase);

export type RulePhase = 'announcing' | 'active' | 'withdrawing' | 'withdrawn' | 'expired' | 'failed';

/** Phases after which the route is gone for certain. */
export const ENDED_RULE_PHASES: readonly RulePhase[] = ['withdrawn', 'expired', 'failed'];

export interface RuleState {
  phase: RulePhase;
  /** Epoch ms when the TTL ends, null while announcing or without TTL. */
  expiresAtMs: number | null;
  /** The adapter's error for a failed rule. */
  error: string | null;
}

export interface WithdrawRequest {
  reason?: string;
}

/** How a rule ended, as the withdraw activity records it. */
export type RuleOutcome = 'withdrawn' | 'expired' | 'failed';

/** Resolves once the announcement settled: phase active, or failed with the error. */
export const announcedUpdate = defineUpdate<RuleState>('announced');
/** Asks for withdrawal and resolves once the route is gone. */
export const withdrawUpdate = defineUpdate<RuleState, [WithdrawRequest]>('withdraw');
/** Fire-and-forget withdrawal (e.g. from an incident that ended). */
export const withdrawSignal = defineSignal<[WithdrawRequest]>('withdraw');
/** Sets a new TTL counted from now (0 = until withdrawn). */
export const extendTtlUpdate = defineUpdate<RuleState, [{ ttlSeconds: number }]>('extendTtl');
export const stateQuery = defineQuery<RuleState>('state');
