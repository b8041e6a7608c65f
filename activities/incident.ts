// The side effects of an incident's escalation: read the policy, create tier rules (or
// record why not), keep the incident's row and timeline true.
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { loadAllowlist } from '../db/allowlist.js';
import { loadPolicy, loadTiers } from '../db/escalation.js';
import { countryPrefixes } from '../db/geoip.js';
import { describeClassification, recordIncidentEvent, updateIncidentFigures, type IncidentRow } from '../db/incidents.js';
import { prefixNodes } from '../db/prefix-incidents.js';
import { requestDiversionRule, requestRules, type RuleRow } from '../db/rules.js';
import { incidents, mitigationRules, nodes, type IncidentEventKind } from '../db/schema.js';
import { ClassificationSchema, signatureFromWire, type NodeCommandResult, type ReportedClassification } from '../domain/agent-protocol.js';
import { prefixEvidence } from '../domain/prefix-evidence.js';
import type { IntentRequest } from '../domain/build-intent.js';
import { DEFAULT_TTL_SECONDS, severityAfter, tierFor, tierMatchFor, type EscalationPolicy, type Tier, type TierLevel } from '../domain/escalation.js';
import { flowActionJson, routeKey, type MitigationIntent } from '../domain/intent.js';
import { formatPrefix, mustParsePrefix, prefixesOverlap } from '../domain/prefix.js';
import { ruleInput } from '../workflows/rule.contract.js';
import type { EscalationPlan, Figures, GeoLockdownStep, Opening, RuleToStart, TierRevision, TierRule } from '../workflows/incident.contract.js';

/** A router holds FlowSpec routes in hardware: more than this for one target is refused. */
export const MAX_GEO_FLOWSPEC_ROUTES = 256;
/** A prefix incident captures on at most this many of its nodes. */
const PREFIX_CAPTURE_NODES = 5;

type WantedIntent = { intent: IntentRequest; why: string } | { none: string };

/** The evidence a dropping rule needs: a capture whose verdict is an attack. */
const capturedAttack = (incident: IncidentRow) => incident.verdict === 'attack' && incident.evidence === 'capture';

/** Why the incident, as classified now, drives no dropping rule (no capture yet, or one without an attack signature). */
function unsignedBecause(incident: IncidentRow): string {
  const cls = incident.classification as ReportedClassification | null;
  return incident.evidence === 'counters'
    ? "waiting for the capture's verdict: a guess from the counters never drives a dropping rule"
    : `the capture shows no attack signature (${incident.verdict}${cls?.reasons?.length ? `: ${cls.reasons.slice(0, 3).join('; ')}` : ''}); nothing dropped, the incident is notified`;
}

/**
 * Geo lockdown drops every packet from whole countries: like a blackhole, only on a
 * capture's attack verdict, or where the policy acts without one. Null when it may.
 */
function geoLockdownHeldBack(incident: IncidentRow, policy: EscalationPolicy): string | null {
  return capturedAttack(incident) || policy.actWithoutSignature ? null : unsignedBecause(incident);
}

/**
 * What a blackhole or FlowSpec tier announces for the incident as classified now: a
 * dropping rule only on a capture's attack verdict (a blackhole also when the policy says
 * to act without one), a FlowSpec match as narrow as the capture's signature allows.
 */
export function tierIntent(incident: IncidentRow, tier: Tier, policy: EscalationPolicy): WantedIntent {
  const ipFamily = mustParsePrefix(incident.targetIp).family;
  const cls = incident.classification as ReportedClassification | null;
  const unsigned = unsignedBecause(incident);
  if (tier.action === 'blackhole') {
    if (capturedAttack(incident)) return { intent: { kind: 'blackhole', target: incident.targetIp }, why: `the capture shows ${describeClassification(incident)}` };
    if (policy.actWithoutSignature) return { intent: { kind: 'blackhole', target: incident.targetIp }, why: `the policy acts without an attack signature (${describeClassification(incident)})` };
    return { none: unsigned };
  }
  const decided = tierMatchFor(
    { family: incident.family, subtype: incident.subtype, verdict: incident.verdict, evidence: incident.evidence, signature: cls?.signature ? signatureFromWire(cls.signature) : null },
    ipFamily,
    { pps: incident.currentPps, bps: incident.currentBps },
  );
  if (decided.kind === 'none') return { none: incident.evidence === 'counters' || incident.verdict !== 'attack' ? unsigned : decided.why };
  return { intent: { kind: 'flowspec', target: incident.targetIp, match: decided.match, action: decided.action }, why: decided.why };
}

