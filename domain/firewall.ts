// Firewall rule sets the agent applies on its host: typed, validated data, never shell
// strings. Shared by the control plane (commands, attack profiles, the catalogue) and the
// agent, which renders them for each suite (agent/firewall*.ts).
//
// A rule set is evaluated in order on traffic entering the host (the input hook), after the
// rule sets before it; `accept` ends Bulwark's evaluation of the packet (the host's own
// firewall still sees it), `drop` and `reject` end it for good, `rate_limit` drops what
// exceeds its rate and lets the rest go on to the next rule.
import type { NumRange } from './intent.js';
import { formatPrefix, parsePrefix } from './prefix.js';

export const FIREWALL_SUITES = ['nftables', 'iptables', 'ufw', 'firewalld'] as const;
export type FirewallSuite = (typeof FIREWALL_SUITES)[number];

export const FIREWALL_ACTIONS = ['drop', 'accept', 'reject', 'rate_limit'] as const;
export type FirewallAction = (typeof FIREWALL_ACTIONS)[number];
export const TCP_FLAGS = ['syn', 'ack', 'fin', 'rst', 'psh', 'urg'] as const;
export type TcpFlag = (typeof TCP_FLAGS)[number];
/** Connection-tracking states. */
export const CT_STATES = ['new', 'established', 'related', 'invalid'] as const;
export type CtState = (typeof CT_STATES)[number];
/**
 * ICMP types by their common name, as nftables spells them; `echo-request` and the like
 * match ICMP and ICMPv6 alike, the v6-only ones (neighbour discovery) only ICMPv6.
 */
export const ICMP_TYPES = [
  'echo-request',
  'echo-reply',
  'destination-unreachable',
  'time-exceeded',
  'parameter-problem',
  'packet-too-big',
  'router-solicitation',
  'router-advertisement',
  'neighbor-solicitation',
  'neighbor-advertisement',
  'redirect',
  'timestamp-request',
] as const;
export type IcmpType = (typeof ICMP_TYPES)[number];
const ICMPV6_ONLY: readonly IcmpType[] = ['packet-too-big', 'neighbor-solicitation', 'neighbor-advertisement'];
/** Those of the types a family has: packet-too-big (a destination-unreachable code in IPv4) and neighbour discovery are ICMPv6's, timestamps ICMPv4's. */
export const icmpTypesIn = (types: IcmpType[], family: 4 | 6): IcmpType[] =>
  types.filter((t) => (family === 4 ? !ICMPV6_ONLY.includes(t) : t !== 'timestamp-request'));

export interface FirewallRule {
  action: FirewallAction;
  /** What the rule does, for a person: "Game ports, 40 packets/s per source". */
  title?: string;
  /** Why it is there, one line: "Reflection sources never answer a game server". */
  reason?: string;
  protocol?: 'tcp' | 'udp' | 'icmp';
  /** Source prefix (IPv4 or IPv6); absent (and no `sources`): any source, both families. */
  source?: string;
  /** Many source prefixes in one rule (a country's, the allowlist); exclusive with `source`. */
  sources?: string[];
  /** Destination prefix on this host (one of its addresses or networks). */
  destination?: string;
  sourcePorts?: NumRange[];
  destinationPorts?: NumRange[];
  /** Connection-tracking states the packet must be in (any of them). */
  state?: CtState[];
  /** TCP flags: of the flags in `mask`, exactly those in `set` are set (SYN only: mask syn,ack,rst,fin; set syn). */
  tcpFlags?: { mask: TcpFlag[]; set: TcpFlag[] };
  /** true: only fragments after the first (they carry no ports: a port match never sees them). */
  fragment?: true;
  /** The IP packet's length in bytes (IPv4 total length; IPv6 payload plus its 40-byte header). */
  length?: NumRange;
  icmpTypes?: IcmpType[];
  /** rate_limit: packets per second let through; the rest are dropped. */
  ratePps?: number;
  /** rate_limit: packets let through at once above the rate (default: the rate). */
  burst?: number;
  /** rate_limit: the rate applies to each source address on its own rather than to all together. */
  perSource?: boolean;
}

export interface FirewallRuleSet {
  /** Lower-case letters, digits and _, 1-24 characters: it becomes a chain name. */
  name: string;
  rules: FirewallRule[];
}

