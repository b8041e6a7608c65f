// One look at one adapter's speaker (run every few seconds by the `reconcile:<queue>:<id>`
// schedule): routes there equal the rules, both ways. Deterministic: the comparison and
// the repairs are the activity's (activities/reconcile.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { ReconcileActivities } from '../activities/reconcile.js';
import type { ReconcileOutcome } from './reconcile.contract.js';

const { reconcileAdapter } = proxyActivities<ReconcileActivities>({
  startToCloseTimeout: '60s',
  // The next scheduled run is the retry.
  retry: { maximumAttempts: 1 },
});

export async function reconcileWorkflow(adapterId: number): Promise<ReconcileOutcome> {
  return reconcileAdapter(adapterId);
}
