// The reconcile family's way in: one Temporal schedule per adapter whose back end can say
// what it announces, running reconcileWorkflow every few seconds; made when the adapter is
// saved (and for every adapter at start-up), removed when it is deleted.
import { ScheduleNotFoundError, type ScheduleOptionsAction } from '@temporalio/client';
import { reconcileScheduleId } from '../workflows/reconcile.contract.js';
import { reconcileWorkflow } from '../workflows/reconcile.js';
import { upsertSchedule, type TemporalDeps } from './temporal.js';

/** Within 10 s of a speaker restart its routes are back. */
export const DEFAULT_RECONCILE_SECONDS = 5;

export async function ensureReconcileSchedule(t: TemporalDeps, adapterId: number, intervalSeconds: number): Promise<void> {
  const scheduleId = reconcileScheduleId(t.taskQueue, adapterId);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: reconcileWorkflow,
    workflowId: scheduleId,
    taskQueue: t.taskQueue,
    args: [adapterId],
    // A run nobody picks up (no worker) must not hold the next ones back for long.
    workflowRunTimeout: `${Math.max(30, intervalSeconds * 4)}s`,
  };
  await upsertSchedule(t, scheduleId, { intervals: [{ every: `${intervalSeconds}s` }] }, action);
}

/** At start-up: every watched adapter has its schedule, on this deployment's settings. */
export async function ensureReconcileSchedules(t: TemporalDeps, adapterIds: readonly number[], intervalSeconds: number): Promise<void> {
  for (const id of adapterIds) await ensureReconcileSchedule(t, id, intervalSeconds);
}

export async function deleteReconcileSchedule(t: TemporalDeps, adapterId: number): Promise<void> {
  try {
    await t.temporal.schedule.getHandle(reconcileScheduleId(t.taskQueue, adapterId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}
