// GoBGP adapter: drives a gobgpd speaker over its v3 gRPC API. Announce is AddPath, withdraw
// is DeletePath of the same path, list is ListPath on the global RIB.
//
// The encodings below were checked against a receiving GoBGP router, next to what the gobgp
// CLI sends for the same rule (see test/gobgp.test.ts):
// - IPv4 unicast carries a NEXT_HOP attribute; every other family an MP_REACH_NLRI
//   attribute with the family, next hops and the NLRI again (what the CLI sends; gobgpd
//   also accepts a NEXT_HOP there and converts it). FlowSpec has no next hop on the wire,
//   but gobgpd refuses a path without one of those attributes ("nexthop not found").
// - FlowSpec numeric operators (RFC 8955 4.2.1.1): 0x01 =, 0x02 >, 0x04 <, 0x40 AND,
//   0x80 end of list; gobgpd sets the value-length bits itself from the value.
// - TCP flags and fragments use the bitmask operand without the match bit: "(data & value)
//   != 0", i.e. any listed bit set. "not-a-fragment" is NOT+IsF ("!is-fragment", RFC 8955
//   and what Juniper sends); GoBGP's and ExaBGP's own "not-a-fragment" keyword sends value
//   0, which matches nothing.
import type { FlowAction, FlowMatch, FragmentFlag, MitigationIntent, NumRange, TcpFlag } from '../../domain/intent.js';
import { formatPrefix, parseAddress, parsePrefix, type IpFamily } from '../../domain/prefix.js';
import {
  createGobgpClient,
  GrpcStatus,
  isGrpcError,
  pack,
  unpack,
  type AnyMessage,
  type Family,
  type FlowSpecComponentItem,
  type GobgpClient,
  type Path,
  type PathInput,
} from './gobgp-api.js';
import { AdapterError, type AdapterSettings, type MitigationAdapter } from './types.js';

// ------------------------------------------------------------------ FlowSpec constants

/** RFC 8955 component types (RFC 8956 keeps the numbers for IPv6; 3 is "next header"). */
export const FS = {
  DST_PREFIX: 1,
  SRC_PREFIX: 2,
  PROTOCOL: 3,
  DST_PORT: 5,
  SRC_PORT: 6,
  TCP_FLAGS: 9,
  PACKET_LENGTH: 10,
  FRAGMENT: 12,
} as const;

/** Numeric operator bits. */
const OP_END = 0x80;
const OP_AND = 0x40;
const OP_LEN_MASK = 0x30; // value length, set by gobgpd, ignored when decoding
const OP_LT = 0x04;
const OP_GT = 0x02;
const OP_EQ = 0x01;
/** Bitmask operand bits (the low two differ from the numeric ones). */
const BM_NOT = 0x02;

const TCP_FLAG_BITS: Record<TcpFlag, number> = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20 };
const FRAGMENT_BITS = { 'dont-fragment': 0x01, 'is-fragment': 0x02, 'first-fragment': 0x04, 'last-fragment': 0x08 } as const;

const FAMILIES = {
  ipv4: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  ipv6: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
  'ipv4-flowspec': { afi: 'AFI_IP', safi: 'SAFI_FLOW_SPEC_UNICAST' },
  'ipv6-flowspec': { afi: 'AFI_IP6', safi: 'SAFI_FLOW_SPEC_UNICAST' },
} as const satisfies Record<string, Family>;

/** Largest IEEE 754 float32: the traffic-rate field cannot carry more. */
const FLOAT32_MAX = 3.4028234663852886e38;

// ------------------------------------------------------------------ intent -> path

/** An intent the adapter cannot render: never worth retrying. */
function refuse(message: string): never {
  throw new AdapterError(`gobgp adapter: ${message}`, false);
}

function cidr(text: unknown, field: string): { family: IpFamily; prefix: string; prefix_len: number } {
  if (typeof text !== 'string') refuse(`${field} must be a CIDR string`);
  const parsed = parsePrefix(text);
  if (!parsed.ok) refuse(`${field}: ${parsed.reason}`);
  const [prefix] = formatPrefix(parsed.prefix).split('/');
  return { family: parsed.prefix.family, prefix: prefix!, prefix_len: parsed.prefix.length };
}

