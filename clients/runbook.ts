// The runbook family's way in: start an execution's workflow (the row is written first,
// by db/runbooks.ts, so the API can answer its id at once), and cancel one.
import { WorkflowNotFoundError } from '@temporalio/client';
import { runbookExecutionAbout, runbookExecutionWorkflowId, type RunbookExecutionInput } from '../workflows/runbook.contract.js';
import { runbookExecutionWorkflow } from '../workflows/runbook.js';
import { describedAs, type TemporalDeps } from './temporal.js';

export async function startExecution(t: TemporalDeps, input: RunbookExecutionInput): Promise<string> {
  const workflowId = runbookExecutionWorkflowId(input.run.executionId);
  const about = runbookExecutionAbout(input);
  await t.temporal.workflow.start(runbookExecutionWorkflow, {
    workflowId,
    taskQueue: t.taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    ...(await describedAs(t, about.labels, about.summary)),
  });
  return workflowId;
}

/** Asks the execution to stop; false when its workflow has already ended. */
export async function cancelExecution(t: TemporalDeps, executionId: number): Promise<boolean> {
  try {
    await t.temporal.workflow.getHandle(runbookExecutionWorkflowId(executionId)).cancel();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}
