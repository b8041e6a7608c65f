// The retention family's way in: the hourly Temporal schedules that delete what is kept
// only for a while (captures: pcapRetentionWorkflow; per-second metrics:
// metricsRetentionWorkflow), created at start-up and updated when their settings change,
// so restarting with new PCAP_RETENTION_DAYS or METRICS_RETENTION_DAYS takes effect.
import type { Logger } from 'pino';
import { metricsRetentionScheduleId, retentionScheduleId } from '../workflows/retention.contract.js';
import { metricsRetentionWorkflow, pcapRetentionWorkflow } from '../workflows/retention.js';
import { upsertSchedule, type TemporalDeps } from './temporal.js';

export async function ensureRetentionSchedules(t: TemporalDeps, days: { pcaps: number; metrics: number }, logger: Logger): Promise<void> {
  const hourly = { intervals: [{ every: '1h' }] };
  for (const [scheduleId, workflowType, maxAgeDays, what] of [
    [retentionScheduleId(t.taskQueue), pcapRetentionWorkflow, days.pcaps, 'captures'],
    [metricsRetentionScheduleId(t.taskQueue), metricsRetentionWorkflow, days.metrics, 'metrics'],
  ] as const) {
    const made = await upsertSchedule(t, scheduleId, hourly, { type: 'startWorkflow', workflowType, workflowId: scheduleId, taskQueue: t.taskQueue, args: [maxAgeDays] });
    if (made === 'created') logger.info({ scheduleId, days: maxAgeDays }, `${what} retention scheduled`);
  }
}
