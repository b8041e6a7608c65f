// The side effects of an incident's escalation: read the policy, create tier rules (or
// record why not), keep the incident's row and timeline true.
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { loadAllowlist } from '../db/allowlist.js';
import { loadPolicy, loadTiers } from '../db/escalation.js';
import { countryPrefixes } from '../db/geoip.js';
import { recordIncidentEvent, type IncidentRow } from '../db/incidents.js';
import { requestDiversionRule, requestRules } from '../db/rules.js';
import { incidents, nodes, type IncidentEventKind } from '../db/schema.js';
import { DEFAULT_TTL_SECONDS, flowMatchFor, severityAfter, type TierLevel } from '../domain/escalation.js';
import { formatPrefix, mustParsePrefix, prefixesOverlap } from '../domain/prefix.js';
import { ruleInput } from '../workflows/rule.contract.js';
import type { EscalationPlan, Figures, GeoLockdownStep, RuleToStart, TierRule } from '../workflows/incident.contract.js';

/** A router holds FlowSpec routes in hardware: more than this for one target is refused. */
export const MAX_GEO_FLOWSPEC_ROUTES = 256;

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
    const [node] = await db.select({ uuid: nodes.uuid }).from(nodes).where(eq(nodes.id, incident.nodeId));
    return node?.uuid ?? null;
  }

  return {
    /** The tiers that apply to the incident's target (per-host overrides applied), read fresh. */
    async loadEscalationPlan(incidentId: number): Promise<EscalationPlan> {
      const incident = await loadIncident(incidentId);
      const { policy, tiers } = await loadTiers(db, incident.workspaceId, incident.targetIp);
      return {
        tiers,
        holdDownSeconds: policy.holdDownSeconds,
        dryRun: policy.dryRun,
        geoLockdown: policy.geoLockdown.enabled,
      };
    },

    /**
     * Creates the pending rule for a tier, or records on the timeline why there is none
     * (dry run, allowlisted target, no adapter or integration named). Idempotent per
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
      if (tier.action === 'scrubbing') {
        if (policy.scrubbingId === null) return refuse(`${what}: the escalation policy names no scrubbing integration`);
        const requested = await requestDiversionRule(db, {
          workspaceId: incident.workspaceId,
          scrubbingId: policy.scrubbingId,
          target: incident.targetIp,
          ttl: tier.ttlSeconds,
          reason: `incident ${incidentId} tier ${level}`,
          incidentId,
          dryRun: policy.dryRun,
        });
        if (requested.outcome === 'refused') return refuse(`${what}: ${requested.reason}`);
        const through = `scrubbing integration ${requested.integration.id} (${requested.integration.type})`;
        if (requested.outcome === 'dry_run') return refuse(`dry run: would divert ${what} through ${through}`, 'dry_run');
        if (!requested.rule) return refuse(`${what}: rule ${requested.conflict?.id ?? '?'} already holds the diversion of ${through}`);
        await record(incidentId, 'rule_requested', `${what}: rule ${requested.rule.id} through ${through}`, { tier: level, rule_id: requested.rule.id }, dedupeKey);
        return ruleInput(requested.rule);
      }
      if (policy.adapterId === null) return refuse(`${what}: the escalation policy names no adapter`);

      const target = mustParsePrefix(incident.targetIp);
      const requested = await requestRules(db, {
        workspaceId: incident.workspaceId,
        adapterId: policy.adapterId,
        intents: [
          tier.action === 'flowspec'
            ? { kind: 'flowspec', target: incident.targetIp, match: flowMatchFor(incident.family, incident.subtype, target.family), action: { type: 'discard' } }
            : { kind: 'blackhole', target: incident.targetIp },
        ],
        ttl: tier.ttlSeconds,
        reason: `incident ${incidentId} tier ${level}`,
        incidentId,
        dryRun: policy.dryRun,
      });
      if (requested.outcome === 'refused') return refuse(`${what}: ${requested.reason}`);
      if (requested.outcome === 'dry_run') return refuse(`dry run: would announce ${what} through adapter ${requested.adapter.id}`, 'dry_run');
      const [rule] = requested.rules;
      if (!rule) {
        const live = requested.conflicts[0];
        return refuse(`${what}: rule ${live?.id ?? '?'} already holds this route (${live?.status ?? 'unknown'})`);
      }
      await record(incidentId, 'rule_requested', `${what}: rule ${rule.id} through adapter ${requested.adapter.id}`, { tier: level, rule_id: rule.id }, dedupeKey);
      return ruleInput(rule);
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
