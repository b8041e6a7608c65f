// The reconcile workflow's contract: the schedule that runs it per adapter, and what one run
// found and fixed. Pure; shared by the workflow, its activity (activities/reconcile.ts) and
// its client (clients/reconcile.ts).

/** One schedule per adapter and task queue; each run's workflow id is the schedule's. */
export const reconcileScheduleId = (taskQueue: string, adapterId: number) => `reconcile:${taskQueue}:${adapterId}`;

/** A pending rule whose workflow never started before this long is started by the reconciler. */
export const ORPHAN_AFTER_SECONDS = 30;

/** A rule row left pending with no workflow (the API died, or Temporal was down, between the two). */
export interface OrphanRule {
  ruleId: number;
  ttlSeconds: number;
}

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
      /** Pending rules old enough that their workflow may never have started. */
      orphans: OrphanRule[];
    };