/** Rule sets named so are attack profiles: the agent evaluates them after every other rule set (blocks first, then the profile's accepts). */
export const PROFILE_RULESET_PREFIX = 'profile_';
/** The order the agent evaluates installed rule sets in: by name, profiles last. */
export const ruleSetOrder = (names: string[]) =>
  [...names].sort((a, b) => Number(a.startsWith(PROFILE_RULESET_PREFIX)) - Number(b.startsWith(PROFILE_RULESET_PREFIX)) || (a < b ? -1 : a > b ? 1 : 0));

const NAME = /^[a-z0-9_]{1,24}$/;
const MAX_RULES = 500;
/** Enough for the largest country's IPv4 and IPv6 prefixes together. */
export const MAX_SOURCES = 250_000;
const MAX_RATE = 10_000_000;
const TEXT = /^[^\p{Cc}]*$/u;

type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function prefix(text: unknown, at: string): Checked<string> {
  const p = parsePrefix(String(text));
  return p.ok ? { ok: true, value: formatPrefix(p.prefix) } : { ok: false, reason: `${at}: ${p.reason}` };
}

function checkRule(r: FirewallRule, at: string): Checked<FirewallRule> {
  const fail = (reason: string): Checked<FirewallRule> => ({ ok: false, reason: `${at}${reason}` });
  if (typeof r !== 'object' || r === null) return fail(' must be an object');
  if (!FIREWALL_ACTIONS.includes(r.action)) return fail(`.action must be one of ${FIREWALL_ACTIONS.join(', ')}`);
  for (const field of ['title', 'reason'] as const) {
    const t = r[field];
    if (t !== undefined && (typeof t !== 'string' || t.length === 0 || t.length > 160 || !TEXT.test(t))) return fail(`.${field} must be 1-160 characters on one line`);
  }
  if (r.protocol !== undefined && !['tcp', 'udp', 'icmp'].includes(r.protocol)) return fail('.protocol must be tcp, udp or icmp');
  const ports = [...(r.sourcePorts ?? []), ...(r.destinationPorts ?? [])];
  if (ports.length > 0 && r.protocol !== 'tcp' && r.protocol !== 'udp') return fail(': ports need protocol tcp or udp');
  for (const list of [r.sourcePorts, r.destinationPorts]) {
    if (list !== undefined && (!Array.isArray(list) || list.length === 0 || list.length > 16)) return fail(': a port list holds 1-16 ranges');
  }
  for (const p of ports) {
    if (!Number.isInteger(p.from) || !Number.isInteger(p.to) || p.from < 0 || p.to > 65535 || p.from > p.to) {
      return fail(`: port range ${p.from}-${p.to} must lie within 0-65535, low end first`);
    }
  }
  if (r.fragment !== undefined && r.fragment !== true) return fail('.fragment is true or absent');
  // Fragments after the first carry no transport header: a port, flag or ICMP type never matches them.
  if (r.fragment && (ports.length > 0 || r.tcpFlags || r.icmpTypes)) return fail(': a fragment carries no ports, TCP flags or ICMP type to match');
  // Fragments are matched before the kernel reassembles them, where there is no connection tracking yet.
  if (r.fragment && (r.action !== 'drop' || r.state)) return fail(': a fragment rule drops, and cannot match a connection state');
  if (r.tcpFlags !== undefined) {
    if (r.protocol !== 'tcp') return fail('.tcpFlags needs protocol tcp');
    const { mask, set } = r.tcpFlags;
    if (!Array.isArray(mask) || mask.length === 0 || !mask.every((f) => TCP_FLAGS.includes(f))) return fail(`.tcpFlags.mask must list flags among ${TCP_FLAGS.join(', ')}`);
    if (!Array.isArray(set) || !set.every((f) => mask.includes(f))) return fail('.tcpFlags.set must list flags within the mask');
  }
  if (r.state !== undefined && (!Array.isArray(r.state) || r.state.length === 0 || !r.state.every((s) => CT_STATES.includes(s)))) return fail(`.state must list states among ${CT_STATES.join(', ')}`);
  if (r.icmpTypes !== undefined) {
    if (r.protocol !== 'icmp') return fail('.icmpTypes needs protocol icmp');
    if (!Array.isArray(r.icmpTypes) || r.icmpTypes.length === 0 || !r.icmpTypes.every((t) => ICMP_TYPES.includes(t))) return fail(`.icmpTypes must list types among ${ICMP_TYPES.join(', ')}`);
  }
  if (r.length !== undefined) {
    const { from, to } = r.length;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > 65535 || from > to) return fail(`.length ${from}-${to} must lie within 0-65535, low end first`);
  }
  if (r.action === 'rate_limit') {
    if (!(Number.isInteger(r.ratePps) && r.ratePps! > 0 && r.ratePps! <= MAX_RATE)) return fail(`.ratePps must be a whole number 1-${MAX_RATE} for rate_limit`);
    if (r.burst !== undefined && !(Number.isInteger(r.burst) && r.burst > 0 && r.burst <= MAX_RATE)) return fail(`.burst must be a whole number 1-${MAX_RATE}`);
    if (r.perSource !== undefined && typeof r.perSource !== 'boolean') return fail('.perSource must be true or false');
  } else {
    for (const f of ['ratePps', 'burst', 'perSource'] as const) if (r[f] !== undefined) return fail(`.${f} applies only to rate_limit`);
  }
  let source: string | undefined;
  if (r.source !== undefined) {
    const p = prefix(r.source, `${at}.source`);
    if (!p.ok) return p;
    source = p.value;
  }
  let destination: string | undefined;
  if (r.destination !== undefined) {
    const p = prefix(r.destination, `${at}.destination`);
    if (!p.ok) return p;
    destination = p.value;
    if (source !== undefined && source.includes(':') !== destination.includes(':')) return fail(': source and destination must be of one address family');
  }
  let sources: string[] | undefined;
  if (r.sources !== undefined) {
    if (source !== undefined) return fail(': give source or sources, not both');
    // iptables would give each source its own limit, nftables one for all: not one meaning.
    if (r.action === 'rate_limit') return fail(': rate_limit takes one source, not a list');
    if (!Array.isArray(r.sources) || r.sources.length === 0 || r.sources.length > MAX_SOURCES) return fail(`.sources must list 1-${MAX_SOURCES} prefixes`);
    sources = [];
    for (const [j, text] of r.sources.entries()) {
      const p = prefix(text, `${at}.sources[${j}]`);
      if (!p.ok) return p;
      sources.push(p.value);
    }
    if (destination !== undefined && !sources.some((s) => s.includes(':') === destination!.includes(':'))) return fail(': no source is of the destination’s address family');
  }
  return { ok: true, value: { ...r, ...(source ? { source } : {}), ...(sources ? { sources } : {}), ...(destination ? { destination } : {}) } };
}

