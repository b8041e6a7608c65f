// The rule family's way in: start a rule's workflow and wait for the speaker's answer,
// or withdraw it and wait until the route is gone. The answer comes from the rule's own
// activities, through the database (db/rule-settled.ts), not from an Update: a plain start
// and a notification cost a few ms where Update-with-Start cost ~50 (bench:engine-floor).
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RuleStatusWatch } from '../db/rule-settled.js';
import type { RuleStatus } from '../db/schema.js';
import { ruleWorkflowId, withdrawSignal, type RuleWorkflowInput } from '../workflows/rule.contract.js';
import { ruleWorkflow } from '../workflows/rule.js';
import { describedAs, type TemporalDeps } from './temporal.js';

export interface RuleClientDeps extends TemporalDeps {
  ruleStatus: RuleStatusWatch;
}

/** Starts at most this many rule workflows at once (a bulk request carries up to 1,024). */
const START_CONCURRENCY = 32;

/**
 * Starts the rules' workflows (or finds the running ones) and answers each rule's status
 * once its announcement settled (active, or failed with the row saying why), null for one
 * that takes longer than `waitMs`; in the order of `inputs`.
 */
export async function startRules(t: RuleClientDeps, inputs: RuleWorkflowInput[], waitMs: number): Promise<Array<RuleStatus | null>> {
  // Waiting before starting: no notification can pass unseen.
  const waits = await Promise.all(inputs.map((input) => t.ruleStatus.wait(input.ruleId, 'settled', waitMs)));
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: Math.min(START_CONCURRENCY, inputs.length) }, async () => {
        while (next < inputs.length) await startOne(t, inputs[next++]!);
      }),
    );
  } catch (err) {
    for (const w of waits) w.cancel();
    throw err;
  }
  return Promise.all(waits.map((w) => w.status));
}

async function startOne(t: RuleClientDeps, input: RuleWorkflowInput): Promise<void> {
  await t.temporal.workflow.start(ruleWorkflow, {
    workflowId: ruleWorkflowId(input.ruleId),
    taskQueue: t.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    requestEagerStart: t.localWorker === true,
    ...(input.about ? await describedAs(t, input.about.labels, input.about.summary) : {}),
  });
}

/**
 * Withdraws a live rule and waits until the route is gone: true, or false when that takes
 * longer than `waitMs` (the withdrawal goes on).
 */
export async function withdrawRule(t: RuleClientDeps, ruleId: number, reason: string, waitMs: number): Promise<boolean> {
  const ended = await t.ruleStatus.wait(ruleId, 'ended', waitMs);
  try {
    await t.temporal.workflow.getHandle(ruleWorkflowId(ruleId)).signal(withdrawSignal, { reason });
  } catch (err) {
    ended.cancel();
    // The workflow already finished (expired meanwhile): the row tells the outcome.
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
  return (await ended.status) !== null;
}