/** "65535:666" -> 4294902426. Multiplication, not <<: JS shifts are signed 32-bit. */
function communityValue(text: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) refuse(`community "${text}" must be asn:value, both 0-65535`);
  return Number(m[1]) * 65536 + Number(m[2]);
}

function nonEmpty<T>(list: T[] | undefined, field: string, ok: (x: T) => boolean): T[] | undefined {
  if (list === undefined) return undefined;
  // An empty OR-list would drop the component and widen the match: refuse instead.
  if (!Array.isArray(list) || list.length === 0 || !list.every(ok)) refuse(`match.${field} must be a non-empty list of valid values`);
  return list;
}

const isInt = (v: unknown, max: number): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const validRange = (r: NumRange) => typeof r === 'object' && r !== null && isInt(r.from, 65535) && isInt(r.to, 65535) && r.from <= r.to;

/** OR-ed ranges: "=v" for a single value, ">=from AND <=to" otherwise (as ExaBGP renders them). */
function rangeItems(ranges: NumRange[]): FlowSpecComponentItem[] {
  const items: FlowSpecComponentItem[] = [];
  for (const r of ranges) {
    if (r.from === r.to) items.push({ op: OP_EQ, value: r.from });
    else items.push({ op: OP_GT | OP_EQ, value: r.from }, { op: OP_AND | OP_LT | OP_EQ, value: r.to });
  }
  return items;
}

function component(type: number, items: FlowSpecComponentItem[]): AnyMessage {
  // The end-of-list bit goes on the last item only.
  const marked = items.map((it, i) => ({ op: i === items.length - 1 ? it.op | OP_END : it.op, value: it.value }));
  return pack('FlowSpecComponent', { type, items: marked });
}

/** The FlowSpec NLRI rules, in ascending type order as RFC 8955 requires. */
function flowRules(destination: string, match: FlowMatch): { family: IpFamily; rules: AnyMessage[] } {
  if (typeof match !== 'object' || match === null) refuse('match must be an object');
  const dst = cidr(destination, 'destination');
  const v6 = dst.family === 6;
  // IPv6 prefixes carry a bit offset (RFC 8956); 0 matches from the first bit as IPv4 does.
  const prefixRule = (type: number, p: { prefix: string; prefix_len: number }) =>
    pack('FlowSpecIPPrefix', { type, prefix_len: p.prefix_len, prefix: p.prefix, ...(v6 ? { offset: 0 } : {}) });

  const rules = [prefixRule(FS.DST_PREFIX, dst)];
  if (match.source !== undefined) {
    const src = cidr(match.source, 'match.source');
    if (src.family !== dst.family) refuse('match.source must be the same IP version as the destination');
    rules.push(prefixRule(FS.SRC_PREFIX, src));
  }
  const protocols = nonEmpty(match.protocols, 'protocols', (p) => isInt(p, 255));
  if (protocols) rules.push(component(FS.PROTOCOL, protocols.map((p) => ({ op: OP_EQ, value: p }))));
  const dports = nonEmpty(match.destinationPorts, 'destinationPorts', validRange);
  if (dports) rules.push(component(FS.DST_PORT, rangeItems(dports)));
  const sports = nonEmpty(match.sourcePorts, 'sourcePorts', validRange);
  if (sports) rules.push(component(FS.SRC_PORT, rangeItems(sports)));
  const flags = nonEmpty(match.tcpFlags, 'tcpFlags', (f) => Object.hasOwn(TCP_FLAG_BITS, f));
  // One item per flag, OR-ed, no match bit: any listed flag set (Juniper "tcp-flags syn").
  if (flags) rules.push(component(FS.TCP_FLAGS, flags.map((f) => ({ op: 0, value: TCP_FLAG_BITS[f] }))));
  const lengths = nonEmpty(match.packetLengths, 'packetLengths', validRange);
  if (lengths) rules.push(component(FS.PACKET_LENGTH, rangeItems(lengths)));
  const frags = nonEmpty(match.fragments, 'fragments', (f) => f === 'not-a-fragment' || Object.hasOwn(FRAGMENT_BITS, f));
  if (frags) {
    // RFC 8956: IPv6 has no DF bit (it is reserved in the IPv6 fragment component).
    if (v6 && frags.includes('dont-fragment')) refuse('dont-fragment does not exist for IPv6');
    rules.push(
      component(
        FS.FRAGMENT,
        frags.map((f) => (f === 'not-a-fragment' ? { op: BM_NOT, value: FRAGMENT_BITS['is-fragment'] } : { op: 0, value: FRAGMENT_BITS[f] })),
      ),
    );
  }
  return { family: dst.family, rules };
}