/** Whether the live rule already announces `intent`: the same route (its stored key) and, for FlowSpec, the same action. */
function announces(live: RuleRow, intent: MitigationIntent): boolean {
  if (live.routeKey !== routeKey(intent)) return false;
  const held = live.intent;
  return intent.kind !== 'flowspec' || held.kind !== 'flowspec' || JSON.stringify(flowActionJson(held.action)) === JSON.stringify(flowActionJson(intent.action));
}

export function createIncidentActivities({ db, logger }: { db: Db; logger: Logger }) {
  async function loadIncident(incidentId: number) {
    const [row] = await db.select().from(incidents).where(eq(incidents.id, incidentId));
    if (!row) throw new Error(`incident ${incidentId} does not exist`);
    return row;
  }

  const record = (incidentId: number, kind: IncidentEventKind, message: string, detail: Record<string, unknown> | null, dedupeKey: string) =>
    recordIncidentEvent(db, incidentId, { kind, message, detail, dedupeKey });

  /** The node's uuid (null once it was deleted): its firewall honours its own allowlist entries. */
  async function nodeUuidOf(incident: IncidentRow): Promise<string | null> {
    if (incident.nodeId === null) return null;
    const [node] = await db.select({ uuid: nodes.uuid }).from(nodes).where(eq(nodes.id, incident.nodeId));
    return node?.uuid ?? null;
  }

  async function refuse(incidentId: number, level: TierLevel, message: string, dedupeKey: string, kind: IncidentEventKind = 'refused'): Promise<null> {
    await record(incidentId, kind, message, { tier: level }, dedupeKey);
    logger.info({ incidentId, tier: level, message }, 'tier action not taken');
    return null;
  }

  /** A tier's rule (pending, for the workflow to start), or null with the reason on the timeline. */
  async function createTierRule(incident: IncidentRow, policy: EscalationPolicy, tier: Tier, wanted: WantedIntent, dedupeKey: string): Promise<TierRule> {
    const incidentId = incident.id;
    const level = tier.level;
    const what = `tier ${level} ${tier.action} for ${incident.targetIp} (ttl ${tier.ttlSeconds} s)`;
    if (tier.action === 'scrubbing') {
      if (policy.scrubbingId === null) return refuse(incidentId, level, `${what}: the escalation policy names no scrubbing integration`, dedupeKey);
      const requested = await requestDiversionRule(db, {
        workspaceId: incident.workspaceId,
        scrubbingId: policy.scrubbingId,
        target: incident.targetIp,
        ttl: tier.ttlSeconds,
        reason: `incident ${incidentId} tier ${level}`,
        incidentId,
        dryRun: policy.dryRun,
      });
      if (requested.outcome === 'refused') return refuse(incidentId, level, `${what}: ${requested.reason}`, dedupeKey);
      const through = `scrubbing integration ${requested.integration.id} (${requested.integration.type})`;
      if (requested.outcome === 'dry_run') return refuse(incidentId, level, `dry run: would divert ${what} through ${through}`, dedupeKey, 'dry_run');
      if (!requested.rule) return refuse(incidentId, level, `${what}: rule ${requested.conflict?.id ?? '?'} already holds the diversion of ${through}`, dedupeKey);
      await record(incidentId, 'rule_requested', `${what}: rule ${requested.rule.id} through ${through}`, { tier: level, rule_id: requested.rule.id }, dedupeKey);
      return ruleInput(requested.rule);
    }
    if ('none' in wanted) return refuse(incidentId, level, `${what}: ${wanted.none}`, dedupeKey);
    if (policy.adapterId === null) return refuse(incidentId, level, `${what}: the escalation policy names no adapter`, dedupeKey);
    const requested = await requestRules(db, {
      workspaceId: incident.workspaceId,
      adapterId: policy.adapterId,
      intents: [wanted.intent],
      ttl: tier.ttlSeconds,
      reason: `incident ${incidentId} tier ${level}`,
      incidentId,
      dryRun: policy.dryRun,
    });
    if (requested.outcome === 'refused') return refuse(incidentId, level, `${what}: ${requested.reason}`, dedupeKey);
    if (requested.outcome === 'dry_run') return refuse(incidentId, level, `dry run: would announce ${what} through adapter ${requested.adapter.id}: ${wanted.why}`, dedupeKey, 'dry_run');
    const [rule] = requested.rules;
    if (!rule) {
      const live = requested.conflicts[0];
      return refuse(incidentId, level, `${what}: rule ${live?.id ?? '?'} already holds this route (${live?.status ?? 'unknown'})`, dedupeKey);
    }
    await record(incidentId, 'rule_requested', `${what}: rule ${rule.id} through adapter ${requested.adapter.id}: ${wanted.why}`, { tier: level, rule_id: rule.id, why: wanted.why }, dedupeKey);
    return ruleInput(rule);
  }

  /** The tiers that apply to the incident's target (per-host overrides applied), read fresh, and the policy they come from. */
  async function planFor(incident: IncidentRow): Promise<{ plan: EscalationPlan; policy: EscalationPolicy }> {
    const { policy, tiers } = await loadTiers(db, incident.workspaceId, incident.targetIp, { aggregate: incident.scope === 'prefix' });
    return { policy, plan: { tiers, holdDownSeconds: policy.holdDownSeconds, dryRun: policy.dryRun, geoLockdown: policy.geoLockdown.enabled, scope: incident.scope } };
  }

  /** The policy's tier `level`'s rule for the incident, or null with the reason on the timeline. */
  function tierRule(incident: IncidentRow, policy: EscalationPolicy, level: TierLevel, dedupeKey: string): Promise<TierRule> {
    const tier = policy.tiers.find((t) => t.level === level);
    if (!tier) return refuse(incident.id, level, `tier ${level} is no longer in the policy`, dedupeKey);
    return createTierRule(incident, policy, tier, tierIntent(incident, tier, policy), dedupeKey);
  }

  return {
    /** The incident's plan, read fresh: a policy changed since it opened applies. */
    async loadEscalationPlan(incidentId: number): Promise<EscalationPlan> {
      return (await planFor(await loadIncident(incidentId))).plan;
    },

    /**
     * A new incident's plan and, when the figures that opened it reach a tier, that tier's
     * rule requested (as requestTierRule), in one local activity: the route waits for one
     * step of the workflow and one read of the incident and policy, not two.
     */
    async openEscalation(incidentId: number, figures: Figures, dedupeKey: string): Promise<Opening> {
      const incident = await loadIncident(incidentId);
      const { plan, policy } = await planFor(incident);
      const level = tierFor(plan.tiers, figures);
      if (level === 0) return { plan, level };
      return { plan, level, rule: await tierRule(incident, policy, level, dedupeKey) };
    },

    /** A prefix incident's nodes to capture on: the busiest few that reported lately. */
    async prefixCaptureTargets(incidentId: number): Promise<Array<{ nodeId: number; nodeUuid: string; name: string }>> {
      const incident = await loadIncident(incidentId);
      const busiest = (await prefixNodes(db, incident.workspaceId, incident.targetIp)).slice(0, PREFIX_CAPTURE_NODES);
      return busiest.map((n) => ({ nodeId: n.id, nodeUuid: n.uuid, name: n.name }));
    },

    /**
     * The prefix incident's classification from its nodes' captures (prefixEvidence); true
     * when it changed what decides the tier rules.
     */
    async classifyPrefix(incidentId: number, results: Array<{ name: string; result: NodeCommandResult }>, dedupeKey: string): Promise<boolean> {
      const incident = await loadIncident(incidentId);
      const perNode = results.map(({ name, result }) => {
        const parsed = result.ok ? ClassificationSchema.safeParse(result.detail?.classification) : null;
        return { node: name, classification: parsed?.success ? parsed.data : null };
      });
      const { classification, reasons } = prefixEvidence(incident.targetIp, perNode);
      if (!classification) {
        await record(incidentId, 'classified', `no evidence yet: ${reasons.join('; ')}`, { reasons }, dedupeKey);
        return false;
      }
      const { reclassified } = await updateIncidentFigures(db, incident, { pps: incident.currentPps, bps: incident.currentBps }, classification);
      return reclassified;
    },

    /**
     * Creates the pending rule for a tier, or records on the timeline why there is none
     * (dry run, allowlisted target, no adapter or integration named, no attack signature in
     * the capture yet). Idempotent per `dedupeKey`: a retry finds the rule its first attempt made.
     */
    async requestTierRule(incidentId: number, level: TierLevel, dedupeKey: string): Promise<TierRule> {
      const incident = await loadIncident(incidentId);
      return tierRule(incident, (await loadPolicy(db, incident.workspaceId)).policy, level, dedupeKey);
    },

    /**
     * After the classification changed: the rule the tier calls for now, and the rule it
     * replaces (announce the new one, then withdraw the old), or the rule to withdraw when
     * the new verdict calls for none. Nothing when the tier's rule stays what it is.
     */
    async reviseTierRule(incidentId: number, level: TierLevel, currentRuleId: number | null, dedupeKey: string): Promise<TierRevision> {
      const incident = await loadIncident(incidentId);
      const { policy } = await loadPolicy(db, incident.workspaceId);
      const tier = policy.tiers.find((t) => t.level === level);
      if (!tier || tier.action === 'scrubbing') return { start: null, withdraw: null, why: '' };
      const wanted = tierIntent(incident, tier, policy);
      const [current] = currentRuleId === null ? [] : await db.select().from(mitigationRules).where(eq(mitigationRules.id, currentRuleId));
      const live = current && ['pending', 'active'].includes(current.status) ? current : undefined;
      const because = `the classification is now ${describeClassification(incident)}`;
      if ('none' in wanted) {
        if (!live) return { start: null, withdraw: null, why: '' };
        await record(incidentId, 'refused', `tier ${level}: ${wanted.none}`, { tier: level }, dedupeKey);
        return { start: null, withdraw: live.id, why: `${because}: ${wanted.none}` };
      }
      if (live && policy.adapterId !== null && policy.adapterId === live.adapterId) {
        const built = await requestRules(db, { workspaceId: incident.workspaceId, adapterId: policy.adapterId, intents: [wanted.intent], ttl: tier.ttlSeconds, reason: null, dryRun: true });
        if (built.outcome === 'dry_run' && announces(live, built.intents[0]!)) return { start: null, withdraw: null, why: '' };
      }
      const rule = await createTierRule(incident, policy, tier, wanted, dedupeKey);
      return { start: rule, withdraw: rule && live ? live.id : null, why: live ? `replaced by rule ${rule?.ruleId ?? '?'}: ${because}` : because };
    },

    /**
     * Geo lockdown for the incident's target: drop what comes from the policy's countries,
     * allowlisted sources cut out. FlowSpec: one rule per source prefix (at most
     * MAX_GEO_FLOWSPEC_ROUTES) with the tier's TTL; firewall: a command for the node's agent,
     * expanded into prefixes when the agent takes it. Idempotent per `dedupeKey`.
     */
    async requestGeoLockdown(incidentId: number, level: TierLevel, dedupeKey: string): Promise<GeoLockdownStep> {
      const incident = await loadIncident(incidentId);
      const { policy } = await loadPolicy(db, incident.workspaceId);
      const geo = policy.geoLockdown;
      const note = async (message: string, kind: IncidentEventKind = 'geo_lockdown', detail: Record<string, unknown> = {}) => {
        await record(incidentId, kind, message, { countries: geo.countries, action: geo.action, ...detail }, dedupeKey);
        logger.info({ incidentId, message }, 'geo lockdown');
      };
      const what = `geo lockdown: drop traffic from ${geo.countries.join(', ')} to ${incident.targetIp}`;
      if (!geo.enabled) return null;
      const heldBack = geoLockdownHeldBack(incident, policy);
      if (heldBack !== null) return note(`${what}: not yet: ${heldBack}`).then(() => ({ kind: 'waiting' }) as const);
      const nodeUuid = await nodeUuidOf(incident);
      // The node's firewall honours its own entries; the routers every entry (db/allowlist.ts).
      const allowlist = await loadAllowlist(db, incident.workspaceId, geo.action === 'firewall' && nodeUuid ? { nodeUuid } : 'network');
      const target = mustParsePrefix(incident.targetIp);
      if (allowlist.some((e) => prefixesOverlap(e.prefix, target))) {
        await note(`${what}: the target is allowlisted; allowlisted addresses are never mitigated`, 'refused');
        return null;
      }

      if (geo.action === 'firewall') {
        if (policy.dryRun) return note(`dry run: would have the agent's ${geo.suite} ${what}`, 'dry_run').then(() => null);
        if (incident.nodeId === null) return note(`${what}: a prefix incident has no one node whose firewall could; use action flowspec`, 'refused').then(() => null);
        if (!nodeUuid) return note(`${what}: the node no longer exists`, 'refused').then(() => null);
        await note(`${what}: sent to the node's agent (${geo.suite})`);
        return { kind: 'firewall', nodeId: incident.nodeId, nodeUuid, suite: geo.suite, countries: geo.countries };
      }

      const tier = policy.tiers.find((t) => t.level === level);
      const ttlSeconds = tier?.ttlSeconds ?? DEFAULT_TTL_SECONDS;
      const sources = countryPrefixes(geo.countries, target.family, allowlist.map((e) => e.prefix));
      if (sources.length === 0) return note(`${what}: the GeoIP data set has no IPv${target.family} prefixes for them`, 'refused').then(() => null);
      if (sources.length > MAX_GEO_FLOWSPEC_ROUTES) {
        await note(`${what}: needs ${sources.length} FlowSpec routes, more than the ${MAX_GEO_FLOWSPEC_ROUTES} a router should carry for one target; use action firewall`, 'refused');
        return null;
      }
      if (policy.adapterId === null) return note(`${what}: the escalation policy names no adapter`, 'refused').then(() => null);
      const requested = await requestRules(db, {
        workspaceId: incident.workspaceId,
        adapterId: policy.adapterId,
        intents: sources.map((source) => ({ kind: 'flowspec', target: incident.targetIp, match: { source: formatPrefix(source) }, action: { type: 'discard' } })),
        ttl: ttlSeconds,
        reason: `incident ${incidentId} geo lockdown`,
        incidentId,
        dryRun: policy.dryRun,
      });
      if (requested.outcome === 'refused') return note(`${what}: ${requested.reason}`, 'refused').then(() => null);
      if (requested.outcome === 'dry_run') {
        return note(`dry run: would announce ${sources.length} FlowSpec routes for ${what} through adapter ${requested.adapter.id}`, 'dry_run').then(() => null);
      }
      // A route someone else already holds stays theirs.
      const rules: RuleToStart[] = requested.rules.map((r) => ({ ruleId: r.id, ttlSeconds }));
      await note(`${what}: ${rules.length} FlowSpec rules through adapter ${requested.adapter.id}`, 'geo_lockdown', { rule_ids: rules.map((r) => r.ruleId) });
      return { kind: 'flowspec', rules };
    },

    /**
     * After the classification changed: whether the geo lockdown in force is still called
     * for; when not, the timeline says why (the workflow then lifts it, and puts it back on
     * a later attack verdict).
     */
    async keepGeoLockdown(incidentId: number, dedupeKey: string): Promise<boolean> {
      const incident = await loadIncident(incidentId);
      const { policy } = await loadPolicy(db, incident.workspaceId);
      const heldBack = geoLockdownHeldBack(incident, policy);
      if (heldBack === null) return true;
      await record(incidentId, 'geo_lockdown', `geo lockdown lifted: ${heldBack}`, { countries: policy.geoLockdown.countries, action: policy.geoLockdown.action }, dedupeKey);
      return false;
    },

    async recordGeoLockdownOutcome(incidentId: number, outcome: string, dedupeKey: string): Promise<void> {
      await record(incidentId, 'geo_lockdown', outcome, null, dedupeKey);
    },

    async setIncidentTier(incidentId: number, tier: TierLevel | 0, figures: Figures, dedupeKey: string): Promise<void> {
      const [before] = await db.select({ tier: incidents.tier, severity: incidents.severity }).from(incidents).where(eq(incidents.id, incidentId));
      const severity = severityAfter(before?.severity ?? 'low', tier);
      await db.update(incidents).set({ tier, severity }).where(eq(incidents.id, incidentId));
      const from = before?.tier ?? 0;
      const direction = tier > from ? 'escalated' : 'stepped down';
      await record(incidentId, 'tier_changed', `${direction} from tier ${from} to tier ${tier} at ${figures.pps} pps, ${figures.bps} bps`, { from, to: tier, ...figures }, dedupeKey);
    },

    async recordRuleWithdrawn(incidentId: number, ruleId: number, reason: string, dedupeKey: string): Promise<void> {
      await record(incidentId, 'rule_withdrawn', `rule ${ruleId} withdrawn: ${reason}`, { rule_id: ruleId }, dedupeKey);
    },
  };
}

export type IncidentActivities = ReturnType<typeof createIncidentActivities>;
