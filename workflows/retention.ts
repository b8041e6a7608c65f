// Run hourly by the `pcap-retention:<task queue>` and `metrics-retention:<task queue>`
// schedules (clients/retention.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention.js';
import type { RetentionResult } from './retention.contract.js';

const { deleteExpiredPcaps, deleteExpiredMetrics } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
});

export async function pcapRetentionWorkflow(maxAgeDays: number): Promise<RetentionResult> {
  return deleteExpiredPcaps(maxAgeDays);
}

export async function metricsRetentionWorkflow(maxAgeDays: number): Promise<RetentionResult> {
  return deleteExpiredMetrics(maxAgeDays);
}
