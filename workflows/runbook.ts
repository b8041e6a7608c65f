// One runbook execution (workflow id `runbook-exec:<id>`): the steps in order, each step's
// result written as it happens, so the API and the Temporal UI show the same story. A
// failed step ends the execution (a retry starts a new one from that step); a false
// condition skips the rest. What a step turned on for the incident (Under Attack Mode, a
// diversion) is turned off when the incident resolves, so the workflow outlives its steps
// until then. Deterministic: all I/O is in activities/runbook.ts.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  uuid4,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { RunbookActivities } from '../activities/runbook.js';
import { conditionHolds, describeCondition, TOUCHES_INFRASTRUCTURE } from '../domain/runbook.js';
import { render } from '../domain/runbook-placeholders.js';
import type { RunbookStep, StepConfig } from '../domain/runbook-schemas.js';
import { failureMessage } from './failure.js';
import { nodeCommandWorkflowId } from './node-command.contract.js';
import { nodeCommandWorkflow } from './node-command.js';
import { executionProgressQuery, RESOLVED_POLL_SECONDS, STEP_REFUSED, type Cleanup, type ExecutionOutcome, type RunbookExecutionInput } from './runbook.contract.js';
import { diversionPhaseSignal, endDiversionSignal, scrubbingWorkflowId, type DiversionState } from './scrubbing.contract.js';
import { scrubbingWorkflow } from './scrubbing.js';

// Rows: short, retried until the database answers.
const rows = proxyLocalActivities<RunbookActivities>({ startToCloseTimeout: '30s', retry: { initialInterval: '500ms', maximumInterval: '30s' } });
// Calls out (webhooks, channels, providers): retried a few times with backoff, never a refusal.
const calls = proxyActivities<RunbookActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 4, nonRetryableErrorTypes: [STEP_REFUSED] },
});

/** How long the node's agent may stay silent on a command (it long-polls every 25 s). */
const COMMAND_HEARTBEAT_S = 60;

