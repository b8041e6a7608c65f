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

/**
 * Starts the rule's workflow (or finds the running one) and answers the rule's status once
 * the announcement settled (active, or failed with the row saying why), or null when that
 * takes longer than `waitMs`.
 */
export async function startRule(t: RuleClientDeps, input: RuleWorkflowInput, waitMs: number): Promise<RuleStatus | null> {
  const settled = await t.ruleStatus.wait(input.ruleId, 'settled', waitMs);
  try {
    await t.temporal.workflow.start(ruleWorkflow, {
      workflowId: ruleWorkflowId(input.ruleId),
      taskQueue: t.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      requestEagerStart: t.localWorker === true,
      ...(input.about ? await describedAs(t, input.about.labels, input.about.summary) : {}),
    });
  } catch (err) {
    settled.cancel();
    throw err;
  }
  return settled.status;
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
