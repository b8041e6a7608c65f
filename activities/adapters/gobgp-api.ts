// A small typed client for GoBGP's v3 gRPC API (package apipb, service GobgpApi).
//
// The protos are not vendored: they must match the daemon's major version (v4 renamed the
// package and service and is not wire-compatible), so they are read at run time from what
// the machine has: $GOBGP_PROTO_DIR, Debian's golang-github-osrg-gobgp-dev, or the Go
// module cache. They are parsed once per process.
//
// NLRI and path attributes are google.protobuf.Any. @grpc/proto-loader cannot pack those
// from plain objects ("invalid empty type URL"), so pack()/unpack() encode and decode the
// inner messages with protobufjs against the same parsed protos.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

// gobgp.proto does not import attribute.proto (the Any fields only name it in comments),
// so all three are loaded explicitly.
const PROTO_FILES = ['gobgp.proto', 'attribute.proto', 'capability.proto'] as const;
const DEBIAN_PROTO_DIR = '/usr/share/gocode/src/github.com/osrg/gobgp/api';
const INSTALL_HINT =
  'install them with `apt-get install golang-github-osrg-gobgp-dev` (Debian/Ubuntu) or ' +
  '`go mod download github.com/osrg/gobgp/v3@v3.10.0`, or point GOBGP_PROTO_DIR at a directory holding ' +
  PROTO_FILES.join(', ');

// One set of conversion options for both gRPC messages and Any contents, so every object
// this module hands out has the same shape: snake_case fields, enums as their names,
// 64-bit integers as numbers (FlowSpec values and counters stay far below 2^53), unset
// scalars and lists filled in, unset sub-messages null.
const CONVERSION = { longs: Number, enums: String, defaults: true, arrays: true, oneofs: true } as const;

// ------------------------------------------------------------------ message shapes

/** google.protobuf.Any as it travels: the packed bytes of `type_url`'s message. */
export interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

export type AfiName = 'AFI_UNKNOWN' | 'AFI_IP' | 'AFI_IP6' | 'AFI_L2VPN' | 'AFI_LS' | 'AFI_OPAQUE';
export type SafiName =
  | 'SAFI_UNKNOWN'
  | 'SAFI_UNICAST'
  | 'SAFI_MULTICAST'
  | 'SAFI_MPLS_LABEL'
  | 'SAFI_ENCAPSULATION'
  | 'SAFI_VPLS'
  | 'SAFI_EVPN'
  | 'SAFI_LS'
  | 'SAFI_SR_POLICY'
  | 'SAFI_MUP'
  | 'SAFI_MPLS_VPN'
  | 'SAFI_MPLS_VPN_MULTICAST'
  | 'SAFI_ROUTE_TARGET_CONSTRAINTS'
  | 'SAFI_FLOW_SPEC_UNICAST'
  | 'SAFI_FLOW_SPEC_VPN'
  | 'SAFI_KEY_VALUE';

export interface Family {
  afi: AfiName;
  safi: SafiName;
}

export type TableType = 'GLOBAL' | 'LOCAL' | 'ADJ_IN' | 'ADJ_OUT' | 'VRF';

/** A path as AddPath and DeletePath take it. */
export interface PathInput {
  family: Family;
  nlri: AnyMessage;
  pattrs: AnyMessage[];
  is_withdraw?: boolean;
  identifier?: number;
}

export interface Timestamp {
  seconds: number;
  nanos: number;
}

/** A path as ListPath and WatchEvent return it. */
export interface Path {
  family: Family | null;
  nlri: AnyMessage | null;
  pattrs: AnyMessage[];
  age: Timestamp | null;
  best: boolean;
  is_withdraw: boolean;
  no_implicit_withdraw: boolean;
  source_asn: number;
  /** Router id of the peer the path came from; "" or "<nil>" for local paths. */
  source_id: string;
  /** Address of the peer the path came from; "" or "<nil>" for local paths. */
  neighbor_ip: string;
  filtered: boolean;
  stale: boolean;
  is_from_external: boolean;
  /** Set only on paths installed by AddPath. */
  uuid: Uint8Array;
  is_nexthop_invalid: boolean;
  identifier: number;
  local_identifier: number;
  /** The NLRI as on the wire; filled when ListPathRequest.enable_nlri_binary is set. */
  nlri_binary: Uint8Array;
  /** Each path attribute as on the wire (flags, type, length, value); with enable_attribute_binary. */
  pattrs_binary: Uint8Array[];
}

