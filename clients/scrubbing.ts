// The scrubbing family's way in: start a diversion and wait for the provider to confirm it,
// end one and wait until it is off, and check a provider (test, status).
import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError } from '@temporalio/client';
import { activeUpdate, scrubbingCheckWorkflowId, scrubbingWorkflowId, withdrawUpdate, type DiversionInput, type DiversionState, type ScrubbingCheck } from '../workflows/scrubbing.contract.js';
import { scrubbingCheckWorkflow, scrubbingWorkflow } from '../workflows/scrubbing.js';
import { withDeadline, type TemporalDeps } from './temporal.js';

/**
 * Starts the integration's diversion (or finds the running one) and answers once the
 * provider confirmed it or it failed; null when that takes longer than `waitMs`.
 */
export async function startDiversion(t: TemporalDeps, input: DiversionInput, waitMs: number): Promise<DiversionState | null> {
  const deadline = Date.now() + waitMs;
  const workflowId = scrubbingWorkflowId(input.integrationId);
  for (;;) {
    const start = new WithStartWorkflowOperation(scrubbingWorkflow, { workflowId, taskQueue: t.taskQueue, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
    const state = await withDeadline(t.temporal.workflow.executeUpdateWithStart(activeUpdate, { startWorkflowOperation: start }), Math.max(0, deadline - Date.now()));
    // The run found is still ending an earlier diversion (withdrawn a moment ago): once it
    // has ended, the next attempt starts a new one.
    if (state?.phase !== 'deactivating' && state?.phase !== 'inactive') return state;
    if ((await withDeadline(t.temporal.workflow.getHandle(workflowId).result(), Math.max(0, deadline - Date.now()))) === null) return null;
  }
}

/** Ends the running diversion and answers once it is off; null when none runs; the state when that takes longer than `waitMs` (null too). */
export async function endDiversion(t: TemporalDeps, integrationId: number, reason: string, waitMs: number): Promise<DiversionState | 'none' | null> {
  try {
    return await withDeadline(t.temporal.workflow.getHandle(scrubbingWorkflowId(integrationId)).executeUpdate(withdrawUpdate, { args: [{ reason }] }), waitMs);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || (err instanceof Error && /workflow execution already completed/i.test(err.message))) return 'none';
    throw err;
  }
}

export async function checkScrubbing(t: TemporalDeps, integrationId: number): Promise<ScrubbingCheck> {
  return t.temporal.workflow.execute(scrubbingCheckWorkflow, { workflowId: scrubbingCheckWorkflowId(integrationId, randomUUID()), taskQueue: t.taskQueue, args: [integrationId] });
}
