// The escalation policy (flat "tier1_bps" keys, as the reference has them) and per-host thresholds.
import { z } from '@hono/zod-openapi';
import { CidrOrIp } from '../../domain/wire.js';
import { BASELINE_MODES, GEO_LOCKDOWN_ACTIONS, TIER_ACTIONS } from '../../domain/escalation.js';
import { FIREWALL_SUITES } from '../../domain/firewall.js';
import { bodyId, Timestamp } from './common.js';

const Rate = () => z.number().int('must be a whole number').positive('must be > 0').max(1e15);
const TIER_KEYS = ['tier1', 'tier2', 'tier3'] as const;

/** {"tier1_bps": 1000000, "tier1_pps": 50000, "tier2_bps": ...}: each tier triggers on either figure. */
export const TierThresholdsSchema = z
  .strictObject(Object.fromEntries(TIER_KEYS.flatMap((t) => [[`${t}_bps`, Rate().optional()], [`${t}_pps`, Rate().optional()]])) as Record<
    `${(typeof TIER_KEYS)[number]}_${'bps' | 'pps'}`,
    z.ZodOptional<z.ZodNumber>
  >)
  .superRefine((t, ctx) => {
    // A higher tier must need a bigger attack than a lower one, per figure.
    for (const unit of ['bps', 'pps'] as const) {
      let prev: { key: string; v: number } | null = null;
      for (const tier of TIER_KEYS) {
        const key = `${tier}_${unit}` as const;
        const v = t[key];
        if (v === undefined) continue;
        if (prev && v <= prev.v) ctx.addIssue({ code: 'custom', path: [key], message: `must be greater than ${prev.key} (${prev.v})` });
        prev = { key, v };
      }
    }
  })
  .openapi('TierThresholds', { example: { tier1_bps: 1_000_000_000, tier1_pps: 500_000, tier2_bps: 5_000_000_000 } });

const TtlSeconds = z.number().int('must be whole seconds').min(60, 'must be at least 60 s').max(7 * 86400, 'must be at most 7 days');

export const GeoLockdownSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    countries: z
      .array(z.string().regex(/^[A-Z]{2}$/, 'must be ISO 3166-1 alpha-2 codes such as "CN"'))
      .max(250)
      .default([]),
    action: z.enum(GEO_LOCKDOWN_ACTIONS).default('flowspec'),
    suite: z.enum(FIREWALL_SUITES).default('nftables').openapi({ description: "the agent's firewall, for action firewall" }),
  })
  .refine((g) => !g.enabled || g.countries.length > 0, { message: 'must name at least one country when geo lockdown is enabled', path: ['countries'] });

export const SaveEscalationBody = z
  .strictObject({
    thresholds: TierThresholdsSchema.optional(),
    ttl: z
      .union([TtlSeconds, z.strictObject({ tier1: TtlSeconds.optional(), tier2: TtlSeconds.optional(), tier3: TtlSeconds.optional() })])
      .optional()
      .openapi({ description: 'seconds, for every tier or per tier ({"tier1": 600})' }),
    actions: z
      .strictObject({ tier1: z.enum(TIER_ACTIONS).optional(), tier2: z.enum(TIER_ACTIONS).optional(), tier3: z.enum(TIER_ACTIONS).optional() })
      .optional()
      .openapi({ description: 'what each tier does; default tier1 flowspec, tier2 blackhole, tier3 scrubbing' }),
    adapter_id: bodyId().nullable().optional().openapi({ description: 'the adapter blackhole and FlowSpec tiers announce through' }),
    scrubbing_id: bodyId().nullable().optional().openapi({ description: 'the scrubbing integration a scrubbing tier diverts through' }),
    baseline_mode: z.enum(BASELINE_MODES).optional(),
    geo_lockdown: GeoLockdownSchema.optional(),
    dry_run: z.boolean().optional(),
    hold_down_seconds: z.number().int().min(0).max(86400).optional().openapi({ description: 'time below a tier before stepping down' }),
    act_without_signature: z
      .boolean()
      .optional()
      .openapi({ description: 'blackhole tiers act even when the capture found no attack signature (benign-looking or inconclusive traffic); default false: such incidents are recorded and notified, nothing dropped' }),
  })
  .openapi('SaveEscalationPolicy');

export const EscalationPolicySchema = z
  .object({
    thresholds: z.record(z.string(), z.number()),
    ttl: z.record(z.string(), z.number()),
    actions: z.record(z.string(), z.enum(TIER_ACTIONS)),
    adapter_id: z.number().int().nullable(),
    scrubbing_id: z.number().int().nullable(),
    baseline_mode: z.enum(BASELINE_MODES),
    geo_lockdown: z.object({ enabled: z.boolean(), countries: z.array(z.string()), action: z.enum(GEO_LOCKDOWN_ACTIONS), suite: z.enum(FIREWALL_SUITES) }),
    dry_run: z.boolean(),
    hold_down_seconds: z.number().int(),
    act_without_signature: z.boolean(),
    updated_at: Timestamp,
  })
  .openapi('EscalationPolicy');

export const SaveThresholdBody = z
  .strictObject({
    target_ip: CidrOrIp.meta({ example: '203.0.113.10' }),
    label: z.string().max(200).nullable().optional(),
    thresholds: TierThresholdsSchema.refine((t) => Object.keys(t).length > 0, 'give at least one tierN_bps or tierN_pps'),
    aggregate: z
      .boolean()
      .optional()
      .openapi({
        description:
          'false (default): each host within target_ip takes these thresholds. true (a prefix only): the prefix as a whole, its nodes’ traffic summed; crossing it opens one prefix incident (carpet bombing). A prefix may have one of each.',
      }),
  })
  .openapi('SaveThreshold');

export const ThresholdSchema = z
  .object({
    id: z.number().int(),
    target_ip: z.string(),
    label: z.string().nullable(),
    thresholds: z.record(z.string(), z.number()),
    aggregate: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('HostThreshold');
