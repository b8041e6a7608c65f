// Temporal schedules the platform keeps: created at start-up, updated when their settings
// change, so restarting with a new PCAP_RETENTION_DAYS takes effect.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { Logger } from 'pino';
import { pcapRetentionWorkflow } from '../workflows/retention.js';

export const retentionScheduleId = (taskQueue: string) => `pcap-retention:${taskQueue}`;

export async function ensureSchedules(client: Client, opts: { taskQueue: string; pcapRetentionDays: number }, logger: Logger): Promise<void> {
  const scheduleId = retentionScheduleId(opts.taskQueue);
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: pcapRetentionWorkflow,
    workflowId: scheduleId,
    taskQueue: opts.taskQueue,
    args: [opts.pcapRetentionDays],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
    logger.info({ scheduleId, days: opts.pcapRetentionDays }, 'capture retention scheduled');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, action }));
  }
}
