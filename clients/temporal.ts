// What every workflow client needs, and the one way to wait on a workflow from an HTTP
// answer. The modules beside this one are the only code outside the worker that talks to
// Temporal: one per workflow family, each building its family's workflow ids.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction, type ScheduleSpec } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, searchAttributePairs, type WorkflowLabels } from '../workflows/search-attributes.contract.js';

export interface TemporalDeps {
  temporal: Client;
  /** The task queue the workers poll. */
  taskQueue: string;
  /**
   * The client shares its native connection with a worker of this process polling
   * `taskQueue` (cmd/runtime.ts connectSharedTemporal): a new rule's workflow may start
   * eagerly, its first task handed straight to that worker.
   */
  localWorker?: boolean;
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

/**
 * Creates the schedule, or brings an existing one to this spec and action (a restart with
 * new settings takes effect). A run still going when the next is due is not doubled.
 */
export async function upsertSchedule(t: TemporalDeps, scheduleId: string, spec: ScheduleSpec, action: ScheduleOptionsAction): Promise<'created' | 'updated'> {
  try {
    await t.temporal.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await t.temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  }
}

/** Per client: whether its namespace has every Bulwark search attribute registered (asked once). */
const registered = new WeakMap<Client, Promise<boolean>>();

async function searchAttributesRegistered(t: TemporalDeps): Promise<boolean> {
  let known = registered.get(t.temporal);
  if (!known) {
    known = t.temporal.connection.operatorService.listSearchAttributes({ namespace: t.temporal.options.namespace }).then(
      (res) => Object.values(SEARCH_ATTRIBUTES).every((k) => k.name in (res.customAttributes ?? {})),
      (err: unknown) => {
        registered.delete(t.temporal); // ask again next time
        throw err;
      },
    );
    registered.set(t.temporal, known);
  }
  return known;
}

/**
 * Start options that show a workflow in the Temporal UI: its search attributes (only when
 * the namespace has them registered: a start naming an unknown attribute is refused) and
 * its one-line summary.
 */
export async function describedAs(t: TemporalDeps, labels: WorkflowLabels, summary: string): Promise<{ typedSearchAttributes?: ReturnType<typeof searchAttributePairs>; staticSummary: string }> {
  const ok = await searchAttributesRegistered(t).catch(() => false);
  return ok ? { typedSearchAttributes: searchAttributePairs(labels), staticSummary: summary } : { staticSummary: summary };
}
