// What a mitigation back end is asked to announce. Built by the domain layer from a
// validated API request and the adapter's configuration; adapters only render it.
// Pure data (no Node built-ins): workflows carry it through their history.

/** A normalized CIDR, host bits zero: "203.0.113.50/32", "2001:db8::1/128". */
export type Cidr = string;

/** A standard community "asn:value", both 0..65535. */
export type Community = string;

/** RFC 7999 BLACKHOLE. */
export const BLACKHOLE_COMMUNITY: Community = '65535:666';
/** RFC 1997 NO_EXPORT. */
export const NO_EXPORT_COMMUNITY: Community = '65535:65281';

export interface BlackholeIntent {
  kind: 'blackhole';
  prefix: Cidr;
  /** Next hop for the announcement (never 127.x: routers treat it as a martian). */
  nextHop: string;
  /** Always contains BLACKHOLE and NO_EXPORT, then the adapter's own communities. */
  communities: Community[];
}

/** Inclusive numeric range; from === to is an equality match. */
export interface NumRange {
  from: number;
  to: number;
}

export type TcpFlag = 'fin' | 'syn' | 'rst' | 'psh' | 'ack' | 'urg';
export type FragmentFlag = 'not-a-fragment' | 'dont-fragment' | 'is-fragment' | 'first-fragment' | 'last-fragment';

/** RFC 8955 match components besides the destination. Every list is OR-ed. */
export interface FlowMatch {
  /** IP protocol numbers (6 tcp, 17 udp, 1 icmp, 47 gre, 58 icmpv6, ...). */
  protocols?: number[];
  source?: Cidr;
  sourcePorts?: NumRange[];
  destinationPorts?: NumRange[];
  packetLengths?: NumRange[];
  /** Matches when any listed flag is set. */
  tcpFlags?: TcpFlag[];
  fragments?: FragmentFlag[];
}

export type FlowAction = { type: 'discard' } | { type: 'rate_limit'; bytesPerSecond: number };

export interface FlowSpecIntent {
  kind: 'flowspec';
  destination: Cidr;
  match: FlowMatch;
  action: FlowAction;
}

export type MitigationIntent = BlackholeIntent | FlowSpecIntent;

/** A scrubbing rule: divert `target`'s traffic through the integration (its `scrubbing:<id>` diversion). */
export interface ScrubbingIntent {
  kind: 'scrubbing';
  integrationId: number;
  target: Cidr;
}

/** What a rule holds: a route through an adapter, or a diversion through an integration. */
export type RuleIntent = MitigationIntent | ScrubbingIntent;

/** The route a rule through an adapter holds (the table's check keeps scrubbing rules off adapters). */
export function routeIntent(intent: RuleIntent): MitigationIntent {
  if (intent.kind === 'scrubbing') throw new Error(`a scrubbing rule (integration ${intent.integrationId}) holds no route`);
  return intent;
}

export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  icmpv6: 58,
  sctp: 132,
};

export function isIPv6Cidr(cidr: Cidr): boolean {
  return cidr.includes(':');
}

/**
 * What a speaker keys the route by: two intents with the same route key replace each
 * other at the router, so at most one live rule per adapter may hold each key.
 * (A FlowSpec action is an attribute, not part of the NLRI.)
 */
export function routeKey(intent: RuleIntent): string {
  if (intent.kind === 'blackhole') return `blackhole ${intent.prefix}`;
  // One diversion per integration, whatever part of it the rule names.
  if (intent.kind === 'scrubbing') return `scrubbing ${intent.integrationId}`;
  // Components in one order (the one buildIntent writes them in), so an intent read back
  // from a speaker keys like the one that was announced.
  const m = intent.match;
  const canonical: FlowMatch = {};
  for (const k of FLOW_MATCH_KEYS) if (m[k] !== undefined) (canonical as Record<string, unknown>)[k] = m[k];
  return `flowspec ${intent.destination} ${JSON.stringify(canonical)}`;
}

const FLOW_MATCH_KEYS = ['protocols', 'source', 'sourcePorts', 'destinationPorts', 'packetLengths', 'tcpFlags', 'fragments'] as const satisfies ReadonlyArray<keyof FlowMatch>;

const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOL_NUMBERS).map(([name, n]) => [n, name]));
const rangesJson = (list: NumRange[]) => list.map((r) => (r.from === r.to ? r.from : `${r.from}-${r.to}`));

/**
 * A match in the vocabulary of POST /mitigation/rules (snake_case keys, protocol names,
 * ports as numbers or "low-high"), so what an answer shows can be sent back as it is.
 */
export function flowMatchJson(m: FlowMatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.protocols) out.protocol = m.protocols.map((p) => PROTOCOL_NAMES.get(p) ?? p);
  if (m.source) out.source = m.source;
  if (m.sourcePorts) out.source_port = rangesJson(m.sourcePorts);
  if (m.destinationPorts) out.destination_port = rangesJson(m.destinationPorts);
  if (m.packetLengths) out.packet_length = rangesJson(m.packetLengths);
  if (m.tcpFlags) out.tcp_flags = m.tcpFlags;
  if (m.fragments) out.fragment = m.fragments;
  return out;
}

export function flowActionJson(a: FlowAction): Record<string, unknown> {
  return a.type === 'rate_limit' ? { type: 'rate_limit', bytes_per_second: a.bytesPerSecond } : { type: 'discard' };
}
