// The orphan-rule sweep's way in: its schedule, created (or brought up to date) at start-up.
import { ORPHAN_SWEEP_SECONDS, orphanSweepScheduleId } from '../workflows/orphan-rules.contract.js';
import { orphanRulesWorkflow } from '../workflows/orphan-rules.js';
import { upsertSchedule, type TemporalDeps } from './temporal.js';

export async function ensureOrphanSweepSchedule(t: TemporalDeps): Promise<void> {
  const scheduleId = orphanSweepScheduleId(t.taskQueue);
  await upsertSchedule(t, scheduleId, { intervals: [{ every: `${ORPHAN_SWEEP_SECONDS}s` }] }, {
    type: 'startWorkflow',
    workflowType: orphanRulesWorkflow,
    workflowId: scheduleId,
    taskQueue: t.taskQueue,
    args: [],
    // A run nobody picks up (no worker) must not hold the next ones back for long.
    workflowRunTimeout: '60s',
  });
}