export interface Destination {
  /** GoBGP's text of the NLRI: the CIDR for unicast, "[destination: ...][protocol: ==udp]..." for FlowSpec. */
  prefix: string;
  paths: Path[];
}

export interface ListPathRequest {
  table_type?: TableType;
  /** Neighbor address for ADJ_IN / ADJ_OUT / LOCAL, VRF name for VRF. */
  name?: string;
  family: Family;
  prefixes?: Array<{ prefix: string; type?: 'EXACT' | 'LONGER' | 'SHORTER' }>;
  sort_type?: 'NONE' | 'PREFIX';
  enable_filtered?: boolean;
  /** Also return the wire encoding of each NLRI (Path.nlri_binary). */
  enable_nlri_binary?: boolean;
  /** Also return the wire encoding of each attribute (Path.pattrs_binary). */
  enable_attribute_binary?: boolean;
}

export interface GlobalConfig {
  asn: number;
  router_id: string;
  listen_port: number;
  listen_addresses: string[];
  families: number[];
  use_multiple_paths: boolean;
}

export type SessionState = 'UNKNOWN' | 'IDLE' | 'CONNECT' | 'ACTIVE' | 'OPENSENT' | 'OPENCONFIRM' | 'ESTABLISHED';

/** The parts of apipb.Peer this project reads. */
export interface Peer {
  conf: { neighbor_address: string; peer_asn: number; local_asn: number; description: string; admin_down: boolean } | null;
  state: {
    neighbor_address: string;
    peer_asn: number;
    local_asn: number;
    router_id: string;
    session_state: SessionState;
    admin_state: 'UP' | 'DOWN' | 'PFX_CT';
    flops: number;
  } | null;
}

export interface WatchEventRequest {
  /** Set (to {}) for peer state events. */
  peer?: Record<string, never>;
  /** BEST: the best path of each prefix changed (silent when a new path does not win). */
  table?: { filters: Array<{ type: 'BEST' | 'ADJIN' | 'POST_POLICY'; init: boolean }> };
}

export interface WatchEventResponse {
  /** Which oneof arm is set. */
  event?: 'peer' | 'table';
  peer: { type: 'UNKNOWN' | 'INIT' | 'END_OF_INIT' | 'STATE'; peer: Peer | null } | null;
  table: { paths: Path[] } | null;
}

// The Any payloads this project reads or writes (attribute.proto). Field names are the
// proto's own (snake_case); see pack()/unpack().
export interface FlowSpecComponentItem {
  /** Operator byte (numeric types) or operand byte (bitmask types); GoBGP fills in the length bits. */
  op: number;
  value: number;
}

