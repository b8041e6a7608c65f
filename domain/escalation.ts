// The escalation policy: which mitigation answers an attack of a given size. Pure, so the
// API validates with it and the incident workflow decides with it.
import type { AttackFamily, AttackSignature, Evidence, Verdict } from './attack.js';
import type { FlowMatchRequest } from './build-intent.js';
import type { FlowAction, NumRange } from './intent.js';
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

/** Where geo lockdown's drop goes: FlowSpec source prefixes at the router, or the agent's firewall. */
export const GEO_LOCKDOWN_ACTIONS = ['flowspec', 'firewall'] as const;

export interface GeoLockdown {
  enabled: boolean;
  /** ISO 3166-1 alpha-2 codes. */
  countries: string[];
  action: (typeof GEO_LOCKDOWN_ACTIONS)[number];
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
  /**
   * Blackhole tiers act even when the capture found no attack signature (benign-looking or
   * inconclusive traffic: a flash crowd, a release download), e.g. where such volume fills
   * the uplink anyway. Off: such an incident is recorded and notified, nothing dropped.
   */
  actWithoutSignature: boolean;
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
  actWithoutSignature: false,
};

/** Per-tier thresholds for one host or prefix, overriding the policy's. */
export interface HostThreshold {
  target: string;
  thresholds: Partial<Record<TierLevel, TierThreshold>>;
  /** The prefix as a whole (its nodes summed), not each host within it: never a host's threshold. */
  aggregate?: boolean;
}

/**
 * The tiers that apply to `target`: the policy's, with the thresholds of the most specific
 * override that contains the target in their place (actions and TTLs stay the policy's).
 */
