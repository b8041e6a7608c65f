// What every workflow client needs, and the one way to wait on a workflow from an HTTP
// answer. The modules beside this one are the only code outside the worker that talks to
// Temporal: one per workflow family, each building its family's workflow ids.
import type { Client } from '@temporalio/client';

export interface TemporalDeps {
  temporal: Client;
  /** The task queue the workers poll. */
  taskQueue: string;
}

/** Whether the Temporal frontend answers (for health checks). */
export async function temporalReachable(t: TemporalDeps): Promise<boolean> {
  try {
    await t.temporal.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  }
}

/** The promise's value, or null when it takes longer than `ms` (it keeps running). */
export async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)));
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