export interface ApiMessages {
  IPAddressPrefix: { prefix_len: number; prefix: string };
  FlowSpecNLRI: { rules: AnyMessage[] };
  FlowSpecIPPrefix: { type: number; prefix_len: number; prefix: string; /** IPv6 only */ offset?: number };
  FlowSpecComponent: { type: number; items: FlowSpecComponentItem[] };
  OriginAttribute: { origin: number };
  AsPathAttribute: { segments: Array<{ type: 'UNKNOWN' | 'AS_SET' | 'AS_SEQUENCE' | 'AS_CONFED_SEQUENCE' | 'AS_CONFED_SET'; numbers: number[] }> };
  NextHopAttribute: { next_hop: string };
  MultiExitDiscAttribute: { med: number };
  LocalPrefAttribute: { local_pref: number };
  CommunitiesAttribute: { communities: number[] };
  LargeCommunitiesAttribute: { communities: Array<{ global_admin: number; local_data1: number; local_data2: number }> };
  ExtendedCommunitiesAttribute: { communities: AnyMessage[] };
  MpReachNLRIAttribute: { family: Family; next_hops: string[]; nlris: AnyMessage[] };
  MpUnreachNLRIAttribute: { family: Family; nlris: AnyMessage[] };
  TrafficRateExtended: { asn: number; /** bytes per second, an IEEE float32 on the wire */ rate: number };
  TrafficActionExtended: { terminal: boolean; sample: boolean };
  RedirectTwoOctetAsSpecificExtended: { asn: number; local_admin: number };
  TwoOctetAsSpecificExtended: { is_transitive: boolean; sub_type: number; asn: number; local_admin: number };
}

export type ApiTypeName = keyof ApiMessages;

/** A decoded Any: a known type with its typed value, or anything else as a plain object. */
export type Unpacked =
  | { [K in ApiTypeName]: { type: K; value: ApiMessages[K] } }[ApiTypeName]
  | { type: 'other'; typeName: string; value: Record<string, unknown> };

// ------------------------------------------------------------------ loading the protos

/** Where the v3 protos are; throws what to install when they are nowhere. */
export function findProtoDir(): string {
  const hasAll = (dir: string) => PROTO_FILES.every((f) => existsSync(join(dir, f)));
  const fromEnv = process.env.GOBGP_PROTO_DIR;
  if (fromEnv) {
    // An explicit setting wins; falling back silently would hide a typo.
    if (hasAll(fromEnv)) return fromEnv;
    throw new Error(`GOBGP_PROTO_DIR=${fromEnv} does not hold ${PROTO_FILES.join(', ')}; ${INSTALL_HINT}`);
  }
  if (hasAll(DEBIAN_PROTO_DIR)) return DEBIAN_PROTO_DIR;
  for (const dir of moduleCacheDirs()) if (hasAll(dir)) return dir;
  throw new Error(`GoBGP v3 protos not found (looked in ${DEBIAN_PROTO_DIR} and the Go module cache); ${INSTALL_HINT}`);
}

/** `<GOMODCACHE>/github.com/osrg/gobgp/v3@v3.*` api directories, newest version first. */
function moduleCacheDirs(): string[] {
  const caches = new Set<string>();
  for (const go of ['go', '/usr/local/go/bin/go']) {
    try {
      const out = execFileSync(go, ['env', 'GOMODCACHE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
      if (out) {
        caches.add(out);
        break;
      }
    } catch {
      /* this go is not installed: try the next */
    }
  }
  // Without a go binary, the cache may still be where go would put it.
  if (process.env.GOMODCACHE) caches.add(process.env.GOMODCACHE);
  caches.add(join(process.env.GOPATH ?? join(homedir(), 'go'), 'pkg', 'mod'));

  const found: Array<{ dir: string; version: number[] }> = [];
  for (const cache of caches) {
    const base = join(cache, 'github.com', 'osrg', 'gobgp');
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      // Release versions only; "v3@v3.10.0" -> [3, 10, 0].
      const m = /^v3@v(3)\.(\d+)\.(\d+)$/.exec(name);
      if (m) found.push({ dir: join(base, name, 'api'), version: m.slice(1).map(Number) });
    }
  }
  // Numeric, not lexical: v3.10.0 is newer than v3.9.0.
  found.sort((a, b) => b.version[1]! - a.version[1]! || b.version[2]! - a.version[2]!);
  return found.map((f) => f.dir);
}

export interface LoadedProtos {
  root: protobuf.Root;
  Client: grpc.ServiceClientConstructor;
  protoDir: string;
}
let loaded: LoadedProtos | null = null;

/** Parses the protos (once per process) and builds the service client class. */
export function loadGobgpProtos(): LoadedProtos {
  if (loaded) return loaded;
  const protoDir = findProtoDir();
  const root = new protobuf.Root();
  // attribute.proto imports "gobgp.proto" by bare name; google/protobuf/* come bundled with protobufjs.
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(protoDir, target));
  root.loadSync(
    PROTO_FILES.map((f) => join(protoDir, f)),
    { keepCase: true },
  );
  root.resolveAll();
  // The gRPC service definition comes from the same parse, so both sides agree on every type.
  const definition = protoLoader.fromJSON(root.toJSON(), { keepCase: true, ...CONVERSION });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { apipb?: { GobgpApi?: grpc.ServiceClientConstructor } };
  const Client = pkg.apipb?.GobgpApi;
  if (!Client) throw new Error(`${protoDir} has no apipb.GobgpApi service: these are not the GoBGP v3 protos; ${INSTALL_HINT}`);
  loaded = { root, Client, protoDir };
  return loaded;
}

