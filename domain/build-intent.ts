// Turns a validated rule request plus its adapter's configuration into the exact
// intent the adapter will announce, applying every safety rail on the way.
import type { AdapterConfig } from './adapter-types.js';
import {
  BLACKHOLE_COMMUNITY,
  NO_EXPORT_COMMUNITY,
  type FlowAction,
  type FlowMatch,
  type FragmentFlag,
  type MitigationIntent,
  type NumRange,
  type TcpFlag,
} from './intent.js';
import { formatPrefix, parseAddress, parsePrefix, type Prefix } from './prefix.js';
import { prefixLimits, refuseFlowSource, refuseTarget, type AllowlistedPrefix } from './safety.js';

/** The adapter settings that shape an intent. */
export type IntentAdapterConfig = Pick<AdapterConfig, 'communities' | 'next_hop' | 'next_hop_v6' | 'max_prefix_v4' | 'max_prefix_v6'>;

/** Documentation next hops: never 127.x, which GoBGP and FRR treat as martian (notes/bgp-lab.md). */
export const DEFAULT_NEXT_HOP_V4 = '192.0.2.1';
export const DEFAULT_NEXT_HOP_V6 = '2001:db8::1';

export interface FlowMatchRequest {
  protocols?: number[];
  source?: string;
  sourcePorts?: NumRange[];
  destinationPorts?: NumRange[];
  packetLengths?: NumRange[];
  tcpFlags?: TcpFlag[];
  fragments?: FragmentFlag[];
}

export type IntentRequest =
  | { kind: 'blackhole'; target: string }
  | { kind: 'flowspec'; target: string; match: FlowMatchRequest; action: FlowAction };

export type BuildResult = { ok: true; intent: MitigationIntent; target: Prefix } | { ok: false; field: string; reason: string };

export function buildIntent(req: IntentRequest, config: IntentAdapterConfig, allowlist: readonly AllowlistedPrefix[]): BuildResult {
  const parsed = parsePrefix(req.target);
  if (!parsed.ok) return { ok: false, field: 'target_ip', reason: parsed.reason };
  const target = parsed.prefix;
  const refused = refuseTarget(target, prefixLimits(config), allowlist);
  if (refused) return { ok: false, field: 'target_ip', reason: refused };

  if (req.kind === 'blackhole') {
    const nextHop = target.family === 4 ? (config.next_hop ?? DEFAULT_NEXT_HOP_V4) : (config.next_hop_v6 ?? DEFAULT_NEXT_HOP_V6);
    const nh = parseAddress(nextHop);
    if (!nh || nh.family !== target.family) {
      return { ok: false, field: 'adapter_id', reason: `the adapter's IPv${target.family} next hop "${nextHop}" is not an IPv${target.family} address` };
    }
    const communities = [BLACKHOLE_COMMUNITY, NO_EXPORT_COMMUNITY];
    for (const c of config.communities ?? []) if (!communities.includes(c)) communities.push(c);
    return { ok: true, target, intent: { kind: 'blackhole', prefix: formatPrefix(target), nextHop, communities } };
  }

  const match: FlowMatch = {};
  const m = req.match;
  if (m.protocols?.length) match.protocols = [...new Set(m.protocols)].sort((a, b) => a - b);
  if (m.source !== undefined) {
    const src = parsePrefix(m.source);
    if (!src.ok) return { ok: false, field: 'match.source', reason: src.reason };
    const bad = refuseFlowSource(src.prefix, target, allowlist);
    if (bad) return { ok: false, field: 'match.source', reason: bad };
    match.source = formatPrefix(src.prefix);
  }
  const ranges: Array<[keyof FlowMatchRequest & ('sourcePorts' | 'destinationPorts' | 'packetLengths'), string]> = [
    ['sourcePorts', 'match.source_port'],
    ['destinationPorts', 'match.destination_port'],
    ['packetLengths', 'match.packet_length'],
  ];
  for (const [key, field] of ranges) {
    const list = m[key];
    if (!list?.length) continue;
    for (const r of list) {
      if (!(Number.isInteger(r.from) && Number.isInteger(r.to) && r.from >= 0 && r.to <= 65535 && r.from <= r.to)) {
        return { ok: false, field, reason: `range ${r.from}-${r.to} must be whole numbers within 0-65535, low end first` };
      }
    }
    match[key] = list.map((r) => ({ from: r.from, to: r.to }));
  }
  if (m.tcpFlags?.length) {
    if (match.protocols && !match.protocols.includes(6)) {
      return { ok: false, field: 'match.tcp_flags', reason: 'tcp_flags can only match TCP, but match.protocol excludes tcp' };
    }
    match.tcpFlags = [...new Set(m.tcpFlags)];
  }
  if (m.fragments?.length) {
    // RFC 8956 has no DF bit for IPv6, and ExaBGP matches fragments on IPv4 only.
    if (target.family === 6) return { ok: false, field: 'match.fragment', reason: 'fragment matching applies to IPv4 targets only' };
    match.fragments = [...new Set(m.fragments)];
  }
  return { ok: true, target, intent: { kind: 'flowspec', destination: formatPrefix(target), match, action: req.action } };
}