export function effectiveTiers(policy: EscalationPolicy, overrides: HostThreshold[], target: string): Tier[] {
  const addr = mustParsePrefix(target);
  let best: { prefix: Prefix; o: HostThreshold } | null = null;
  for (const o of overrides) {
    if (o.aggregate) continue;
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

/** The tiers of a prefix as a whole (its aggregate threshold): the policy's actions and TTLs. */
export function aggregateTiers(policy: EscalationPolicy, aggregate: HostThreshold): Tier[] {
  return policy.tiers.map((t) => {
    const o = aggregate.thresholds[t.level];
    return o ? { ...t, bps: o.bps, pps: o.pps } : { ...t, bps: null, pps: null };
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

/** What a FlowSpec tier announces for an incident's classification, or why it announces nothing. */
export type TierMatch =
  | { kind: 'flowspec'; match: FlowMatchRequest; action: FlowAction; why: string; coverage: number | null }
  | { kind: 'none'; why: string };

/** The classification a tier decides on (the incident's, as stored). */
export interface TierEvidence {
  family: AttackFamily;
  subtype: string | null;
  verdict: Verdict;
  evidence: Evidence;
  signature: AttackSignature | null;
}

/** A match must cover this share of the sample's attack packets to be announced. */
const MIN_COVERAGE = 0.6;
/** Up to this share of the sample's other packets a discard may take; beyond it, a rate limit. */
const MAX_DISCARD_COLLATERAL = 0.02;
/** Beyond this share of the other packets, no rule: it would cut off the service. */
const MAX_RATE_LIMIT_COLLATERAL = 0.3;
/** A rate limit leaves at least this share of the attack's observed rate, and 1 Mbit/s. */
const RATE_FLOOR_SHARE = 0.01;
const RATE_FLOOR_BYTES = 125_000;

/** The IP total lengths of ordinary client segments: SYNs with options, bare ACKs, small UDP. */
const CLIENT_SYN_LENGTHS: Record<4 | 6, NumRange> = { 4: { from: 40, to: 80 }, 6: { from: 60, to: 100 } };

const overlaps = (ranges: NumRange[] | undefined, r: NumRange) => !ranges || ranges.some((x) => x.from <= r.to && x.to >= r.from);
/** Specific source ports (reflectors', or a tool's fixed one), not the ephemeral range clients use. */
const specificSourcePorts = (m: FlowMatchRequest) => !!m.sourcePorts && m.sourcePorts.every((r) => r.to - r.from < 16);

/**
 * Whether the match also fits what the service's own clients send, so a discard would cut
 * them off: SYNs of ordinary sizes (a SYN flood's spoofed SYNs are a client's SYNs), ACKs
 * and data segments (established clients), requests to a web port, players' datagrams.
 * Only a component clients do not share (a reflector's source port, sizes no client
 * sends) tells the attack apart.
 */
export function matchesClients(family: AttackFamily, subtype: string | null, match: FlowMatchRequest, ipFamily: 4 | 6): boolean {
  if (specificSourcePorts(match)) return false;
  switch (family) {
    case 'syn_flood':
      return overlaps(match.packetLengths, CLIENT_SYN_LENGTHS[ipFamily]);
    case 'tcp_flood':
      return subtype === 'ack' || subtype === null;
    case 'http_flood':
      return true;
    case 'udp_flood':
      return subtype === 'game';
    default:
      return false;
  }
}

const mbit = (bytesPerSecond: number) => `${(bytesPerSecond / 125_000).toFixed(bytesPerSecond < 1_250_000 ? 1 : 0)} Mbit/s`;

/**
 * What a tier's FlowSpec rule matches besides the destination, and whether it discards or
 * rate-limits: only an `attack` verdict from captured packets drives a rule, the match is
 * the classifier's signature (as narrow as the sample allows), a discard only when that
 * match spares the rest of the sample and the service's clients, a rate limit when the
 * attack's packets cannot be told from clients' (SYN and ACK floods, HTTP and game floods)
 * or the match takes some legitimate traffic, and no rule when it would take much of it.
 * `figures` are the incident's (the attack's rate at the target); the `why` goes into the
 * incident's timeline.
 */
export function tierMatchFor(c: TierEvidence, ipFamily: 4 | 6, figures: { pps: number; bps: number }): TierMatch {
  if (c.evidence !== 'capture') return { kind: 'none', why: "only the counters' guess so far: no captured packets were classified, and a guess never drives a dropping rule" };
  if (c.verdict !== 'attack') return { kind: 'none', why: `the capture's verdict is ${c.verdict}: no attack signature to match` };
  const sig = c.signature;
  if (!sig) return { kind: 'none', why: `no FlowSpec match narrower than all traffic to the target describes the ${c.family}` };
  let match: FlowMatchRequest = { ...sig.match };
  let caveat = '';
  if (ipFamily === 6 && match.fragments) {
    // RFC 8956 has no fragment bits a router here matches on IPv6 (buildIntent refuses them).
    delete match.fragments;
    caveat = '; the fragment component is left out (IPv4 only), so the match is wider than measured';
  }
  if (Object.keys(match).length === 0) return { kind: 'none', why: 'the only narrowing component, fragments, does not apply to IPv6' };
  const share = (x: number) => `${Math.round(x * 100)} %`;
  if (sig.coverage < MIN_COVERAGE) return { kind: 'none', why: `the narrowest match (${sig.why}) covers only ${share(sig.coverage)} of the attack's packets: not worth a rule` };
  if (sig.collateral > MAX_RATE_LIMIT_COLLATERAL) return { kind: 'none', why: `the match (${sig.why}) would also take ${share(sig.collateral)} of the target's other traffic: no rule, escalate instead` };
  const clientLike = matchesClients(c.family, c.subtype, match, ipFamily);
  if (!clientLike && sig.collateral <= MAX_DISCARD_COLLATERAL) {
    return { kind: 'flowspec', match, action: { type: 'discard' }, why: `discard ${sig.why}${caveat}`, coverage: sig.coverage };
  }
  // A rate limit: room for the legitimate traffic the match takes (twice its share of the
  // matched bytes), never below 1 % of the attack's rate or 1 Mbit/s, never above half of it.
  const observed = Math.max(0, figures.bps) / 8;
  const legitimate = sig.legitimateShare ?? sig.collateral;
  const floor = Math.max(RATE_FLOOR_BYTES, observed * RATE_FLOOR_SHARE);
  const rate = Math.round(Math.max(floor, Math.min(observed * 0.5, observed * legitimate * 2)));
  const because = clientLike
    ? `these packets cannot be told from the service's clients' (a discard would cut every client off)`
    : `the match also takes ${share(sig.collateral)} of the target's other traffic`;
  return {
    kind: 'flowspec',
    match,
    action: { type: 'rate_limit', bytesPerSecond: rate },
    why: `rate-limit ${sig.why}${caveat}, to ${mbit(rate)}: ${because}; the limit is ${legitimate * 2 > RATE_FLOOR_SHARE ? `twice the legitimate share (${share(legitimate)}) of matching bytes` : 'the floor (1 %, at least 1 Mbit/s)'} of the attack's ${mbit(observed)}`,
    coverage: sig.coverage,
  };
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
