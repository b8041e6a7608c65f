// The adapter-test family's way in: one connectivity/auth check of an adapter, run by the
// worker (the API never talks to a speaker itself) and visible in the Temporal UI.
import { randomUUID } from 'node:crypto';
import { adapterTestWorkflowId, type AdapterTestOutcome } from '../workflows/adapter-test.contract.js';
import { adapterTestWorkflow } from '../workflows/adapter-test.js';
import type { TemporalDeps } from './temporal.js';

export async function testAdapter(t: TemporalDeps, adapterId: number): Promise<AdapterTestOutcome> {
  return t.temporal.workflow.execute(adapterTestWorkflow, {
    workflowId: adapterTestWorkflowId(adapterId, randomUUID()),
    taskQueue: t.taskQueue,
    args: [adapterId],
  });
}
