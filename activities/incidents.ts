// The side effects of an incident's escalation: read the policy, create tier rules (or
// record why not), keep the incident's row and timeline true.
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { loadHostThresholds, loadPolicy } from '../db/escalation.js';
import { insertRule } from '../db/rules.js';
import { allowlistEntries, incidentEvents, incidents, mitigationAdapters, nodes, SEVERITIES, type IncidentEventKind } from '../db/schema.js';
import { buildIntent } from '../domain/build-intent.js';
import { effectiveTiers, flowMatchFor, severityFor, type Tier, type TierLevel } from '../domain/escalation.js';
import { mustParsePrefix } from '../domain/prefix.js';
import { isImplemented } from './adapters/index.js';

export interface EscalationPlan {
  tiers: Tier[];
  holdDownSeconds: number;
  dryRun: boolean;
}

/** A tier's rule to start as a child workflow, or null when the tier announces nothing. */
export type TierRule = { ruleId: number; ttlSeconds: number } | null;

export interface Figures {
  pps: number;
  bps: number;
}

export function createIncidentActivities({ db, logger }: { db: Db; logger: Logger }) {
  async function loadIncident(incidentId: number) {
    const [row] = await db.select().from(incidents).where(eq(incidents.id, incidentId));
    if (!row) throw new Error(`incident ${incidentId} does not exist`);
    return row;
  }

  async function record(incidentId: number, kind: IncidentEventKind, message: string, detail: Record<string, unknown> | null, dedupeKey: string) {
    await db.insert(incidentEvents).values({ incidentId, kind, message, detail, dedupeKey }).onConflictDoNothing();
  }

  return {
    /** The tiers that apply to the incident's target (per-host overrides applied), read fresh. */
    async loadEscalationPlan(incidentId: number): Promise<EscalationPlan> {
      const incident = await loadIncident(incidentId);
      const [{ policy }, overrides] = await Promise.all([loadPolicy(db, incident.workspaceId), loadHostThresholds(db, incident.workspaceId)]);
      return { tiers: effectiveTiers(policy, overrides, incident.targetIp), holdDownSeconds: policy.holdDownSeconds, dryRun: policy.dryRun };
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
      if (policy.adapterId === null) return refuse(`${what}: the escalation policy names no adapter`);
      const [adapter] = await db
        .select()
        .from(mitigationAdapters)
        .where(and(eq(mitigationAdapters.id, policy.adapterId), eq(mitigationAdapters.workspaceId, incident.workspaceId), sql`${mitigationAdapters.deletedAt} is null`));
      if (!adapter) return refuse(`${what}: adapter ${policy.adapterId} no longer exists`);
      if (!isImplemented(adapter.adapterType)) return refuse(`${what}: adapter type ${adapter.adapterType} is not available yet`);
      if (!adapter.capabilities.includes(tier.action)) return refuse(`${what}: adapter ${adapter.id} does not support ${tier.action}`);

      const [node] = await db.select({ uuid: nodes.uuid }).from(nodes).where(eq(nodes.id, incident.nodeId));
      const allowlist = await db
        .select({ ip: allowlistEntries.ipAddress, label: allowlistEntries.label, nodeUuid: allowlistEntries.nodeUuid })
        .from(allowlistEntries)
        .where(eq(allowlistEntries.workspaceId, incident.workspaceId));
      const applicable = allowlist.filter((a) => a.nodeUuid === null || a.nodeUuid === node?.uuid);
      const target = mustParsePrefix(incident.targetIp);
      const built = buildIntent(
        tier.action === 'blackhole'
          ? { kind: 'blackhole', target: incident.targetIp }
          : { kind: 'flowspec', target: incident.targetIp, match: flowMatchFor(incident.family, incident.subtype, target.family), action: { type: 'discard' } },
        adapter.config,
        applicable.map((a) => ({ prefix: mustParsePrefix(a.ip), label: a.label })),
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