function trafficRate(action: FlowAction): number {
  if (action?.type === 'discard') return 0;
  if (action?.type === 'rate_limit') {
    const rate = action.bytesPerSecond;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > FLOAT32_MAX) refuse('rate_limit bytesPerSecond must be 0 or more');
    return rate;
  }
  return refuse('action must be discard or rate_limit');
}

/** The GoBGP path for an intent. The same path serves AddPath and DeletePath. */
export function intentToPath(intent: MitigationIntent): PathInput {
  // Origin IGP; the speaker adds its own AS to the AS path towards eBGP peers.
  const origin = pack('OriginAttribute', { origin: 0 });
  if (intent?.kind === 'blackhole') {
    const p = cidr(intent.prefix, 'prefix');
    const nh = typeof intent.nextHop === 'string' ? parseAddress(intent.nextHop) : null;
    if (!nh || nh.family !== p.family) refuse(`nextHop must be an IPv${p.family} address for ${intent.prefix}`);
    if (p.family === 4 && intent.nextHop.startsWith('127.')) refuse('nextHop 127.x is a martian: routers drop the route');
    if (!Array.isArray(intent.communities)) refuse('communities must be a list');
    const family = p.family === 4 ? FAMILIES.ipv4 : FAMILIES.ipv6;
    const nlri = pack('IPAddressPrefix', { prefix: p.prefix, prefix_len: p.prefix_len });
    const communities = pack('CommunitiesAttribute', { communities: intent.communities.map(communityValue) });
    const nextHop =
      p.family === 4
        ? pack('NextHopAttribute', { next_hop: intent.nextHop })
        : pack('MpReachNLRIAttribute', { family, next_hops: [intent.nextHop], nlris: [nlri] });
    return { family, nlri, pattrs: [origin, nextHop, communities] };
  }
  if (intent?.kind === 'flowspec') {
    const { family: ipFamily, rules } = flowRules(intent.destination, intent.match);
    const family = ipFamily === 4 ? FAMILIES['ipv4-flowspec'] : FAMILIES['ipv6-flowspec'];
    const nlri = pack('FlowSpecNLRI', { rules });
    // traffic-rate (RFC 8955 7.1): bytes per second as float32; 0 discards. AS 0: informational only.
    const action = pack('ExtendedCommunitiesAttribute', {
      communities: [pack('TrafficRateExtended', { asn: 0, rate: trafficRate(intent.action) })],
    });
    // No next hop on the wire for FlowSpec; gobgpd wants the attribute all the same.
    const mpReach = pack('MpReachNLRIAttribute', { family, next_hops: [], nlris: [nlri] });
    return { family, nlri, pattrs: [origin, mpReach, action] };
  }
  return refuse('intent kind must be blackhole or flowspec');
}

// ------------------------------------------------------------------ path -> intent

/** Inverse of rangeItems for what the items can express; null when they cannot. */
function itemsToRanges(items: FlowSpecComponentItem[]): NumRange[] | null {
  const ranges: NumRange[] = [];
  let current: { from: number; to: number } | null = null;
  for (const it of items) {
    const op = it.op & ~(OP_END | OP_LEN_MASK);
    if (!(op & OP_AND)) {
      if (current) ranges.push(current);
      current = { from: 0, to: 65535 };
    }
    if (!current) return null;
    switch (op & 0x07) {
      case OP_EQ:
        current = { from: Math.max(current.from, it.value), to: Math.min(current.to, it.value) };
        break;
      case OP_GT | OP_EQ:
        current.from = Math.max(current.from, it.value);
        break;
      case OP_GT:
        current.from = Math.max(current.from, it.value + 1);
        break;
      case OP_LT | OP_EQ:
        current.to = Math.min(current.to, it.value);
        break;
      case OP_LT:
        current.to = Math.min(current.to, it.value - 1);
        break;
      default:
        return null; // != , true, false: no NumRange for those
    }
  }
  if (current) ranges.push(current);
  return ranges.every((r) => r.from <= r.to) ? ranges : null;
}

function formatCidr(prefix: string, len: number): string | null {
  const parsed = parsePrefix(`${prefix}/${len}`);
  return parsed.ok ? formatPrefix(parsed.prefix) : null;
}