/** The rule set in canonical form (addresses as canonical prefixes), or why it is invalid. */
export function validateRuleSet(set: FirewallRuleSet): { ok: true; set: FirewallRuleSet } | { ok: false; reason: string } {
  if (!NAME.test(set.name)) return { ok: false, reason: `name "${set.name}" must be 1-24 lower-case letters, digits or _` };
  if (!Array.isArray(set.rules) || set.rules.length > MAX_RULES) return { ok: false, reason: `rules must be a list of at most ${MAX_RULES}` };
  const rules: FirewallRule[] = [];
  for (const [i, r] of set.rules.entries()) {
    const c = checkRule(r, `rules[${i}]`);
    if (!c.ok) return c;
    rules.push(c.value);
  }
  return { ok: true, set: { name: set.name, rules } };
}

/** The address family a rule is limited to by its addresses, or null when it applies to both. */
export function ruleFamily(r: FirewallRule): 4 | 6 | null {
  const addr = r.destination ?? r.source;
  return addr === undefined ? null : addr.includes(':') ? 6 : 4;
}

/**
 * A rule's identity in its rule set, 16 hex digits from its place and its spec (words
 * aside): the names of its stateful objects (limits, meters), so that re-applying the same
 * rules keeps their state and a changed rule gets fresh ones. FNV-1a, twice: pure, stable.
 */
export function ruleId(setName: string, index: number, r: FirewallRule): string {
  const text = `${setName}:${index}:${JSON.stringify({ ...r, title: undefined, reason: undefined })}`;
  const fnv = (seed: number) => {
    let h = seed >>> 0;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
    return h.toString(16).padStart(8, '0');
  };
  return fnv(2166136261) + fnv(0x811c9dc5 ^ 0x5bd1e995);
}
