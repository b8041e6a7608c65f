// The orphan-rule sweep's contract: the schedule that runs it and what one run did. Pure;
// shared by the workflow, its activity (activities/orphan-rules.ts) and its client
// (clients/orphan-rules.ts).

import type { RuleBatchInput } from './rule-batch.contract.js';
import type { RuleWorkflowInput } from './rule.contract.js';

/** One schedule per task queue; each run's workflow id is the schedule's. */
export const orphanSweepScheduleId = (taskQueue: string) => `orphan-rules:${taskQueue}`;

/** How often the sweep runs. */
export const ORPHAN_SWEEP_SECONDS = 15;

/** A pending rule whose workflow never started before this long is started by the sweep. */
export const ORPHAN_AFTER_SECONDS = 30;

/**
 * A rule row left pending with no workflow (the API died, or Temporal was down, between
 * the two): its own workflow's input, or, for a bulk request's rules, their batch's.
 */
export type OrphanRule = RuleWorkflowInput | OrphanBatch;

export interface OrphanBatch {
  /** The rows' `workflow_id`. */
  batchWorkflowId: string;
  input: RuleBatchInput;
}

export interface OrphanSweepResult {
  /** Rules whose workflow this run started. */
  started: number[];
  /** Pending rules that had a workflow after all (one announcing slowly). */
  running: number[];
}
