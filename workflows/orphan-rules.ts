// Run every ORPHAN_SWEEP_SECONDS by the `orphan-rules:<task queue>` schedule: a rule row
// left pending without its workflow (or its bulk request's batch) gets one, so no rule
// stays pending for ever, whatever its adapter. Deterministic: the query is the activity's (activities/orphan-rules.ts).
import { ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { OrphanRuleActivities } from '../activities/orphan-rules.js';
import type { OrphanSweepResult } from './orphan-rules.contract.js';
import { ruleWorkflowId } from './rule.contract.js';
import { ruleWorkflow } from './rule.js';
import { ruleBatchWorkflow } from './rule-batch.js';

const { findOrphanRules } = proxyActivities<OrphanRuleActivities>({
  startToCloseTimeout: '30s',
  // The next scheduled run is the retry.
  retry: { maximumAttempts: 1 },
});

export async function orphanRulesWorkflow(): Promise<OrphanSweepResult> {
  const result: OrphanSweepResult = { started: [], running: [] };
  for (const orphan of await findOrphanRules()) {
    // Only a rule that never had a workflow: a running one is busy announcing (a slow
    // speaker), and a finished one has written its outcome.
    const options = { parentClosePolicy: ParentClosePolicy.ABANDON, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE };
    const ruleIds = 'batchWorkflowId' in orphan ? orphan.input.ruleIds : [orphan.ruleId];
    try {
      if ('batchWorkflowId' in orphan) await startChild(ruleBatchWorkflow, { ...options, workflowId: orphan.batchWorkflowId, args: [orphan.input] });
      else await startChild(ruleWorkflow, { ...options, workflowId: ruleWorkflowId(orphan.ruleId), args: [orphan] });
      result.started.push(...ruleIds);
    } catch (err) {
      // (The error class is @temporalio/common's, which workflow code does not import.)
      if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
      result.running.push(...ruleIds);
    }
  }
  return result;
}
