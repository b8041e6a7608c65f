// One attack (workflow id `incident:<id>`), started by the agent's report with
// signal-with-start and fed its figures by signals: walks the escalation tiers up as the
// attack grows, each tier's action a mitigation rule (the rule workflow, as a child), and
// back down after a hold-down; once the attack ended and the hold-down passed, withdraws
// what it announced. Deterministic: all I/O is in activities/incident.ts; ids, messages
// and payloads in incident.contract.ts.
import {
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { IncidentActivities } from '../activities/incident.js';
import type { RunbookActivities } from '../activities/runbook.js';
import type { ChannelEvent } from '../domain/channels.js';
import { tierFor, type TierLevel } from '../domain/escalation.js';
import { GEO_LOCKDOWN_RULESET, type NodeCommand } from '../domain/node-command.js';
import {
  incidentStateQuery,
  metricsSignal,
  reclassifiedSignal,
  resolvedSignal,
  type EscalationPlan,
  type Figures,
  type IncidentState,
  type IncidentWorkflowInput,
  type RuleToStart,
  type TierRule,
} from './incident.contract.js';
import { failureMessage } from './failure.js';
import { nodeCommandAbout, nodeCommandWorkflowId, type NodeCommandResult } from './node-command.contract.js';
import { nodeCommandWorkflow } from './node-command.js';
import { ruleWorkflowId, withdrawSignal } from './rule.contract.js';
import { ruleWorkflow } from './rule.js';
import { runbookExecutionAbout, runbookExecutionWorkflowId } from './runbook.contract.js';
import { runbookExecutionWorkflow } from './runbook.js';
import { childDescribedAs } from './search-attributes.contract.js';

// Short database work: local activities, run inside the workflow task, so flood start to
// route at the router does not pay a task-queue round trip per step.
const acts = proxyLocalActivities<IncidentActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

const runbookRows = proxyLocalActivities<RunbookActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});
// Channels are outside services: retried with backoff for a few minutes, never holding up escalation.
const channels = proxyActivities<RunbookActivities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '60s', maximumAttempts: 6 },
});

/** Incidents before runbooks and notifications existed replay without them. */
const RUNBOOKS_PATCH = 'runbooks-and-notifications';
/** Incidents before tier rules followed the capture's verdict replay without revising them. */
const VERDICT_PATCH = 'tier-rules-follow-the-verdict';
/** Incidents before the opening runbooks were started beside the escalation replay with them first. */
const RUNBOOKS_BESIDE_PATCH = 'opening-runbooks-beside-escalation';
/** Incidents before geo lockdown waited for an attack verdict replay without revising it. */
const GEO_VERDICT_PATCH = 'geo-lockdown-follows-the-verdict';
/** Incidents before the plan and the first tier's rule came in one local activity replay with two. */
const OPENING_PATCH = 'plan-and-first-rule-together';

/** A prefix incident's capture on each of its busiest nodes: long enough to classify, short enough to act soon. */
const PREFIX_CAPTURE = { type: 'capture', seconds: 2, max_packets: 20_000 } as const;

/** A policy read this recently is fresh enough to act on. */
const PLAN_FRESH_MS = 10_000;

/** How long the node's agent may stay silent on a command (it long-polls every 25 s). */
const COMMAND_HEARTBEAT_S = 60;