export async function runbookExecutionWorkflow(input: RunbookExecutionInput): Promise<ExecutionOutcome> {
  const { run, context: ctx } = input;
  let current = input.fromStep;
  const cleanups: Cleanup[] = [];
  let diversion: { handle: ChildWorkflowHandle<typeof scrubbingWorkflow>; told: DiversionState | null; ended: DiversionState | null } | null = null;
  setHandler(diversionPhaseSignal, (state) => {
    if (diversion) diversion.told = state;
  });
  setHandler(executionProgressQuery, () => ({ step: current, pendingCleanups: cleanups.map((c) => describeCleanup(c, ctx.incidentId !== null)) }));

  let outcome: ExecutionOutcome = { status: 'succeeded' };
  try {
    for (let i = input.fromStep; i < input.steps.length; i++) {
      current = i;
      const step = input.steps[i]!;
      await rows.recordStep(run.executionId, i, 'running', null, null);
      if (input.simulated && TOUCHES_INFRASTRUCTURE.has(step.action_type)) {
        await rows.recordStep(run.executionId, i, 'simulated', `simulated (no node): ${await calls.describeStep(input.workspaceId, step, ctx)}`, null);
        continue;
      }
      let output: string;
      try {
        output = await runStep(step, i);
      } catch (err) {
        if (isCancellation(err)) throw err;
        const error = failureMessage(err);
        await rows.recordStep(run.executionId, i, 'failed', null, error);
        outcome = { status: 'failed', step: i, error: `step ${i + 1} (${step.action_type}): ${error}` };
        break;
      }
      await rows.recordStep(run.executionId, i, 'succeeded', output, null);
      if (step.action_type === 'condition' && !conditionHolds(step.action_config, ctx)) break; // the rest are recorded skipped
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    outcome = { status: 'cancelled' };
  }

  // The row first (what users read), then what the steps left to undo.
  await CancellationScope.nonCancellable(() => rows.finishExecution(run.executionId, outcome));
  if (cleanups.length > 0) {
    try {
      if (outcome.status !== 'cancelled') await untilIncidentEnds();
    } catch (err) {
      if (!isCancellation(err)) throw err;
    }
    await CancellationScope.nonCancellable(async () => {
      for (const c of cleanups) await undo(c);
    });
  }
  return outcome;

  async function runStep(step: RunbookStep, index: number): Promise<string> {
    switch (step.action_type) {
      case 'wait':
        await sleep(step.action_config.seconds * 1000);
        return `waited ${step.action_config.seconds} s`;
      case 'log':
        return calls.logStep(run, ctx, render(step.action_config.message, ctx, run));
      case 'condition': {
        const holds = conditionHolds(step.action_config, ctx);
        return `${describeCondition(step.action_config)}: ${holds ? 'true' : 'false, the following steps are skipped'}`;
      }
      case 'iptables':
        return firewall(step.action_config);
      case 'notify_channel':
        return calls.notifyStep(input.workspaceId, run, ctx, index, step.action_config);
      case 'webhook':
        return calls.webhookStep(input.workspaceId, run, ctx, index, step.action_config);
      case 'cloudflare_uam': {
        const { previous, output } = await calls.enableUnderAttackMode(input.workspaceId, step.action_config.integration_id);
        // Already under attack mode before us: nothing of ours to restore.
        if (previous !== 'under_attack' && (ctx.incidentId !== null || step.action_config.restore_after_seconds !== undefined)) {
          cleanups.push({ kind: 'restore_security_level', integrationId: step.action_config.integration_id, previous, afterSeconds: step.action_config.restore_after_seconds ?? null });
        }
        return output;
      }
      case 'scrubbing_enable':
        return divert(step.action_config);
    }
  }

  async function firewall(config: StepConfig<'iptables'>): Promise<string> {
    const plan = await calls.planFirewallStep(input.workspaceId, ctx, config);
    const result = await executeChild(nodeCommandWorkflow, {
      workflowId: nodeCommandWorkflowId(plan.nodeUuid, uuid4()),
      args: [plan.nodeId, plan.command, { heartbeatTimeoutSeconds: COMMAND_HEARTBEAT_S }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    if (!result.ok) throw ApplicationFailure.nonRetryable(`the node's agent answered: ${result.error}`, STEP_REFUSED);
    return plan.description;
  }

  async function divert(config: StepConfig<'scrubbing_enable'>): Promise<string> {
    const what = await calls.checkDiversion(input.workspaceId, config.integration_id);
    // Withdrawn with the incident: then the diversion is this execution's child, ended
    // with it; otherwise it runs on by itself (its TTL, or a withdraw).
    const held = ctx.incidentId !== null && !config.keep_after_incident;
    let handle: ChildWorkflowHandle<typeof scrubbingWorkflow>;
    try {
      handle = await startChild(scrubbingWorkflow, {
        workflowId: scrubbingWorkflowId(config.integration_id),
        args: [{ integrationId: config.integration_id, ttlSeconds: config.ttl ?? 0, reason: `runbook ${run.runbookId} execution ${run.executionId}` }],
        parentClosePolicy: held ? ParentClosePolicy.REQUEST_CANCEL : ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      if (err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError') return `${what} diverts already (workflow ${scrubbingWorkflowId(config.integration_id)}); left as it is`;
      throw err;
    }
    const d = { handle, told: null as DiversionState | null, ended: null as DiversionState | null };
    diversion = d;
    handle.result().then(
      (state) => void (d.ended = state),
      (err: unknown) => void (d.ended = { phase: 'failed', expiresAtMs: null, error: failureMessage(err) }),
    );
    await condition(() => d.ended !== null || (d.told !== null && d.told.phase !== 'activating'));
    const state = d.ended ?? d.told!;
    if (state.phase !== 'active') throw ApplicationFailure.nonRetryable(`${what}: ${state.error ?? `the diversion ended ${state.phase}`}`, STEP_REFUSED);
    if (held) cleanups.push({ kind: 'end_diversion', integrationId: config.integration_id });
    return `${what} diverting (workflow ${scrubbingWorkflowId(config.integration_id)})${held ? '; withdrawn when the incident resolves' : ''}`;
  }

  /** Until the incident resolves; a cleanup with its own time runs then, whichever is first. */
  async function untilIncidentEnds(): Promise<void> {
    const deadlines = cleanups.map((c) => (c.kind === 'restore_security_level' ? c.afterSeconds : null)).filter((s): s is number => s !== null);
    const limitMs = deadlines.length > 0 ? Math.min(...deadlines) * 1000 : Infinity;
    let waited = 0;
    for (;;) {
      if (ctx.incidentId === null && limitMs === Infinity) return;
      if (ctx.incidentId !== null && (await rows.incidentResolved(ctx.incidentId))) return;
      if (waited >= limitMs) return;
      const nap = Math.min(RESOLVED_POLL_SECONDS * 1000, limitMs - waited);
      await sleep(nap);
      waited += nap;
    }
  }

  async function undo(c: Cleanup): Promise<void> {
    if (c.kind === 'restore_security_level') {
      const note = await calls.restoreSecurityLevel(input.workspaceId, c.integrationId, c.previous).catch((err: unknown) => `could not restore the security level: ${failureMessage(err)}`);
      await rows.noteExecution(run.executionId, note);
    } else if (diversion && diversion.ended === null) {
      const d = diversion;
      await d.handle.signal(endDiversionSignal, { reason: `runbook ${run.runbookId} execution ${run.executionId}: the incident resolved` });
      await condition(() => d.ended !== null);
      await rows.noteExecution(run.executionId, `diversion through scrubbing integration ${c.integrationId} ended: ${d.ended!.phase}${d.ended!.error ? ` (${d.ended!.error})` : ''}`);
    }
  }
}

/** `incident`: the execution has an incident, whose end is the cleanup's moment (or its own time, if sooner). */
function describeCleanup(c: Cleanup, incident: boolean): string {
  const when = [c.kind === 'restore_security_level' && c.afterSeconds ? `after ${c.afterSeconds} s` : null, incident ? 'when the incident resolves' : null].filter(Boolean).join(' or ');
  return c.kind === 'restore_security_level'
    ? `restore the zone's security level to ${c.previous} ${when}`
    : `withdraw the diversion through scrubbing integration ${c.integrationId} when the incident resolves`;
}