// ------------------------------------------------------------------ Any

const TYPE_URL_PREFIX = 'type.googleapis.com/apipb.';

/** Encodes `value` as apipb.<type> inside an Any. */
export function pack<K extends ApiTypeName>(type: K, value: ApiMessages[K]): AnyMessage {
  const t = loadGobgpProtos().root.lookupType(`apipb.${type}`);
  // fromObject takes enum names and nested Any objects ({type_url, value}) as they are.
  return { type_url: TYPE_URL_PREFIX + type, value: t.encode(t.fromObject(value)).finish() };
}

/** Decodes an Any. Types outside ApiMessages come back as `{ type: 'other', typeName, value }`. */
export function unpack(any: AnyMessage): Unpacked {
  const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const { root } = loadGobgpProtos();
  const t = root.lookup(typeName);
  if (!(t instanceof protobuf.Type)) throw new Error(`unknown Any type ${any.type_url}`);
  // An all-defaults message (origin IGP, traffic-rate 0 from AS 0) encodes to no bytes.
  const value = t.toObject(t.decode(any.value ?? new Uint8Array()), CONVERSION);
  const short = typeName.startsWith('apipb.') ? typeName.slice('apipb.'.length) : '';
  if (short && Object.hasOwn(KNOWN_TYPES, short)) return { type: short, value } as Unpacked;
  return { type: 'other', typeName, value };
}

// Runtime list of ApiMessages' keys (the compiler checks it covers exactly those).
const KNOWN_TYPES: Record<ApiTypeName, true> = {
  IPAddressPrefix: true,
  FlowSpecNLRI: true,
  FlowSpecIPPrefix: true,
  FlowSpecComponent: true,
  OriginAttribute: true,
  AsPathAttribute: true,
  NextHopAttribute: true,
  MultiExitDiscAttribute: true,
  LocalPrefAttribute: true,
  CommunitiesAttribute: true,
  LargeCommunitiesAttribute: true,
  ExtendedCommunitiesAttribute: true,
  MpReachNLRIAttribute: true,
  MpUnreachNLRIAttribute: true,
  TrafficRateExtended: true,
  TrafficActionExtended: true,
  RedirectTwoOctetAsSpecificExtended: true,
  TwoOctetAsSpecificExtended: true,
};

// ------------------------------------------------------------------ the client

export type GrpcError = grpc.ServiceError;
export const GrpcStatus = grpc.status;

export function isGrpcError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'metadata' in err;
}

export interface GobgpClient {
  readonly endpoint: string;
  addPath(path: PathInput, opts?: { tableType?: TableType; vrfId?: string }): Promise<{ uuid: Uint8Array }>;
  /**
   * Withdraws this exact path (NLRI + family; attributes do not matter to GoBGP). There is
   * deliberately no way to call DeletePath without a path here: gobgpd then deletes EVERY
   * locally originated path.
   */
  deletePath(path: PathInput, opts?: { tableType?: TableType; vrfId?: string }): Promise<void>;
  /** The whole server stream, collected. */
  listPath(req: ListPathRequest): Promise<Destination[]>;
  getBgp(): Promise<GlobalConfig>;
  listPeer(address?: string): Promise<Peer[]>;
  /** A long-lived event stream (no deadline); `cancel()` ends it without reporting an error. */
  watchEvent(req: WatchEventRequest, on: { event(ev: WatchEventResponse): void; error?(err: Error): void }): { cancel(): void };
  close(): void;
}

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall;
type StreamMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<Res>;

