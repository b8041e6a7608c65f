// Runbooks and executions as the API answers them: webhook secrets only as "<stored>", each
// execution with its workflow and a link into the Temporal UI.
import type { z } from '@hono/zod-openapi';
import type { ExecutionRow, RunbookSummary, StepResultRow } from '../../db/runbooks.js';
import type { ExecutionSchema, RunbookSchema } from '../schemas/runbooks.js';
import { iso } from './time.js';

const duration = (from: Date | null, to: Date | null) => (from && to ? to.getTime() - from.getTime() : null);

export function runbookJson({ runbook: r, executions, last }: RunbookSummary): z.infer<typeof RunbookSchema> {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    active: r.active,
    trigger_conditions: r.triggerConditions,
    steps: r.steps,
    steps_count: r.steps.length,
    executions_count: executions,
    last_execution: last ? { id: last.id, status: last.status, started_at: iso(last.startedAt), finished_at: iso(last.finishedAt) } : null,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

/** Where the Temporal UI is when the deployment does not say (`npm start`'s dev server). */
export const DEFAULT_TEMPORAL_UI = 'http://127.0.0.1:8233';

export function temporalUiUrl(base: string, workflowId: string): string {
  return `${base.replace(/\/+$/, '')}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
}

export function executionJson(e: ExecutionRow, steps: StepResultRow[], uiBase: string): z.infer<typeof ExecutionSchema> {
  return {
    id: e.id,
    runbook_id: e.runbookId,
    incident_id: e.incidentId,
    trigger: e.trigger,
    status: e.status,
    simulated: e.simulated,
    retry_of: e.retryOf,
    from_step: e.fromStep,
    error: e.error,
    context: {
      incident_id: e.context.incidentId,
      family: e.context.family,
      subtype: e.context.subtype,
      severity: e.context.severity,
      pps: e.context.pps,
      bps: e.context.bps,
      tier: e.context.tier,
      node_id: e.context.nodeUuid,
      node_name: e.context.nodeName,
      target: e.context.target,
      started_at: e.context.startedAt,
    },
    workflow_id: e.workflowId,
    temporal_ui_url: temporalUiUrl(uiBase, e.workflowId),
    notes: e.notes,
    started_at: e.startedAt.toISOString(),
    finished_at: iso(e.finishedAt),
    duration_ms: duration(e.startedAt, e.finishedAt),
    steps: steps
      .filter((s) => s.executionId === e.id)
      .map((s) => ({
        index: s.stepIndex,
        action_type: s.actionType,
        status: s.status,
        output: s.output,
        error: s.error,
        started_at: iso(s.startedAt),
        finished_at: iso(s.finishedAt),
        duration_ms: duration(s.startedAt, s.finishedAt),
      })),
  };
}