/** What a FlowSpec NLRI says, as an intent match; null when it uses something intents cannot say. */
function rulesToMatch(rules: AnyMessage[]): { destination: string; match: FlowMatch } | null {
  let destination: string | null = null;
  const match: FlowMatch = {};
  for (const any of rules) {
    const rule = unpack(any);
    if (rule.type === 'FlowSpecIPPrefix') {
      if (rule.value.offset) return null;
      const text = formatCidr(rule.value.prefix, rule.value.prefix_len);
      if (!text) return null;
      if (rule.value.type === FS.DST_PREFIX) destination = text;
      else if (rule.value.type === FS.SRC_PREFIX) match.source = text;
      else return null;
      continue;
    }
    if (rule.type !== 'FlowSpecComponent') return null;
    const items = rule.value.items;
    const bitmask = (names: Array<[string, number]>, allowNotIsF: boolean): string[] | null => {
      const out: string[] = [];
      for (const it of items) {
        const op = it.op & ~(OP_END | OP_LEN_MASK);
        if (allowNotIsF && op === BM_NOT && it.value === FRAGMENT_BITS['is-fragment']) {
          out.push('not-a-fragment');
          continue;
        }
        // Only OR-ed "any of these bits" items map back to a flag list.
        if (op !== 0) return null;
        for (const [name, bit] of names) if (it.value & bit) out.push(name);
      }
      return out;
    };
    switch (rule.value.type) {
      case FS.PROTOCOL: {
        const r = itemsToRanges(items);
        if (!r || r.some((x) => x.from !== x.to)) return null;
        match.protocols = r.map((x) => x.from);
        break;
      }
      case FS.DST_PORT:
      case FS.SRC_PORT:
      case FS.PACKET_LENGTH: {
        const r = itemsToRanges(items);
        if (!r) return null;
        if (rule.value.type === FS.DST_PORT) match.destinationPorts = r;
        else if (rule.value.type === FS.SRC_PORT) match.sourcePorts = r;
        else match.packetLengths = r;
        break;
      }
      case FS.TCP_FLAGS: {
        const f = bitmask(Object.entries(TCP_FLAG_BITS), false);
        if (!f) return null;
        match.tcpFlags = f as TcpFlag[];
        break;
      }
      case FS.FRAGMENT: {
        const f = bitmask(Object.entries(FRAGMENT_BITS), true);
        if (!f) return null;
        match.fragments = f as FragmentFlag[];
        break;
      }
      default:
        return null;
    }
  }
  return destination ? { destination, match } : null;
}

const communityText = (n: number) => `${Math.floor(n / 65536)}:${n % 65536}`;

/** The intent a path in the speaker's RIB stands for, where an intent can say it. */
export function pathToIntent(path: Path): MitigationIntent | null {
  if (!path.nlri || !path.family) return null;
  const nlri = unpack(path.nlri);
  const attrs = path.pattrs.map(unpack);
  if (nlri.type === 'IPAddressPrefix') {
    const prefix = formatCidr(nlri.value.prefix, nlri.value.prefix_len);
    let nextHop: string | undefined;
    let communities: string[] = [];
    for (const a of attrs) {
      if (a.type === 'NextHopAttribute') nextHop = a.value.next_hop;
      else if (a.type === 'MpReachNLRIAttribute') nextHop = a.value.next_hops[0];
      else if (a.type === 'CommunitiesAttribute') communities = a.value.communities.map(communityText);
    }
    if (!prefix || !nextHop) return null;
    return { kind: 'blackhole', prefix, nextHop, communities };
  }
  if (nlri.type === 'FlowSpecNLRI') {
    const m = rulesToMatch(nlri.value.rules);
    if (!m) return null;
    let action: FlowAction | null = null;
    for (const a of attrs) {
      if (a.type !== 'ExtendedCommunitiesAttribute') continue;
      for (const ec of a.value.communities.map(unpack)) {
        if (ec.type !== 'TrafficRateExtended') continue;
        // float32 on the wire: round back to the whole bytes per second intents use.
        action = ec.value.rate === 0 ? { type: 'discard' } : { type: 'rate_limit', bytesPerSecond: Math.round(ec.value.rate) };
      }
    }
    if (!action) return null;
    return { kind: 'flowspec', destination: m.destination, match: m.match, action };
  }
  return null;
}