export async function incidentWorkflow(input: IncidentWorkflowInput): Promise<IncidentState> {
  const state: IncidentState = input.state ?? { tier: 0, rules: [], figures: { pps: 0, bps: 0 }, belowSinceMs: null, ended: false, seq: 0 };
  let fresh: Figures | null = null;
  setHandler(metricsSignal, (f) => {
    fresh = f;
  });
  setHandler(resolvedSignal, () => {
    state.ended = true;
  });
  // The classification changed (the capture's verdict after the counters' guess, or a new
  // one mid-attack): the tiers in force get the rules it calls for.
  let reclassified = false;
  setHandler(reclassifiedSignal, () => {
    reclassified = true;
  });
  setHandler(incidentStateQuery, () => state);

  // Timeline entries are idempotent per key: unique across continue-as-new (seq carries on)
  // and across a workflow started again for the same incident (another first run id).
  const key = (what: string) => `${workflowInfo().firstExecutionRunId}:${what}:${++state.seq}`;
  /** Commands to the node (and the opening runbooks' starts) still in flight; awaited before the end. */
  const commands: Array<Promise<void>> = [];
  let plan: EscalationPlan;
  /** The tier the figures that opened the incident reach, its rule requested with the plan. */
  let opening: { level: TierLevel; rule: TierRule } | null = null;
  if (!input.state && patched(OPENING_PATCH)) {
    // The report that started this workflow brought its figures (signal-with-start: in this first activation).
    await condition(() => fresh !== null || state.ended);
    if (fresh !== null) [state.figures, fresh] = [fresh, null];
    const opened = await acts.openEscalation(input.incidentId, state.figures, key(`tier-rule`));
    plan = opened.plan;
    if (opened.level !== 0) opening = { level: opened.level, rule: opened.rule };
  } else plan = await acts.loadEscalationPlan(input.incidentId);
  let planReadAt = Date.now();
  /** Notifications in flight; awaited before the workflow ends. */
  const notices: Array<Promise<void>> = [];
  /** A new incident's runbooks wait for its first tier's rule to start: the route is what stops the attack. */
  let openingRunbooks = false;
  if (!input.state) {
    notify('incident_open');
    // Beside the first tier's rule, not before it (started from escalate() once it is).
    if (opening) openingRunbooks = true;
    else if (patched(RUNBOOKS_BESIDE_PATCH)) commands.push(triggerRunbooks(0));
    else await triggerRunbooks(0);
    // Carpet bombing: no node crossed its own threshold, so none captured; the evidence
    // comes from captures the incident asks its busiest nodes for.
    if (plan.scope === 'prefix') commands.push(gatherPrefixEvidence());
  }
  if (opening) await escalate(opening.level, opening.rule);

  while (!state.ended) {
    const holdDownLeft = state.belowSinceMs === null ? undefined : state.belowSinceMs + plan.holdDownSeconds * 1000 - Date.now();
    if (holdDownLeft === undefined) await condition(() => fresh !== null || state.ended || reclassified);
    else if (holdDownLeft > 0) await condition(() => fresh !== null || state.ended || reclassified, holdDownLeft);
    if (state.ended) break;
    if (reclassified) {
      reclassified = false;
      if (patched(VERDICT_PATCH)) await reviseRules();
      if (patched(GEO_VERDICT_PATCH)) await reviseLockdown();
    }

    if (fresh !== null) {
      state.figures = fresh;
      fresh = null;
    }
    const reached = tierFor(plan.tiers, state.figures);
    if (reached > state.tier) {
      // Act on a fresh policy: it may have changed since it was read.
      if (Date.now() - planReadAt > PLAN_FRESH_MS) {
        plan = await acts.loadEscalationPlan(input.incidentId);
        planReadAt = Date.now();
      }
      const level = tierFor(plan.tiers, state.figures);
      if (level > state.tier) {
        const to = level as TierLevel; // above state.tier, so not 0
        await escalate(to, await acts.requestTierRule(input.incidentId, to, key(`tier-${to}-rule`)));
      }
    } else if (reached === state.tier) {
      state.belowSinceMs = null;
    } else {
      state.belowSinceMs ??= Date.now();
      if (Date.now() - state.belowSinceMs >= plan.holdDownSeconds * 1000) await stepDown(reached);
    }

    if (workflowInfo().continueAsNewSuggested) {
      // Messages in flight would be abandoned by the new run.
      await Promise.all(notices);
      if (fresh !== null) state.figures = fresh;
      await continueAsNew<typeof incidentWorkflow>({ incidentId: input.incidentId, state });
    }
  }

  notify('incident_resolved');
  // The attack is over: keep the mitigation through one hold-down in case it comes back,
  // then withdraw everything this incident announced.
  await condition(() => false, plan.holdDownSeconds * 1000);
  await stepDown(0, 'attack ended');
  await Promise.all(commands);
  await Promise.all(notices);
  return state;

  /** Tells the channels that hear `event`, without holding up escalation; a failure stays on the timeline, not in the incident. */
  function notify(event: ChannelEvent) {
    if (!patched(RUNBOOKS_PATCH)) return;
    const k = key(`notify-${event}`);
    notices.push(
      channels.notifyIncident(input.incidentId, event, k).then(
        () => undefined,
        (err: unknown) => runbookRows.recordNotifyFailure(input.incidentId, event, failureMessage(err), k),
      ),
    );
  }

  /** Starts the runbooks the incident now meets (each once per incident); they run on their own. */
  async function triggerRunbooks(level: TierLevel | 0) {
    if (!patched(RUNBOOKS_PATCH)) return;
    for (const execution of await runbookRows.triggerRunbooks(input.incidentId, level)) {
      const about = runbookExecutionAbout(execution);
      try {
        await startChild(runbookExecutionWorkflow, {
          workflowId: runbookExecutionWorkflowId(execution.run.executionId),
          args: [execution],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          ...childDescribedAs({ ...about.labels, incidentId: input.incidentId }, about.summary),
        });
      } catch (err) {
        // Started before (an earlier tier, or this incident's previous run): it runs on.
        if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
      }
    }
  }

  async function startRule(rule: RuleToStart, level: TierLevel, geo = false) {
    // Geo lockdown's rules come without their rows' labels: FlowSpec, of this incident.
    const labels = rule.about?.labels ?? { kind: geo ? 'flowspec' : undefined, status: 'pending' };
    const summary = rule.about?.summary ?? `${geo ? 'flowspec geo lockdown' : 'rule'} (rule ${rule.ruleId}), incident ${input.incidentId}`;
    try {
      await startChild(ruleWorkflow, {
        workflowId: ruleWorkflowId(rule.ruleId),
        args: [rule],
        // The rule keeps its own TTL if this workflow is ever terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        ...childDescribedAs({ ...labels, incidentId: input.incidentId }, summary),
      });
    } catch (err) {
      // An earlier run of this incident started it (this run began anew): adopt it.
      // (The error class is @temporalio/common's, which workflow code does not import.)
      if (!(err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError')) throw err;
    }
    state.rules.push({ ruleId: rule.ruleId, level, ...(geo ? { geo } : {}) });
  }

  /**
   * Captures on the prefix's busiest nodes, at once; their verdicts together classify the
   * incident, weighed again as each arrives from the second on (a silent node must not hold
   * up the others' verdict until its command times out).
   */
  async function gatherPrefixEvidence() {
    const targets = await acts.prefixCaptureTargets(input.incidentId);
    const results: Array<{ name: string; result: NodeCommandResult }> = [];
    let weighing = Promise.resolve();
    await Promise.all(
      targets.map(({ nodeId, nodeUuid, name }) =>
        runCommand(nodeId, nodeUuid, PREFIX_CAPTURE).then((result) => {
          results.push({ name, result });
          if (results.length < 2 && results.length < targets.length) return;
          const sofar = [...results];
          weighing = weighing.then(async () => {
            if (await acts.classifyPrefix(input.incidentId, sofar, key('prefix-evidence'))) reclassified = true;
          });
          return weighing;
        }),
      ),
    );
  }

  /**
   * The rules of the tiers in force, after the classification changed: a tier without a
   * rule gets one when the verdict now calls for it; a rule the verdict no longer calls for
   * is replaced (the new one announced first, then the old withdrawn) or withdrawn.
   */
  async function reviseRules() {
    for (let level = 1; level <= state.tier; level++) {
      const current = state.rules.find((r) => r.level === level && !r.geo);
      const revision = await acts.reviseTierRule(input.incidentId, level as TierLevel, current?.ruleId ?? null, key(`revise-${level}`));
      if (revision.start) await startRule(revision.start, level as TierLevel);
      if (revision.withdraw !== null) {
        const old = revision.withdraw;
        await withdrawRule(old, revision.why);
        state.rules = state.rules.filter((r) => r.ruleId !== old);
      }
    }
  }

  /** Up to tier `level`, with its rule (requested by the caller: null when the tier announces nothing). */
  async function escalate(level: TierLevel, rule: TierRule) {
    const fromIdle = state.tier === 0;
    if (rule) await startRule(rule, level);
    if (openingRunbooks) {
      openingRunbooks = false;
      commands.push(triggerRunbooks(0));
    }
    await acts.setIncidentTier(input.incidentId, level, state.figures, key('tier'));
    state.tier = level;
    state.belowSinceMs = null;
    // After the tier's own action, which is what stops the attack soonest.
    if (fromIdle && plan.geoLockdown) await lockdown(level);
    notify('tier_change');
    await triggerRunbooks(level);
  }

  /** Geo lockdown, for as long as the incident stays at tier 1 or above, once a capture shows an attack. */
  async function lockdown(level: TierLevel) {
    const step = await acts.requestGeoLockdown(input.incidentId, level, key('geo'));
    if (step?.kind === 'flowspec') {
      for (const rule of step.rules) await startRule(rule, 1, true);
    } else if (step?.kind === 'firewall') {
      const { nodeId, nodeUuid, suite, countries } = step;
      state.geoFirewall = { nodeId, nodeUuid, suite };
      sendCommand(nodeId, nodeUuid, { type: 'geo_lockdown', suite, countries }, 'geo lockdown applied in the node firewall');
    } else if (step?.kind === 'waiting') {
      state.geoWaiting = level;
    }
  }

  /** After the classification changed: a waiting geo lockdown goes on, one in force comes off when the evidence no longer calls for it. */
  async function reviseLockdown() {
    if (state.geoWaiting !== undefined) {
      const level = state.geoWaiting;
      state.geoWaiting = undefined;
      await lockdown(level);
    } else if ((state.rules.some((r) => r.geo) || state.geoFirewall) && !(await acts.keepGeoLockdown(input.incidentId, key('geo-revise')))) {
      await liftLockdown('the classification no longer shows an attack');
      state.geoWaiting = 1;
    }
  }

  /** Withdraws the geo lockdown's FlowSpec rules, or has the node's firewall drop its rule set. */
  async function liftLockdown(reason: string) {
    for (const r of state.rules.filter((r) => r.geo)) await withdrawRule(r.ruleId, reason);
    state.rules = state.rules.filter((r) => !r.geo);
    if (state.geoFirewall) {
      const { nodeId, nodeUuid, suite } = state.geoFirewall;
      sendCommand(nodeId, nodeUuid, { type: 'remove_ruleset', suite, name: GEO_LOCKDOWN_RULESET }, 'geo lockdown removed from the node firewall');
      state.geoFirewall = undefined;
    }
  }

  /** A node command child's search attributes and summary. */
  function commandDescribedAs(nodeUuid: string, command: NodeCommand) {
    const about = nodeCommandAbout(nodeUuid, command, { incidentId: input.incidentId });
    return childDescribedAs(about.labels, about.summary);
  }

  /** Runs a command on the node as a child workflow; a child that failed answers as a failed command. */
  function runCommand(nodeId: number, nodeUuid: string, command: NodeCommand): Promise<NodeCommandResult> {
    return executeChild(nodeCommandWorkflow, {
      workflowId: nodeCommandWorkflowId(nodeUuid, uuid4()),
      args: [nodeId, command, { heartbeatTimeoutSeconds: COMMAND_HEARTBEAT_S }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      ...commandDescribedAs(nodeUuid, command),
    }).then(
      (result) => result,
      (err: Error): NodeCommandResult => ({ ok: false, error: err.message }),
    );
  }

  /** Runs a geo lockdown command on the node, without holding up escalation; its outcome goes on the timeline. */
  function sendCommand(nodeId: number, nodeUuid: string, command: NodeCommand, what: string) {
    const done = runCommand(nodeId, nodeUuid, command).then((r) => (r.ok ? what : `${what}: failed: ${r.error}`));
    commands.push(done.then((outcome) => acts.recordGeoLockdownOutcome(input.incidentId, outcome, key('geo-outcome'))));
  }

  /** Tells a rule's workflow to withdraw, and puts why on the timeline. */
  async function withdrawRule(ruleId: number, reason: string) {
    // The rule may have ended on its own (TTL, failure, a manual withdraw): nothing to do then.
    await getExternalWorkflowHandle(ruleWorkflowId(ruleId))
      .signal(withdrawSignal, { reason: `incident ${input.incidentId}: ${reason}` })
      .catch(() => undefined);
    await acts.recordRuleWithdrawn(input.incidentId, ruleId, reason, key('withdraw'));
  }

  async function stepDown(level: TierLevel | 0, reason = `below tier ${state.tier} for ${plan.holdDownSeconds} s`) {
    const leaving = state.rules.filter((r) => r.level > level);
    for (const r of leaving) await withdrawRule(r.ruleId, reason);
    state.rules = state.rules.filter((r) => r.level <= level);
    if (level === 0) {
      await liftLockdown(reason);
      state.geoWaiting = undefined;
    }
    if (level !== state.tier) {
      await acts.setIncidentTier(input.incidentId, level, state.figures, key('tier'));
      if (level > 0) notify('tier_change');
    }
    state.tier = level;
    state.belowSinceMs = null;
  }
}
