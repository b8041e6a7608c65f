// The retention family's way in: the hourly Temporal schedule that runs
// pcapRetentionWorkflow, created at start-up and updated when its setting changes, so
// restarting with a new PCAP_RETENTION_DAYS takes effect.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type ScheduleOptionsAction } from '@temporalio/client';
import type { Logger } from 'pino';
import { retentionScheduleId } from '../workflows/retention.contract.js';
import { pcapRetentionWorkflow } from '../workflows/retention.js';
import type { TemporalDeps } from './temporal.js';

export async function ensureRetentionSchedule(t: TemporalDeps, pcapRetentionDays: number, logger: Logger): Promise<void> {
  const scheduleId = retentionScheduleId(t.taskQueue);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: pcapRetentionWorkflow,
    workflowId: scheduleId,
    taskQueue: t.taskQueue,
    args: [pcapRetentionDays],
  };
  try {
    await t.temporal.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    logger.info({ scheduleId, days: pcapRetentionDays }, 'capture retention scheduled');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await t.temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, action }));
  }
}
