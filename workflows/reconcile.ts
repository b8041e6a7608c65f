// One look at one adapter's speaker (run every few seconds by the `reconcile:<queue>:<id>`
// schedule): routes there equal the rules, both ways, and a rule row left pending without
// its workflow gets one. Deterministic: the comparison and the repairs are the activity's
// (activities/reconcile.ts).
import { ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { ReconcileActivities } from '../activities/reconcile.js';
import type { ReconcileOutcome } from './reconcile.contract.js';
import { ruleWorkflowId } from './rule.contract.js';
import { ruleWorkflow } from './rule.js';

const { reconcileAdapter } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '60s',
  // The next scheduled run is the retry.
  retry: { maximumAttempts: 1 },
});

export async function reconcileWorkflow(adapterId: number): Promise<ReconcileOutcome> {
  const outcome = await reconcileAdapter(adapterId);
  if (outcome.kind !== 'reconciled') return outcome;
  for (const orphan of outcome.orphans) {
    try {
      await startChild(ruleWorkflow, {
        workflowId: ruleWorkflowId(orphan.ruleId),
        args: [orphan],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Only a rule that never had a workflow: a running one is busy announcing (a slow
        // speaker), and a finished one has written its outcome.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      // (The error class is @temporalio/common's, which workflow code does not import.)
      if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
    }
  }
  return outcome;
}
