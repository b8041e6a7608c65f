// Run hourly by the `pcap-retention:<task queue>` schedule (cmd/schedules.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { RetentionActivities } from '../activities/retention.js';
import type { RetentionResult } from './retention.contract.js';

const { deleteExpiredPcaps } = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
});

export async function pcapRetentionWorkflow(maxAgeDays: number): Promise<RetentionResult> {
  return deleteExpiredPcaps(maxAgeDays);
}
