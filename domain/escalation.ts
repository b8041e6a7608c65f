// The escalation policy: which mitigation answers an attack of a given size. Pure, so the
// API validates with it and the incident workflow decides with it.
import type { AttackFamily } from './attack.js';
import type { FlowMatchRequest } from './build-intent.js';
import type { FirewallSuite } from './firewall.js';
import { mustParsePrefix, prefixContains, type Prefix } from './prefix.js';

export const TIER_LEVELS = [1, 2, 3] as const;
export type TierLevel = (typeof TIER_LEVELS)[number];

export const TIER_ACTIONS = ['flowspec', 'blackhole', 'scrubbing'] as const;
export type TierAction = (typeof TIER_ACTIONS)[number];

export const BASELINE_MODES = ['static', 'dynamic'] as const;
export type BaselineMode = (typeof BASELINE_MODES)[number];

/** A tier triggers when the attack reaches either figure (null: that figure never triggers it). */
export interface TierThreshold {
  bps: number | null;
  pps: number | null;
}

export interface Tier extends TierThreshold {
  level: TierLevel;
  action: TierAction;
  /** TTL of the rule the tier announces; the incident withdraws it earlier when it ends. */
  ttlSeconds: number;
}

export interface GeoLockdown {
  enabled: boolean;
  /** ISO 3166-1 alpha-2 codes. */
  countries: string[];
  /** Where the drop goes: FlowSpec source prefixes at the router, or the agent's firewall. */
  action: 'flowspec' | 'firewall';
  /** The agent's firewall, for action firewall. */
  suite: FirewallSuite;
}

export interface EscalationPolicy {
  /** Ascending by level; a level without any threshold is absent. */
  tiers: Tier[];
  baselineMode: BaselineMode;
  geoLockdown: GeoLockdown;
  /** Record every action the policy would take; announce nothing. */
  dryRun: boolean;
  /** The adapter blackhole and FlowSpec tiers announce through; null: decisions are recorded, nothing is announced. */
  adapterId: number | null;
  /** The scrubbing integration a `scrubbing` tier diverts through; null: the tier is recorded, nothing diverted. */
  scrubbingId: number | null;
  /** How long an attack must stay below a tier before the incident steps down from it. */
  holdDownSeconds: number;
}

export const DEFAULT_ACTIONS: Record<TierLevel, TierAction> = { 1: 'flowspec', 2: 'blackhole', 3: 'scrubbing' };
export const DEFAULT_TTL_SECONDS = 3600;

export const DEFAULT_POLICY: EscalationPolicy = {
  tiers: [],
  baselineMode: 'static',
  geoLockdown: { enabled: false, countries: [], action: 'flowspec', suite: 'nftables' },
  dryRun: false,
  adapterId: null,
  scrubbingId: null,
  holdDownSeconds: 120,
};

/** Per-tier thresholds for one host or prefix, overriding the policy's. */
export interface HostThreshold {
  target: string;
  thresholds: Partial<Record<TierLevel, TierThreshold>>;
}

/**
 * The tiers that apply to `target`: the policy's, with the thresholds of the most specific
 * override that contains the target in their place (actions and TTLs stay the policy's).
 */
export function effectiveTiers(policy: EscalationPolicy, overrides: HostThreshold[], target: string): Tier[] {
  const addr = mustParsePrefix(target);
  let best: { prefix: Prefix; o: HostThreshold } | null = null;
  for (const o of overrides) {
    const prefix = mustParsePrefix(o.target);
    if (!prefixContains(prefix, addr)) continue;
    if (!best || prefix.length > best.prefix.length) best = { prefix, o };
  }
  if (!best) return policy.tiers;
  const chosen = best.o.thresholds;
  return policy.tiers.map((t) => {
    const o = chosen[t.level];
    return o ? { ...t, bps: o.bps, pps: o.pps } : t;
  });
}

/** The highest tier the figures reach, or 0 when none. */
export function tierFor(tiers: Tier[], figures: { bps: number; pps: number }): TierLevel | 0 {
  let reached: TierLevel | 0 = 0;
  for (const t of tiers) {
    const hit = (t.bps !== null && figures.bps >= t.bps) || (t.pps !== null && figures.pps >= t.pps);
    if (hit && t.level > reached) reached = t.level;
  }
  return reached;
}

/** Reflector source ports of the amplification vectors (domain/attack.ts). */
const AMPLIFICATION_PORTS: Record<string, number> = {
  dns: 53,
  ntp: 123,
  ssdp: 1900,
  memcached: 11211,
  cldap: 389,
  chargen: 19,
  snmp: 161,
  ws_discovery: 3702,
};

/**
 * What a tier's FlowSpec rule matches besides the destination: as narrow as the attack's
 * classification allows, so legitimate traffic to the target keeps flowing.
 */
export function flowMatchFor(family: AttackFamily, subtype: string | null, ipFamily: 4 | 6): FlowMatchRequest {
  switch (family) {
    case 'udp_flood':
      return { protocols: [17] };
    case 'syn_flood':
      return { protocols: [6], tcpFlags: ['syn'] };
    case 'ack_flood':
      return { protocols: [6], tcpFlags: ['ack'] };
    case 'rst_flood':
      return { protocols: [6], tcpFlags: ['rst'] };
    case 'icmp_flood':
      return { protocols: [ipFamily === 4 ? 1 : 58] };
    case 'fragment_flood':
      return { fragments: ['is-fragment'] };
    case 'amplification': {
      const port = subtype ? AMPLIFICATION_PORTS[subtype] : undefined;
      return port === undefined ? { protocols: [17] } : { protocols: [17], sourcePorts: [{ from: port, to: port }] };
    }
    case 'multi_vector':
    case 'unknown':
      return {};
  }
}

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Severity follows the tier the attack reached. */
export function severityFor(tier: TierLevel | 0): Severity {
  return SEVERITIES[tier];
}

/** The worst the attack reached: stepping down to `tier` does not lower the severity. */
export function severityAfter(previous: Severity, tier: TierLevel | 0): Severity {
  return SEVERITIES[Math.max(SEVERITIES.indexOf(previous), tier)]!;
}
