// The side effects of an incident's escalation: read the policy, create tier rules (or
// record why not), keep the incident's row and timeline true.
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { nodeAllowlist } from '../db/allowlist.js';
import { loadHostThresholds, loadPolicy } from '../db/escalation.js';
import { insertRule } from '../db/rules.js';
import { incidentEvents, incidents, mitigationAdapters, nodes, SEVERITIES, type IncidentEventKind } from '../db/schema.js';
import { buildIntent } from '../domain/build-intent.js';
import { DEFAULT_TTL_SECONDS, effectiveTiers, flowMatchFor, severityFor, type EscalationPolicy, type Tier, type TierLevel } from '../domain/escalation.js';
import type { FirewallSuite } from '../domain/firewall.js';
import { formatPrefix, mustParsePrefix, prefixesOverlap } from '../domain/prefix.js';
import { isImplemented } from '../domain/adapter-types.js';
import { countryPrefixes } from '../db/geoip.js';
import type { EscalationPlan, Figures, GeoLockdownStep, RuleToStart, TierRule } from '../workflows/incident.contract.js';

type IncidentRow = typeof incidents.$inferSelect;

/** A router holds FlowSpec routes in hardware: more than this for one target is refused. */
export const MAX_GEO_FLOWSPEC_ROUTES = 256;

