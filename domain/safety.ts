// Safety rails: what no path (API, incident automation, runbook) may ever announce.
// Every check answers with a reason a person can act on.
import type { MitigationIntent } from './intent.js';
import { formatPrefix, mustParsePrefix, prefixesOverlap, type Prefix } from './prefix.js';

/**
 * Ranges that are never a real attack target on the Internet, so blackholing or
 * filtering them can only be a mistake. Documentation ranges (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are deliberately NOT here: they are
 * what labs, tests and the API reference use, and announcing them harms no one.
 */
const RESERVED: ReadonlyArray<{ prefix: Prefix; name: string }> = [
  ['0.0.0.0/8', '"this network" (RFC 791)'],
  ['10.0.0.0/8', 'private-use (RFC 1918)'],
  ['100.64.0.0/10', 'shared address space (RFC 6598)'],
  ['127.0.0.0/8', 'loopback (RFC 1122)'],
  ['169.254.0.0/16', 'link-local (RFC 3927)'],
  ['172.16.0.0/12', 'private-use (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
  ['192.168.0.0/16', 'private-use (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
  ['224.0.0.0/4', 'multicast (RFC 5771)'],
  ['240.0.0.0/4', 'reserved (RFC 1112), including broadcast'],
  ['::/128', 'unspecified address (RFC 4291)'],
  ['::1/128', 'loopback (RFC 4291)'],
  ['::ffff:0:0/96', 'IPv4-mapped (RFC 4291)'],
  ['64:ff9b:1::/48', 'local-use IPv4/IPv6 translation (RFC 8215)'],
  ['100::/64', 'discard-only (RFC 6666)'],
  ['fc00::/7', 'unique local (RFC 4193)'],
  ['fe80::/10', 'link-local (RFC 4291)'],
  ['ff00::/8', 'multicast (RFC 4291)'],
].map(([cidr, name]) => ({ prefix: mustParsePrefix(cidr!), name: name! }));

/** The broadest prefix an adapter may announce (a longer prefix length is narrower). */
export interface PrefixLimits {
  maxV4: number;
  maxV6: number;
}

export const DEFAULT_PREFIX_LIMITS: PrefixLimits = { maxV4: 24, maxV6: 48 };

/** The adapter's limits (its config's max_prefix_v4/v6), the defaults where it sets none. */
export function prefixLimits(config: { max_prefix_v4?: number; max_prefix_v6?: number }): PrefixLimits {
  return { maxV4: config.max_prefix_v4 ?? DEFAULT_PREFIX_LIMITS.maxV4, maxV6: config.max_prefix_v6 ?? DEFAULT_PREFIX_LIMITS.maxV6 };
}

export interface AllowlistedPrefix {
  prefix: Prefix;
  label: string | null;
}

/**
 * Why `target` must not be blackholed or blocked, or null when it may be.
 * `allowlist` holds the entries that apply (workspace-wide plus node-scoped ones).
 */
export function refuseTarget(target: Prefix, limits: PrefixLimits, allowlist: readonly AllowlistedPrefix[]): string | null {
  const cidr = formatPrefix(target);
  const max = target.family === 4 ? limits.maxV4 : limits.maxV6;
  if (target.length < max) {
    return `${cidr} is broader than this adapter allows (IPv${target.family} prefixes must be /${max} or longer)`;
  }
  for (const r of RESERVED) {
    if (prefixesOverlap(r.prefix, target)) return `${cidr} is in a reserved range: ${formatPrefix(r.prefix)}, ${r.name}`;
  }
  return blocksTarget(target, allowlist);
}

/** The allowlist entry `prefix` overlaps (overlap, not containment: a /24 around an allowlisted /32 would still block it). */
function overlapping(prefix: Prefix, allowlist: readonly AllowlistedPrefix[]): AllowlistedPrefix | null {
  return allowlist.find((e) => prefixesOverlap(e.prefix, prefix)) ?? null;
}

const entryText = (e: AllowlistedPrefix) => `${formatPrefix(e.prefix)}${e.label ? ` ("${e.label}")` : ''}`;

function blocksTarget(target: Prefix, allowlist: readonly AllowlistedPrefix[]): string | null {
  const hit = overlapping(target, allowlist);
  return hit && `${formatPrefix(target)} overlaps allowlisted ${entryText(hit)}; allowlisted addresses are never mitigated`;
}

function blocksSource(source: Prefix, allowlist: readonly AllowlistedPrefix[]): string | null {
  const hit = overlapping(source, allowlist);
  return hit && `${formatPrefix(source)} overlaps allowlisted ${entryText(hit)}; allowlisted addresses are never blocked`;
}

/**
 * Why a FlowSpec source prefix cannot go with this target, or null. Dropping what an
 * allowlisted address sends is blocking it too, so the source must not overlap the allowlist.
 */
export function refuseFlowSource(source: Prefix, target: Prefix, allowlist: readonly AllowlistedPrefix[]): string | null {
  if (source.family !== target.family) {
    return `${formatPrefix(source)} is IPv${source.family} but the target is IPv${target.family}`;
  }
  return blocksSource(source, allowlist);
}

/**
 * Why an announced intent blocks an allowlisted address (its target, or the source a
 * FlowSpec rule drops), or null: adding an entry withdraws the rules this names.
 */
export function allowlistConflict(intent: MitigationIntent, allowlist: readonly AllowlistedPrefix[]): string | null {
  const target = mustParsePrefix(intent.kind === 'blackhole' ? intent.prefix : intent.destination);
  const hit = blocksTarget(target, allowlist);
  if (hit || intent.kind !== 'flowspec' || !intent.match.source) return hit;
  const source = blocksSource(mustParsePrefix(intent.match.source), allowlist);
  return source && `match.source: ${source}`;
}

/**
 * Why an intent that passed the rails when it was requested may not be announced now, or
 * null: the allowlist may have grown since. The announce activity asks this at the last moment.
 */
export function refuseIntent(intent: MitigationIntent, limits: PrefixLimits, allowlist: readonly AllowlistedPrefix[]): string | null {
  const target = mustParsePrefix(intent.kind === 'blackhole' ? intent.prefix : intent.destination);
  const refused = refuseTarget(target, limits, allowlist);
  if (refused || intent.kind !== 'flowspec' || !intent.match.source) return refused;
  const source = refuseFlowSource(mustParsePrefix(intent.match.source), target, allowlist);
  return source && `match.source: ${source}`;
}
