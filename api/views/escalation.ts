// The escalation policy and per-host thresholds as the API answers them: the reference's
// flat "tier1_bps" keys, where domain/escalation.ts keeps tiers as a list.
import type { z } from '@hono/zod-openapi';
import type { ThresholdRow } from '../../db/escalation.js';
import { DEFAULT_ACTIONS, DEFAULT_TTL_SECONDS, TIER_LEVELS, type EscalationPolicy, type Tier, type TierLevel, type TierThreshold } from '../../domain/escalation.js';
import type { EscalationPolicySchema, ThresholdSchema } from '../schemas/escalation.js';

export type FlatThresholds = Partial<Record<`tier${TierLevel}_${'bps' | 'pps'}`, number>>;

export function flatten(byLevel: Partial<Record<TierLevel, TierThreshold>>): FlatThresholds {
  const out: FlatThresholds = {};
  for (const level of TIER_LEVELS) {
    const t = byLevel[level];
    if (t?.bps != null) out[`tier${level}_bps`] = t.bps;
    if (t?.pps != null) out[`tier${level}_pps`] = t.pps;
  }
  return out;
}

export function policyJson(p: EscalationPolicy, updatedAt: Date | null): z.infer<typeof EscalationPolicySchema> {
  const byLevel = new Map(p.tiers.map((t) => [t.level, t]));
  const perTier = <T>(f: (level: TierLevel, t: Tier | undefined) => T) => Object.fromEntries(TIER_LEVELS.map((l) => [`tier${l}`, f(l, byLevel.get(l))]));
  return {
    thresholds: flatten(Object.fromEntries(p.tiers.map((t) => [t.level, t]))),
    ttl: perTier((_, t) => t?.ttlSeconds ?? DEFAULT_TTL_SECONDS),
    actions: perTier((l, t) => t?.action ?? DEFAULT_ACTIONS[l]),
    adapter_id: p.adapterId,
    scrubbing_id: p.scrubbingId,
    baseline_mode: p.baselineMode,
    geo_lockdown: p.geoLockdown,
    dry_run: p.dryRun,
    hold_down_seconds: p.holdDownSeconds,
    act_without_signature: p.actWithoutSignature,
    updated_at: updatedAt ? updatedAt.toISOString() : null,
  };
}

export const thresholdJson = (r: ThresholdRow): z.infer<typeof ThresholdSchema> => ({
  id: r.id,
  target_ip: r.targetIp,
  label: r.label,
  thresholds: flatten(r.thresholds),
  aggregate: r.aggregate,
  created_at: r.createdAt.toISOString(),
  updated_at: r.updatedAt.toISOString(),
});