export function createIncidentActivities({ db, logger }: { db: Db; logger: Logger }) {
  async function loadIncident(incidentId: number) {
    const [row] = await db.select().from(incidents).where(eq(incidents.id, incidentId));
    if (!row) throw new Error(`incident ${incidentId} does not exist`);
    return row;
  }

  async function record(incidentId: number, kind: IncidentEventKind, message: string, detail: Record<string, unknown> | null, dedupeKey: string) {
    await db.insert(incidentEvents).values({ incidentId, kind, message, detail, dedupeKey }).onConflictDoNothing();
  }

  /** The policy's adapter if it can announce `action`, else why not. */
  async function adapterFor(incident: IncidentRow, policy: EscalationPolicy, action: 'flowspec' | 'blackhole') {
    if (policy.adapterId === null) return 'the escalation policy names no adapter';
    const [adapter] = await db
      .select()
      .from(mitigationAdapters)
      .where(and(eq(mitigationAdapters.id, policy.adapterId), eq(mitigationAdapters.workspaceId, incident.workspaceId), sql`${mitigationAdapters.deletedAt} is null`));
    if (!adapter) return `adapter ${policy.adapterId} no longer exists`;
    if (!isImplemented(adapter.adapterType)) return `adapter type ${adapter.adapterType} is not available yet`;
    if (!adapter.capabilities.includes(action)) return `adapter ${adapter.id} does not support ${action}`;
    return adapter;
  }

  /** The allowlist entries that apply to the incident's node (workspace-wide and its own). */
  async function allowlistFor(incident: IncidentRow) {
    const [node] = await db.select({ uuid: nodes.uuid }).from(nodes).where(eq(nodes.id, incident.nodeId));
    return { nodeUuid: node?.uuid ?? null, entries: await nodeAllowlist(db, incident.workspaceId, node?.uuid ?? null) };
  }

  return {
    /** The tiers that apply to the incident's target (per-host overrides applied), read fresh. */
    async loadEscalationPlan(incidentId: number): Promise<EscalationPlan> {
      const incident = await loadIncident(incidentId);
      const [{ policy }, overrides] = await Promise.all([loadPolicy(db, incident.workspaceId), loadHostThresholds(db, incident.workspaceId)]);
      return {
        tiers: effectiveTiers(policy, overrides, incident.targetIp),
        holdDownSeconds: policy.holdDownSeconds,
        dryRun: policy.dryRun,
        geoLockdown: policy.geoLockdown.enabled,
      };
    },

    /**
     * Creates the pending rule for a tier, or records on the timeline why there is none
     * (dry run, allowlisted target, no adapter, scrubbing not available). Idempotent per
     * `dedupeKey`: a retry finds the rule its first attempt made.
     */
    async requestTierRule(incidentId: number, level: TierLevel, dedupeKey: string): Promise<TierRule> {
      const incident = await loadIncident(incidentId);
      const { policy } = await loadPolicy(db, incident.workspaceId);
      const tier = policy.tiers.find((t) => t.level === level);
      const refuse = async (message: string, kind: IncidentEventKind = 'refused') => {
        await record(incidentId, kind, message, { tier: level }, dedupeKey);
        logger.info({ incidentId, tier: level, message }, 'tier action not taken');
        return null;
      };
      if (!tier) return refuse(`tier ${level} is no longer in the policy`);
      const what = `tier ${level} ${tier.action} for ${incident.targetIp} (ttl ${tier.ttlSeconds} s)`;
      if (tier.action === 'scrubbing') return refuse(`${what}: no scrubbing integration is available yet`);
      const adapter = await adapterFor(incident, policy, tier.action);
      if (typeof adapter === 'string') return refuse(`${what}: ${adapter}`);

      const target = mustParsePrefix(incident.targetIp);
      const built = buildIntent(
        tier.action === 'blackhole'
          ? { kind: 'blackhole', target: incident.targetIp }
          : { kind: 'flowspec', target: incident.targetIp, match: flowMatchFor(incident.family, incident.subtype, target.family), action: { type: 'discard' } },
        adapter.config,
        (await allowlistFor(incident)).entries,
      );
      if (!built.ok) return refuse(`${what}: ${built.reason}`);
      if (policy.dryRun) return refuse(`dry run: would announce ${what} through adapter ${adapter.id}`, 'dry_run');

      const inserted = await insertRule(db, {
        workspaceId: incident.workspaceId,
        adapterId: adapter.id,
        intentType: tier.action,
        intent: built.intent,
        ttl: tier.ttlSeconds,
        reason: `incident ${incidentId} tier ${level}`,
        incidentId,
      });
      if (!inserted.ok) {
        const live = inserted.liveRule;
        // Our own first attempt made it: hand it back so the workflow starts it.
        if (live && live.incidentId === incidentId && live.status === 'pending') return { ruleId: live.id, ttlSeconds: tier.ttlSeconds };
        return refuse(`${what}: rule ${live?.id ?? '?'} already holds this route (${live?.status ?? 'unknown'})`);
      }
      await record(incidentId, 'rule_requested', `${what}: rule ${inserted.rule.id} through adapter ${adapter.id}`, { tier: level, rule_id: inserted.rule.id }, dedupeKey);
      return { ruleId: inserted.rule.id, ttlSeconds: tier.ttlSeconds };
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
      const allowlist = await allowlistFor(incident);
      const target = mustParsePrefix(incident.targetIp);
      if (allowlist.entries.some((e) => prefixesOverlap(e.prefix, target))) {
        await note(`${what}: the target is allowlisted; allowlisted addresses are never mitigated`, 'refused');
        return null;
      }

      if (geo.action === 'firewall') {
        if (policy.dryRun) return note(`dry run: would have the agent's ${geo.suite} ${what}`, 'dry_run').then(() => null);
        if (!allowlist.nodeUuid) return note(`${what}: the node no longer exists`, 'refused').then(() => null);
        await note(`${what}: sent to the node's agent (${geo.suite})`);
        return { kind: 'firewall', nodeId: incident.nodeId, nodeUuid: allowlist.nodeUuid, suite: geo.suite, countries: geo.countries };
      }

      const tier = policy.tiers.find((t) => t.level === level);
      const ttlSeconds = tier?.ttlSeconds ?? DEFAULT_TTL_SECONDS;
      const sources = countryPrefixes(geo.countries, target.family, allowlist.entries.map((e) => e.prefix));
      if (sources.length === 0) return note(`${what}: the GeoIP data set has no IPv${target.family} prefixes for them`, 'refused').then(() => null);
      if (sources.length > MAX_GEO_FLOWSPEC_ROUTES) {
        await note(`${what}: needs ${sources.length} FlowSpec routes, more than the ${MAX_GEO_FLOWSPEC_ROUTES} a router should carry for one target; use action firewall`, 'refused');
        return null;
      }
      const adapter = await adapterFor(incident, policy, 'flowspec');
      if (typeof adapter === 'string') return note(`${what}: ${adapter}`, 'refused').then(() => null);
      if (policy.dryRun) return note(`dry run: would announce ${sources.length} FlowSpec routes for ${what} through adapter ${adapter.id}`, 'dry_run').then(() => null);

      const rules: RuleToStart[] = [];
      for (const source of sources) {
        const built = buildIntent(
          { kind: 'flowspec', target: incident.targetIp, match: { source: formatPrefix(source) }, action: { type: 'discard' } },
          adapter.config,
          allowlist.entries,
        );
        if (!built.ok) return note(`${what}: ${built.reason}`, 'refused').then(() => null);
        const inserted = await insertRule(db, {
          workspaceId: incident.workspaceId,
          adapterId: adapter.id,
          intentType: 'flowspec',
          intent: built.intent,
          ttl: ttlSeconds,
          reason: `incident ${incidentId} geo lockdown`,
          incidentId,
        });
        if (inserted.ok) rules.push({ ruleId: inserted.rule.id, ttlSeconds });
        // A retry finds what its first attempt inserted; a route someone else holds stays theirs.
        else if (inserted.liveRule?.incidentId === incidentId && inserted.liveRule.status === 'pending') rules.push({ ruleId: inserted.liveRule.id, ttlSeconds });
      }
      await note(`${what}: ${rules.length} FlowSpec rules through adapter ${adapter.id}`, 'geo_lockdown', { rule_ids: rules.map((r) => r.ruleId) });
      return { kind: 'flowspec', rules };
    },

    async recordGeoLockdownOutcome(incidentId: number, outcome: string, dedupeKey: string): Promise<void> {
      await record(incidentId, 'geo_lockdown', outcome, null, dedupeKey);
    },

    async setIncidentTier(incidentId: number, tier: TierLevel | 0, figures: Figures, dedupeKey: string): Promise<void> {
      const [before] = await db.select({ tier: incidents.tier, severity: incidents.severity }).from(incidents).where(eq(incidents.id, incidentId));
      // Severity is the worst the attack reached: stepping down does not lower it.
      const severity = SEVERITIES[Math.max(SEVERITIES.indexOf(before?.severity ?? 'low'), SEVERITIES.indexOf(severityFor(tier)))]!;
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