/** The generated client's methods this module calls, with the message shapes above. */
interface RawClient extends grpc.Client {
  AddPath: UnaryMethod<{ table_type: TableType; vrf_id: string; path: PathInput }, { uuid: Uint8Array }>;
  DeletePath: UnaryMethod<{ table_type: TableType; vrf_id: string; family: Family; path: PathInput }, Record<string, never>>;
  GetBgp: UnaryMethod<Record<string, never>, { global: GlobalConfig | null }>;
  ListPath: StreamMethod<ListPathRequest, { destination: Destination | null }>;
  ListPeer: StreamMethod<{ address: string; enableAdvertised: boolean }, { peer: Peer | null }>;
  WatchEvent: StreamMethod<WatchEventRequest, WatchEventResponse>;
}

/** Accepts "host:port", "grpc://host:port" or "http://host:port" (as an endpoint may be stored). */
function grpcTarget(endpoint: string): string {
  return endpoint.trim().replace(/^(grpc|http|dns):\/\//i, '').replace(/\/+$/, '');
}

export function createGobgpClient(endpoint: string, opts: { timeoutMs?: number } = {}): GobgpClient {
  const { Client } = loadGobgpProtos();
  const timeoutMs = opts.timeoutMs ?? 5000;
  // One channel for the client's life: gRPC multiplexes calls over it and reconnects on
  // its own. Short reconnect backoff so a restarted gobgpd is usable again within about a
  // second (calls made while it is down fail at once with UNAVAILABLE).
  const raw = new Client(grpcTarget(endpoint), grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  }) as unknown as RawClient;

  const callOpts = (): grpc.CallOptions => ({ deadline: Date.now() + timeoutMs });
  const unary = <Req, Res>(method: UnaryMethod<Req, Res>, req: Req): Promise<Res> =>
    new Promise((resolve, reject) => {
      method.call(raw, req, new grpc.Metadata(), callOpts(), (err, res) => (err ? reject(err) : resolve(res as Res)));
    });
  const collect = <Res>(stream: grpc.ClientReadableStream<Res>): Promise<Res[]> =>
    new Promise((resolve, reject) => {
      const out: Res[] = [];
      stream.on('data', (msg: Res) => out.push(msg));
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
    });

  return {
    endpoint,
    async addPath(path, o = {}) {
      const res = await unary(raw.AddPath, { table_type: o.tableType ?? 'GLOBAL', vrf_id: o.vrfId ?? '', path });
      return { uuid: res.uuid };
    },
    async deletePath(path, o = {}) {
      if (!path?.nlri) throw new Error('deletePath needs a path (without one gobgpd deletes every local path)');
      await unary(raw.DeletePath, { table_type: o.tableType ?? 'GLOBAL', vrf_id: o.vrfId ?? '', family: path.family, path });
    },
    async listPath(req) {
      const msgs = await collect(raw.ListPath.call(raw, { table_type: 'GLOBAL', ...req }, new grpc.Metadata(), callOpts()));
      return msgs.flatMap((m) => (m.destination ? [m.destination] : []));
    },
    async getBgp() {
      const res = await unary(raw.GetBgp, {});
      if (!res.global) throw new Error('GetBgp answered without a global config');
      return res.global;
    },
    async listPeer(address = '') {
      const msgs = await collect(raw.ListPeer.call(raw, { address, enableAdvertised: false }, new grpc.Metadata(), callOpts()));
      return msgs.flatMap((m) => (m.peer ? [m.peer] : []));
    },
    watchEvent(req, on) {
      const stream = raw.WatchEvent.call(raw, req, new grpc.Metadata(), {});
      let cancelled = false;
      stream.on('data', (ev: WatchEventResponse) => on.event(ev));
      stream.on('error', (err: Error) => {
        if (!cancelled) on.error?.(err);
      });
      return {
        cancel() {
          cancelled = true;
          stream.cancel();
        },
      };
    },
    close: () => raw.close(),
  };
}

