// The reconcile workflow's contract: the schedule that runs it per adapter, and what one run
// found and fixed. Pure; shared by the workflow, its activity (activities/reconcile.ts) and
// its client (clients/reconcile.ts).

/** One schedule per adapter and task queue; each run's workflow id is the schedule's. */
export const reconcileScheduleId = (taskQueue: string, adapterId: number) => `reconcile:${taskQueue}:${adapterId}`;

export type ReconcileOutcome =
  | { kind: 'skipped'; reason: string }
  | { kind: 'unreachable'; error: string }
  | {
      kind: 'reconciled';
      /** Routes the speaker said it announces. */
      listed: number;
      /** Live rules whose missing route was announced again. */
      reannounced: number[];
      /** Ended rules whose lingering route was withdrawn. */
      withdrawn: number[];
      /** Withdrawn routes that no rule of this adapter ever announced. */
      unowned: number;
      /** Repairs the speaker refused (tried again on the next run). */
      errors: string[];
    };
