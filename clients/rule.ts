// The rule family's way in: start a rule's workflow (or a bulk request's rule batch) and
// wait for the speaker's answer, or withdraw a rule and wait until the route is gone. The
// answer comes from the rules' own activities, through the database (db/rule-settled.ts),
// not from an Update: a plain start and a notification cost a few ms where
// Update-with-Start cost ~50 (bench:engine-floor).
import { WorkflowNotFoundError } from '@temporalio/client';
import type { RuleStatusWatch } from '../db/rule-settled.js';
import type { RuleStatus } from '../db/schema.js';
import { ruleWorkflowId, withdrawSignal, type RuleAbout, type RuleWorkflowInput } from '../workflows/rule.contract.js';
import { ruleWorkflow } from '../workflows/rule.js';
import { withdrawRulesSignal, type RuleBatchInput } from '../workflows/rule-batch.contract.js';
import { ruleBatchWorkflow } from '../workflows/rule-batch.js';
import { describedAs, type TemporalDeps } from './temporal.js';

export interface RuleClientDeps extends TemporalDeps {
  ruleStatus: RuleStatusWatch;
}

/**
 * Starts the rule's workflow (or finds the running one) and answers the rule's status
 * once its announcement settled (active, or failed with the row saying why), null if
 * that takes longer than `waitMs`.
 */
export async function startRule(t: RuleClientDeps, input: RuleWorkflowInput, waitMs: number): Promise<RuleStatus | null> {
  const options = await startOptions(t, input.about);
  const [status] = await startAndWait(t, [input.ruleId], waitMs, () => t.temporal.workflow.start(ruleWorkflow, { ...options, workflowId: ruleWorkflowId(input.ruleId), args: [input] }));
  return status!;
}

/**
 * Starts the rule batch holding a bulk request's rules (their rows name `workflowId`) and
 * answers each rule's status once its announcement settled, as startRule does.
 */
export async function startRuleBatch(t: RuleClientDeps, workflowId: string, input: RuleBatchInput, waitMs: number): Promise<Array<RuleStatus | null>> {
  const options = await startOptions(t, input.about);
  return startAndWait(t, input.ruleIds, waitMs, () => t.temporal.workflow.start(ruleBatchWorkflow, { ...options, workflowId, args: [input] }));
}

/** How rules' workflows start: found if running, eagerly where the worker shares the process, described for the UI. */
async function startOptions(t: RuleClientDeps, about: RuleAbout | undefined) {
  return {
    taskQueue: t.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    requestEagerStart: t.localWorker === true,
    ...(about ? await describedAs(t, about.labels, about.summary) : {}),
  };
}

/** Starts the workflow holding the rules and waits until each settled. */
async function startAndWait(t: RuleClientDeps, ruleIds: number[], waitMs: number, start: () => Promise<unknown>): Promise<Array<RuleStatus | null>> {
  // Waiting before starting: no notification can pass unseen.
  const waits = await Promise.all(ruleIds.map((id) => t.ruleStatus.wait(id, 'settled', waitMs)));
  try {
    await start();
  } catch (err) {
    for (const w of waits) w.cancel();
    throw err;
  }
  return Promise.all(waits.map((w) => w.status));
}

/**
 * Withdraws a live rule and waits until the route is gone: true, or false when that takes
 * longer than `waitMs` (the withdrawal goes on).
 */
export async function withdrawRule(t: RuleClientDeps, rule: { id: number; workflowId: string | null }, reason: string, waitMs: number): Promise<boolean> {
  const ended = await t.ruleStatus.wait(rule.id, 'ended', waitMs);
  try {
    if (rule.workflowId === null) await t.temporal.workflow.getHandle(ruleWorkflowId(rule.id)).signal(withdrawSignal, { reason });
    else await t.temporal.workflow.getHandle(rule.workflowId).signal(withdrawRulesSignal, { ruleIds: [rule.id], reason });
  } catch (err) {
    ended.cancel();
    // The workflow already finished (expired meanwhile): the row tells the outcome.
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
  return (await ended.status) !== null;
}