// ------------------------------------------------------------------ FlowSpec text

const FLOWSPEC_TYPE_NAMES: Record<number, string> = {
  1: 'destination',
  2: 'source',
  3: 'protocol',
  4: 'port',
  5: 'destination-port',
  6: 'source-port',
  7: 'icmp-type',
  8: 'icmp-code',
  9: 'tcp-flags',
  10: 'packet-length',
  11: 'dscp',
  12: 'fragment',
  13: 'label',
};
const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 8: 'egp', 9: 'igp', 17: 'udp', 46: 'rsvp', 47: 'gre', 89: 'ospf', 94: 'ipip', 103: 'pim', 132: 'sctp' };
const NUMERIC_CMP = ['true', '==', '>', '>=', '<', '<=', '!=', 'false'];
const TCP_FLAG_LETTERS: Array<[number, string]> = [[0x01, 'F'], [0x02, 'S'], [0x04, 'R'], [0x08, 'P'], [0x10, 'A'], [0x20, 'U'], [0x40, 'E'], [0x80, 'C']];
const FRAGMENT_NAMES: Array<[number, string]> = [[0x01, 'dont-fragment'], [0x02, 'is-fragment'], [0x04, 'first-fragment'], [0x08, 'last-fragment']];

/**
 * A FlowSpec NLRI as gobgpd prints it (its FlowSpecNLRI.String(): the Destination.prefix
 * of ListPath and the `gobgp global rib -a ipv4-flowspec` column), e.g.
 * "[destination: 203.0.113.50/32][protocol: ==udp][source-port: ==53]". WatchEvent paths
 * carry no such text, so watchers rebuild it here to compare with ListPath's.
 */
export function flowSpecText(rules: AnyMessage[]): string {
  return rules
    .map((any) => {
      const rule = unpack(any);
      if (rule.type === 'FlowSpecIPPrefix') {
        const name = FLOWSPEC_TYPE_NAMES[rule.value.type] ?? `type-${rule.value.type}`;
        // gobgpd prints an IPv6 prefix with its offset: "2001:db8::1/128/0".
        const v6 = rule.value.prefix.includes(':');
        return `[${name}: ${rule.value.prefix}/${rule.value.prefix_len}${v6 ? `/${rule.value.offset ?? 0}` : ''}]`;
      }
      if (rule.type !== 'FlowSpecComponent') return `[${rule.type === 'other' ? rule.typeName : rule.type}]`;
      const { type, items } = rule.value;
      const text = items
        .map(({ op, value }) => {
          const logic = op & 0x40 ? '&' : ' ';
          if (type === 9 || type === 12) {
            // Bitmask operand: NOT is 0x02, MATCH is 0x01.
            const bits = type === 9 ? TCP_FLAG_LETTERS : FRAGMENT_NAMES;
            const names = bits.filter(([bit]) => value & bit).map(([, n]) => n);
            return `${logic}${op & 0x02 ? '!' : ''}${op & 0x01 ? '=' : ''}${names.join(type === 9 ? '' : '+')}`;
          }
          const cmp = op & 0x07;
          if (cmp === 0 || cmp === 7) return `${logic}${NUMERIC_CMP[cmp]}`;
          return `${logic}${NUMERIC_CMP[cmp]}${type === 3 ? (PROTOCOL_NAMES[value] ?? String(value)) : String(value)}`;
        })
        .join('')
        .trim();
      return `[${FLOWSPEC_TYPE_NAMES[type] ?? `type-${type}`}: ${text}]`;
    })
    .join('');
}
