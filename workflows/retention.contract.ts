// The retention workflow's contract: the schedule that runs it and its result. Pure;
// shared by the workflow, its activity (activities/retention.ts) and its client
// (clients/retention.ts).

/** One hourly schedule per task queue and kind; each run's workflow id is the schedule's. */
export const retentionScheduleId = (taskQueue: string) => `pcap-retention:${taskQueue}`;
export const metricsRetentionScheduleId = (taskQueue: string) => `metrics-retention:${taskQueue}`;

export interface RetentionResult {
  deleted: number;
}