// ------------------------------------------------------------------ errors

// gobgpd reports its own refusals (bad attribute, unknown family...) as UNKNOWN with a
// plain message; only a few of those are about its state rather than the request.
const TRANSIENT_GOBGP_MESSAGES = /hasn't started|not started yet|shutting down|is not established/i;
const RETRYABLE_CODES = new Set<number>([
  GrpcStatus.UNAVAILABLE,
  GrpcStatus.DEADLINE_EXCEEDED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.ABORTED,
  GrpcStatus.CANCELLED,
]);

function toAdapterError(err: unknown, endpoint: string, what: string): AdapterError {
  if (err instanceof AdapterError) return err;
  if (isGrpcError(err)) {
    const detail = err.details || err.message;
    const retryable = RETRYABLE_CODES.has(err.code) || (err.code === GrpcStatus.UNKNOWN && TRANSIENT_GOBGP_MESSAGES.test(detail));
    return new AdapterError(`gobgpd at ${endpoint}: ${what} failed: ${detail} (${GrpcStatus[err.code]})`, retryable);
  }
  // Not from gRPC: the protos are missing (an install problem) or a local bug.
  return new AdapterError(`gobgp adapter: ${what} failed: ${(err as Error)?.message ?? String(err)}`, false);
}

// ------------------------------------------------------------------ the adapter

export function createGobgpAdapter(settings: AdapterSettings): MitigationAdapter {
  // settings.authToken is not used: gobgpd's gRPC API has no authentication of its own
  // (and no TLS in this adapter yet), so keep it on a private address or behind a proxy.
  let client: GobgpClient | null = null;
  // One channel per adapter instance, created on first use (so a missing proto install
  // surfaces as an AdapterError of the call, not as a throw from the registry), and again
  // after close() if the instance is still used.
  const api = (): GobgpClient => (client ??= createGobgpClient(settings.endpoint, { timeoutMs: settings.timeoutMs }));

  async function call<T>(what: string, fn: (c: GobgpClient) => Promise<T>): Promise<T> {
    try {
      return await fn(api());
    } catch (err) {
      throw toAdapterError(err, settings.endpoint, what);
    }
  }

  /** The client, protos loaded: test() starts its clock after this (the first load takes ~150 ms). */
  function ready(): void {
    try {
      api();
    } catch (err) {
      throw toAdapterError(err, settings.endpoint, 'loading the GoBGP API');
    }
  }

  /** Builds the path first: a refused intent must not look like a gRPC failure. */
  function pathOf(intent: MitigationIntent): PathInput {
    try {
      return intentToPath(intent);
    } catch (err) {
      throw toAdapterError(err, settings.endpoint, 'encoding the intent');
    }
  }

  return {
    async announce(intent) {
      const path = pathOf(intent);
      // AddPath of a path already there replaces it (implicit withdraw): idempotent.
      await call('AddPath', (c) => c.addPath(path));
    },
    async withdraw(intent) {
      const path = pathOf(intent);
      // gobgpd answers OK to DeletePath of a path it does not have: idempotent.
      await call('DeletePath', (c) => c.deletePath(path));
    },
    async test() {
      ready();
      const t0 = performance.now();
      const global = await call('GetBgp', (c) => c.getBgp());
      const latencyMs = performance.now() - t0;
      // Announcing into a speaker with no session reaches no router: say so.
      const peers = await call('ListPeer', (c) => c.listPeer());
      const up = peers.filter((p) => p.state?.session_state === 'ESTABLISHED').length;
      return { latencyMs, detail: `gobgpd AS ${global.asn} router-id ${global.router_id}, ${up}/${peers.length} peers established` };
    },
    async list() {
      const out: MitigationIntent[] = [];
      for (const family of Object.values(FAMILIES)) {
        const destinations = await call('ListPath', (c) => c.listPath({ table_type: 'GLOBAL', family }));
        for (const d of destinations) {
          for (const p of d.paths) {
            // Only what this speaker originates (AddPath), not what its peers send it.
            const local = p.neighbor_ip === '' || p.neighbor_ip === '<nil>';
            if (!local || p.is_withdraw) continue;
            const intent = pathToIntent(p);
            if (intent) out.push(intent);
          }
        }
      }
      return out;
    },
    async close() {
      client?.close();
      client = null;
    },
  };
}
