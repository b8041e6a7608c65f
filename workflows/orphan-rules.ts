// Run every ORPHAN_SWEEP_SECONDS by the `orphan-rules:<task queue>` schedule: a rule row
// left pending without its workflow gets one, so no rule stays pending for ever, whatever
// its adapter. Deterministic: the query is the activity's (activities/orphan-rules.ts).
import { ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { OrphanRuleActivities } from '../activities/orphan-rules.js';
import type { OrphanSweepResult } from './orphan-rules.contract.js';
import { ruleWorkflowId } from './rule.contract.js';
import { ruleWorkflow } from './rule.js';

const { findOrphanRules } = proxyActivities<OrphanRuleActivities>({
  startToCloseTimeout: '30s',
  // The next scheduled run is the retry.
  retry: { maximumAttempts: 1 },
});

export async function orphanRulesWorkflow(): Promise<OrphanSweepResult> {
  const result: OrphanSweepResult = { started: [], running: [] };
  for (const orphan of await findOrphanRules()) {
    try {
      await startChild(ruleWorkflow, {
        workflowId: ruleWorkflowId(orphan.ruleId),
        args: [orphan],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // Only a rule that never had a workflow: a running one is busy announcing (a slow
        // speaker), and a finished one has written its outcome.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
      result.started.push(orphan.ruleId);
    } catch (err) {
      // (The error class is @temporalio/common's, which workflow code does not import.)
      if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
      result.running.push(orphan.ruleId);
    }
  }
  return result;
}
