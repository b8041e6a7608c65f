// A connectivity/auth check of one adapter, run as a workflow so that the API never
// talks to a speaker itself and every check is visible in the Temporal UI.
import { proxyActivities } from '@temporalio/workflow';
import type { AdapterActivities } from '../activities/adapter-test.js';
import type { AdapterTestOutcome } from './adapter-test.contract.js';

const { testAdapter } = proxyActivities<AdapterActivities>({
  startToCloseTimeout: '75s',
  // A test reports what it saw; retrying would only hide a flaky endpoint.
  retry: { maximumAttempts: 1 },
});

export async function adapterTestWorkflow(adapterId: number): Promise<AdapterTestOutcome> {
  return testAdapter(adapterId);
}
