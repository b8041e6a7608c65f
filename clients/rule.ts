// The rule family's way in: start a rule's workflow and wait for the speaker's answer,
// or withdraw it and wait until the route is gone.
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { announcedUpdate, ruleWorkflowId, withdrawUpdate, type RuleState, type RuleWorkflowInput } from '../workflows/rule.contract.js';
import { ruleWorkflow } from '../workflows/rule.js';
import { describedAs, withDeadline, type TemporalDeps } from './temporal.js';

/**
 * Starts the rule's workflow (or finds the running one) and answers once the announcement
 * settled (active or failed), or null when that takes longer than `waitMs`.
 */
export async function startRule(t: TemporalDeps, input: RuleWorkflowInput, waitMs: number): Promise<RuleState | null> {
  // Update-with-Start: one round trip starts the workflow and waits for the speaker.
  const start = new WithStartWorkflowOperation(ruleWorkflow, {
    workflowId: ruleWorkflowId(input.ruleId),
    taskQueue: t.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    ...(input.about ? await describedAs(t, input.about.labels, input.about.summary) : {}),
  });
  return withDeadline(t.temporal.workflow.executeUpdateWithStart(announcedUpdate, { startWorkflowOperation: start }), waitMs);
}

/** Withdraws a live rule and waits until the route is gone. */
export async function withdrawRule(t: TemporalDeps, ruleId: number, reason: string): Promise<void> {
  try {
    await t.temporal.workflow.getHandle(ruleWorkflowId(ruleId)).executeUpdate(withdrawUpdate, { args: [{ reason }] });
  } catch (err) {
    // The workflow already finished (expired meanwhile): the row tells the outcome.
    if (err instanceof WorkflowNotFoundError || (err instanceof WorkflowUpdateFailedError && /completed/.test(err.message))) return;
    if (err instanceof Error && /workflow execution already completed/i.test(err.message)) return;
    throw err;
  }
}
