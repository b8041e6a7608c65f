// The incident family's way in, and so the trigger of escalation: every agent report
// reaches the incident's workflow by signal-with-start, so a retried open finds the
// running workflow, and a workflow that is gone is started again from the row.
import { WorkflowNotFoundError } from '@temporalio/client';
import { incidentWorkflowId, metricsSignal, reclassifiedSignal, resolvedSignal, type Figures, type IncidentWorkflowInput } from '../workflows/incident.contract.js';
import { incidentWorkflow } from '../workflows/incident.js';
import { describedAs, type TemporalDeps } from './temporal.js';

const startOptions = async (t: TemporalDeps, incidentId: number) => ({
  workflowId: incidentWorkflowId(incidentId),
  taskQueue: t.taskQueue,
  args: [{ incidentId }] as [IncidentWorkflowInput],
  ...(await describedAs(t, { kind: 'incident', incidentId }, `incident ${incidentId}`)),
});

/**
 * The attack's latest figures: the workflow escalates to the highest tier they reach;
 * `reclassified`: the classification changed, and with it what the tiers' rules should be.
 */
export async function triggerEscalation(t: TemporalDeps, incidentId: number, figures: Figures, reclassified = false): Promise<void> {
  const handle = await t.temporal.workflow.signalWithStart(incidentWorkflow, { ...(await startOptions(t, incidentId)), signal: metricsSignal, signalArgs: [figures] });
  if (reclassified) await handle.signal(reclassifiedSignal);
}

/**
 * The attack ended: the workflow steps down after the policy's hold-down. `startIfGone`:
 * for an incident resolved just now, a workflow that is gone is started to step down from
 * the row; for one resolved before, a repeated resolve only reaches a workflow still running.
 */
export async function endEscalation(t: TemporalDeps, incidentId: number, startIfGone: boolean): Promise<void> {
  if (startIfGone) {
    await t.temporal.workflow.signalWithStart(incidentWorkflow, { ...(await startOptions(t, incidentId)), signal: resolvedSignal });
    return;
  }
  try {
    await t.temporal.workflow.getHandle(incidentWorkflowId(incidentId)).signal(resolvedSignal);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
