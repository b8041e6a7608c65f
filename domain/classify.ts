// Classifies a packet sample (domain/pcap.ts): attack (family, subtype and the narrowest
// FlowSpec match that covers it), benign (service traffic: flows the host answers) or
// inconclusive, with the reasons an operator reads and the forensic figures (top sources,
// destination ports, packet sizes). Both directions are used when the sample holds them:
// packets from the victim are the host's replies.
import type { AmplificationVector, AttackFamily, AttackSignature, Classification, Counted, Verdict } from './attack.js';
import type { FlowMatchRequest } from './build-intent.js';
import type { NumRange, TcpFlag } from './intent.js';
import { TCP, type Packet } from './pcap.js';

export interface ClassifyOptions {
  /** The attacked host. Without it every packet counts as inbound and no reply can be seen. */
  victim?: string;
  topN?: number;
  /** Ports the host serves (TCP or UDP); without them, the ports it is seen answering from. */
  listeningPorts?: readonly number[];
}

const ascii = (p: Buffer, n: number) => p.subarray(0, n).toString('latin1');

/**
 * Reflector source ports, and what a genuine reply of each protocol starts with. A reply
 * counts as a reflection only when the host never sent to that reflector in the sample.
 */
const REFLECTORS: Record<number, { vector: AmplificationVector; reply: (p: Buffer) => boolean }> = {
  53: { vector: 'dns', reply: (p) => p.length >= 12 && (p[2]! & 0x80) !== 0 }, // QR: a response
  123: { vector: 'ntp', reply: (p) => p.length >= 4 && [4, 7].includes(p[0]! & 0x07) }, // server reply or mode 7 (monlist)
  1900: { vector: 'ssdp', reply: (p) => /^HTTP\/1\.1 200|LOCATION:|ST:/i.test(ascii(p, 256)) },
  11211: { vector: 'memcached', reply: (p) => p[0] === 0x81 || /^(VALUE |STAT )/.test(ascii(p, 8)) || /^(VALUE |STAT )/.test(ascii(p.subarray(8), 8)) }, // binary, or text after the 8-byte UDP frame header
  389: { vector: 'cldap', reply: (p) => p[0] === 0x30 }, // BER SEQUENCE of an LDAPMessage
  19: { vector: 'chargen', reply: (p) => p.length >= 8 && p.subarray(0, 8).every((b) => b >= 0x20 && b < 0x7f) },
  161: { vector: 'snmp', reply: (p) => p[0] === 0x30 && p.subarray(0, 64).includes(0xa2) }, // GetResponse PDU
  3702: { vector: 'ws_discovery', reply: (p) => /<\?xml|Envelope/.test(ascii(p, 512)) },
  // Binding success response (class bits 10) with the RFC 5389 magic cookie.
  3478: { vector: 'stun', reply: (p) => p.length >= 20 && (p.readUInt16BE(0) & 0xc110) === 0x0100 && p.readUInt32BE(4) === 0x2112a442 },
  // SLPv2 reply functions: SrvRply 2, AttrRply 7, SrvTypeRply 10, DAAdvert 8, SAAdvert 11.
  427: { vector: 'slp', reply: (p) => p.length >= 14 && p[0] === 2 && [2, 7, 8, 10, 11].includes(p[1]!) },
  // CoAP version 1, a response code (class 2, 4 or 5).
  5683: { vector: 'coap', reply: (p) => p.length >= 4 && p[0]! >> 6 === 1 && [2, 4, 5].includes(p[1]! >> 5) },
  // ARMS answers a 5-byte probe with a fixed ~1 KB status record; no public byte layout, so its size is the signature.
  3283: { vector: 'ard', reply: (p) => p.length >= 900 },
  // OpenVPN server opcodes: P_CONTROL_HARD_RESET_SERVER_V1/V2 (2, 8), P_CONTROL_V1 (4), P_ACK_V1 (5).
  1194: { vector: 'openvpn', reply: (p) => p.length >= 14 && [2, 4, 5, 8].includes(p[0]! >> 3) },
  5353: { vector: 'mdns', reply: (p) => p.length >= 12 && (p[2]! & 0x80) !== 0 },
  137: { vector: 'netbios', reply: (p) => p.length >= 12 && (p[2]! & 0x80) !== 0 }, // NBNS response (QR)
  // RDPUDP SYN+ACK: uFlags (offset 6) carries RDPUDP_FLAG_SYN and RDPUDP_FLAG_ACK.
  3389: { vector: 'rdp', reply: (p) => p.length >= 8 && (p.readUInt16BE(6) & 0x0005) === 0x0005 },
  69: { vector: 'tftp', reply: (p) => p.length >= 4 && p[0] === 0 && (p[1] === 3 || p[1] === 5) }, // DATA or ERROR
  // Discovery reply: version 1 or 2, then a TLV length that fits the datagram.
  10001: { vector: 'ubiquiti', reply: (p) => p.length >= 8 && (p[0] === 1 || p[0] === 2) && p.readUInt16BE(2) > 0 && p.readUInt16BE(2) + 4 <= p.length + 2048 },
  5060: { vector: 'sip', reply: (p) => ascii(p, 8) === 'SIP/2.0 ' },
  // A QUIC long header from a server: Initial/Handshake/Retry (fixed bit set) or Version Negotiation (version 0).
  443: { vector: 'quic', reply: (p) => p.length >= 7 && (p[0]! & 0x80) !== 0 && ((p[0]! & 0x40) !== 0 || p.readUInt32BE(1) === 0) },
  // ONC RPC: msg_type REPLY (1) after the xid.
  111: { vector: 'portmap', reply: (p) => p.length >= 12 && p.readUInt32BE(4) === 1 && p.readUInt32BE(8) <= 1 },
  // SQL Server Resolution Protocol SVR_RESP: 0x05, a length, "ServerName;...".
  1434: { vector: 'mssql', reply: (p) => p.length >= 3 && p[0] === 0x05 && /ServerName/i.test(ascii(p, 64)) },
};
const VECTOR_INDEX = new Map<AmplificationVector, number>();
const VECTORS: AmplificationVector[] = [];
for (const r of Object.values(REFLECTORS)) if (!VECTOR_INDEX.has(r.vector)) VECTOR_INDEX.set(r.vector, VECTORS.push(r.vector) - 1);

/** Game servers' UDP ports (Source/Steam, Unreal, Bedrock, Xbox Live, TeamSpeak, Rust, Arma, Mumble). */
const GAME_PORTS: Array<[number, number]> = [[27000, 27050], [7777, 7800], [19132, 19133], [3074, 3074], [9987, 9987], [28015, 28016], [2302, 2305], [64738, 64738]];
const isGamePort = (p: number) => GAME_PORTS.some(([a, b]) => p >= a && p <= b);
const WEB_PORTS = new Set([80, 443, 8080, 8443]);
/** Ports a reflector's RST or SYN-ACK comes from: services, not clients' ephemeral ports. */
const isServicePort = (p: number) => p < 1024 || WEB_PORTS.has(p);

const PROTOCOL_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'icmpv6', 132: 'sctp' };
const protoName = (n: number) => PROTOCOL_NAMES[n] ?? `proto_${n}`;

/** What one inbound packet is. Below ATTACK: service traffic or undecided; from it: a candidate attack vector. */
const K = {
  NONE: 0,
  EST: 1, // TCP on a flow the host answers
  UDP_OK: 2, // UDP on a flow the host answers or asked for
  ICMP_OK: 3, // replies to the host's own pings
  SVC: 4, // one-way sample: payload-bearing segments of multi-packet flows to a service port
  UNSURE: 5, // one-way sample: bare-ACK flows of several packets, which downloads and floods both make
  ATTACK: 10,
  SYN: 10,
  ACK: 11,
  RST: 12,
  FLAGS: 13,
  SYNACK: 14,
  RSTREFL: 15,
  UDP: 16,
  GAME: 17,
  AMP: 18,
  DNSQ: 19,
  DNSRANDOM: 20,
  ICMP: 21,
  HTTP: 22,
  PROTO: 23,
  FRAG: 24,
  COUNT: 25,
} as const;

/** Vectors that ordinary traffic does not produce: a smaller share of the sample names them. */
const STRONG = new Set<number>([K.SYNACK, K.RSTREFL, K.AMP, K.DNSRANDOM, K.PROTO, K.FRAG, K.FLAGS]);
const STRONG_SHARE = 0.08;
const WEAK_SHARE = 0.2;
/** Below this share a weak vector is the noise ordinary traffic makes (clients' lost SYNs, flows cut by the sample's edges). */
const NOISE_SHARE = 0.06;
const BENIGN_SHARE = 0.6;

/** An HTTP flood: sources sending at least this many small requests a second, answered with little. */
const HTTP_RATE_PER_SOURCE = 5;
const HTTP_MAX_BYTES_PER_REQUEST = 4000;
const HTTP_MAX_REQUEST_BYTES = 1000;

const SIZE_BUCKETS: Array<[string, number]> = [
  ['0-63', 64],
  ['64-127', 128],
  ['128-255', 256],
  ['256-511', 512],
  ['512-1023', 1024],
  ['1024-1279', 1280],
  ['1280-1499', 1500],
  ['1500+', Infinity],
];

function top<T>(counts: Map<T, number>, n: number): Counted<T>[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([value, packets]) => ({ value, packets }));
}

const bump = <T>(m: Map<T, number>, k: T, by = 1) => m.set(k, (m.get(k) ?? 0) + by);
const pct = (x: number) => `${Math.round(x * 100)} %`;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** The TCP payload a segment carries, estimated from the IP total length (the header's options are not decoded: 12 bytes of timestamps assumed). */
function tcpPayload(p: Packet): number {
  const ip = p.ip!;
  return Math.max(0, ip.totalLength - (ip.version === 4 ? 20 : 40) - 20 - 12);
}

/** The query name of a DNS query (QR clear), lower-cased, or null. */
function dnsQueryName(b: Buffer): string | null {
  if (b.length < 17 || (b[2]! & 0x80) !== 0 || b.readUInt16BE(4) === 0) return null;
  let o = 12;
  let name = '';
  for (let guard = 0; guard < 64 && o < b.length; guard++) {
    const len = b[o]!;
    if (len === 0) return name || null;
    if (len > 63 || o + 1 + len > b.length) return null;
    name += (name ? '.' : '') + b.toString('latin1', o + 1, o + 1 + len).toLowerCase();
    o += 1 + len;
  }
  return null;
}

/** "a.b.example.com" -> "example.com". */
function baseDomain(name: string): string {
  const last = name.lastIndexOf('.');
  if (last < 0) return name;
  const prev = name.lastIndexOf('.', last - 1);
  return prev < 0 ? name : name.slice(prev + 1);
}

interface Vector {
  kind: number;
  /** Amplification vector index, or the IP protocol (PROTO, FRAG). */
  aux: number;
  packets: number;
}

function vectorName(v: Vector): { family: AttackFamily; subtype: string | null } {
  switch (v.kind) {
    case K.SYN:
      return { family: 'syn_flood', subtype: null };
    case K.ACK:
      return { family: 'tcp_flood', subtype: 'ack' };
    case K.RST:
      return { family: 'tcp_flood', subtype: 'rst' };
    case K.FLAGS:
      return { family: 'tcp_flood', subtype: null };
    case K.SYNACK:
      return { family: 'tcp_flood', subtype: 'syn_ack_reflection' };
    case K.RSTREFL:
      return { family: 'tcp_flood', subtype: 'rst_reflection' };
    case K.UDP:
      return { family: 'udp_flood', subtype: null };
    case K.GAME:
      return { family: 'udp_flood', subtype: 'game' };
    case K.AMP:
      return { family: 'udp_flood', subtype: `${VECTORS[v.aux]}_amplification` };
    case K.DNSQ:
      return { family: 'dns_flood', subtype: null };
    case K.DNSRANDOM:
      return { family: 'dns_flood', subtype: 'random_subdomain' };
    case K.ICMP:
      return { family: 'icmp_flood', subtype: null };
    case K.HTTP:
      return { family: 'http_flood', subtype: null };
    case K.PROTO:
      return { family: 'protocol_flood', subtype: protoName(v.aux) };
    default:
      return { family: 'fragment_flood', subtype: protoName(v.aux) };
  }
}

export function classify(packets: Packet[], opts: ClassifyOptions = {}): Classification {
  const n = opts.topN ?? 10;
  const victim = opts.victim;
  const listening = opts.listeningPorts ? new Set(opts.listeningPorts) : null;

  // Pass 1: what the host sent (its replies, and what it asked for), and the inbound packets.
  const answered = new Set<string>(); // remote ip:port the host sent TCP data or ACKs to
  const synAcked = new Set<string>(); // remote ip:port the host sent a SYN-ACK to
  const hostAsked = new Set<string>(); // remote ip:port the host opened (SYN) or sent UDP to
  const hostPinged = new Set<string>();
  const protoTalked = new Set<string>(); // remote ip/proto for other IP protocols
  const answeringPorts = new Set<number>();
  const bytesTo = new Map<string, number>(); // TCP bytes the host sent back from web ports, per client
  let outPackets = 0;
  let outBytes = 0;
  let outLarge = 0;
  const inbound: Packet[] = [];
  for (const p of packets) {
    const ip = p.ip;
    if (!ip) continue;
    if (victim !== undefined && ip.src === victim) {
      outPackets++;
      outBytes += ip.totalLength;
      if (p.tcp) {
        const key = `${ip.dst}:${p.tcp.dstPort}`;
        const f = p.tcp.flags;
        if (f & TCP.RST) continue;
        if (f & TCP.SYN) {
          if (f & TCP.ACK) {
            synAcked.add(key);
            answeringPorts.add(p.tcp.srcPort);
          } else hostAsked.add(key);
          continue;
        }
        answered.add(key);
        answeringPorts.add(p.tcp.srcPort);
        if (ip.totalLength >= 1000) outLarge++;
        if (WEB_PORTS.has(p.tcp.srcPort)) bump(bytesTo, ip.dst, ip.totalLength);
      } else if (p.udp) {
        hostAsked.add(`${ip.dst}:${p.udp.dstPort}`);
        answeringPorts.add(p.udp.srcPort);
      } else if (p.icmp) {
        if (p.icmp.type === 8 || p.icmp.type === 128) hostPinged.add(ip.dst);
      } else protoTalked.add(`${ip.dst}/${ip.protocol}`);
      continue;
    }
    if (victim !== undefined && ip.dst !== victim) continue;
    inbound.push(p);
  }
  const twoWay = outPackets > 0;
  const servicePorts = listening ?? answeringPorts;

  const count = inbound.length;
  const kind = new Uint8Array(count);
  const aux = new Uint16Array(count);
  const keys: string[] = new Array(count);
  // Inbound ACKs on flows the host SYN-ACKed: the handshake completed.
  const completed = new Set<string>();
  const flowPackets = new Map<string, number>();
  const flowPayload = new Set<string>();
  const sources = new Map<string, number>();
  const ports = new Map<number, number>();
  const sizes = Object.fromEntries(SIZE_BUCKETS.map(([k]) => [k, 0]));
  const mix = { tcp: 0, udp: 0, icmp: 0, other: 0 };
  let bytes = 0;
  let minTs = Infinity;
  let maxTs = -Infinity;
  for (let i = 0; i < count; i++) {
    const p = inbound[i]!;
    const ip = p.ip!;
    bytes += p.length;
    if (p.tsMs < minTs) minTs = p.tsMs;
    if (p.tsMs > maxTs) maxTs = p.tsMs;
    bump(sources, ip.src);
    const port = p.udp?.dstPort ?? p.tcp?.dstPort;
    if (port !== undefined) bump(ports, port);
    let b = 0;
    while (ip.totalLength >= SIZE_BUCKETS[b]![1]) b++;
    sizes[SIZE_BUCKETS[b]![0]]!++;
    if (ip.protocol === 6) mix.tcp++;
    else if (ip.protocol === 17) mix.udp++;
    else if (ip.protocol === 1 || ip.protocol === 58) mix.icmp++;
    else mix.other++;
    if (p.tcp) {
      const key = `${ip.src}:${p.tcp.srcPort}`;
      keys[i] = key;
      const f = p.tcp.flags;
      if (!(f & (TCP.SYN | TCP.RST)) && f & TCP.ACK && synAcked.has(key)) completed.add(key);
      bump(flowPackets, key);
      if (!(f & (TCP.SYN | TCP.RST)) && tcpPayload(p) > 0) flowPayload.add(key);
    }
  }
  const established = (key: string) => answered.has(key) || completed.has(key);

  // Pass 2: each inbound packet's kind.
  const firstFragment = new Map<string, { kind: number; aux: number }>(); // source -> what its first fragments were
  const dnsNames = new Map<string, Set<string>>(); // base domain -> query names
  const dnsQueries = new Map<string, number>();
  const queryDomain: Array<string | undefined> = new Array(count);
  const webRequests = new Map<string, number>(); // source -> payload-bearing segments to web ports on established flows
  let webRequestBytes = 0;
  let laterFragments = 0;
  for (let i = 0; i < count; i++) {
    const p = inbound[i]!;
    const ip = p.ip!;
    let k: number = K.NONE;
    if (ip.laterFragment) {
      laterFragments++;
      continue; // resolved below, from their source's first fragments
    }
    if (p.tcp) {
      const key = keys[i]!;
      const f = p.tcp.flags;
      const est = established(key);
      if (f & TCP.SYN) k = f & TCP.ACK ? (hostAsked.has(key) ? K.EST : K.SYNACK) : est ? K.EST : K.SYN;
      else if (f & TCP.RST) k = est || hostAsked.has(key) || synAcked.has(key) ? K.EST : isServicePort(p.tcp.srcPort) && p.tcp.dstPort >= 1024 ? K.RSTREFL : K.RST;
      else if (!(f & TCP.ACK)) k = K.FLAGS; // FIN, NULL, XMAS scans and floods: no ACK outside the handshake is invalid
      else if (est || hostAsked.has(key)) k = K.EST;
      else if (!twoWay && flowPackets.get(key)! >= 2 && (servicePorts.size === 0 || servicePorts.has(p.tcp.dstPort) || WEB_PORTS.has(p.tcp.dstPort)))
        k = flowPayload.has(key) ? K.SVC : K.UNSURE;
      else k = K.ACK;
      if (k === K.EST && WEB_PORTS.has(p.tcp.dstPort) && !(f & (TCP.SYN | TCP.RST)) && tcpPayload(p) > 0) {
        bump(webRequests, ip.src);
        webRequestBytes += tcpPayload(p);
      }
    } else if (p.udp) {
      const key = `${ip.src}:${p.udp.srcPort}`;
      const asked = hostAsked.has(key);
      const r = REFLECTORS[p.udp.srcPort];
      if (!asked && r && r.reply(p.udp.payload)) {
        k = K.AMP;
        aux[i] = VECTOR_INDEX.get(r.vector)!;
      } else if (p.udp.dstPort === 53 && p.udp.srcPort !== 53) {
        const name = dnsQueryName(p.udp.payload);
        if (name !== null) {
          const d = baseDomain(name);
          queryDomain[i] = d;
          let names = dnsNames.get(d);
          if (!names) dnsNames.set(d, (names = new Set()));
          names.add(name);
          bump(dnsQueries, d);
        }
        k = asked ? K.UDP_OK : K.DNSQ;
      } else if (asked) k = K.UDP_OK;
      else if (isGamePort(p.udp.dstPort) && p.udp.payload.length <= 200 && ip.totalLength <= 256) k = K.GAME;
      else k = K.UDP;
    } else if (p.icmp) {
      k = (p.icmp.type === 0 || p.icmp.type === 129) && hostPinged.has(ip.src) ? K.ICMP_OK : K.ICMP;
    } else if (ip.protocol !== 6 && ip.protocol !== 17 && ip.protocol !== 1 && ip.protocol !== 58) {
      k = protoTalked.has(`${ip.src}/${ip.protocol}`) ? K.UDP_OK : K.PROTO;
      aux[i] = ip.protocol;
    } else k = K.NONE; // a TCP/UDP/ICMP header cut by the snaplen
    // A flood of fragmented datagrams is a fragment flood, whatever they carry; fragmented
    // replies of a reflection stay the reflection.
    if (ip.fragment && k >= K.ATTACK && k !== K.AMP && k !== K.DNSRANDOM && k !== K.DNSQ) {
      k = K.FRAG;
      aux[i] = ip.protocol;
    }
    kind[i] = k;
    if (ip.fragment) firstFragment.set(ip.src, { kind: k, aux: aux[i]! });
  }
  if (laterFragments > 0) {
    for (let i = 0; i < count; i++) {
      const ip = inbound[i]!.ip!;
      if (!ip.laterFragment) continue;
      const first = firstFragment.get(ip.src);
      if (first !== undefined) {
        kind[i] = first.kind;
        aux[i] = first.kind === K.AMP ? first.aux : ip.protocol;
      } else {
        kind[i] = K.FRAG;
        aux[i] = ip.protocol;
      }
    }
  }

  // DNS water torture: many queries for names that never repeat, under one domain.
  let randomDomain: { domain: string; queries: number; names: number } | null = null;
  for (const [d, q] of dnsQueries) {
    const names = dnsNames.get(d)!.size;
    if (q >= 30 && names / q >= 0.7 && (!randomDomain || q > randomDomain.queries)) randomDomain = { domain: d, queries: q, names };
  }
  if (randomDomain) for (let i = 0; i < count; i++) if (queryDomain[i] === randomDomain.domain) kind[i] = K.DNSRANDOM;

  // HTTP flood, as far as L3/L4 tells: sources completing handshakes and sending small
  // requests at a high rate each, answered with little (a flash crowd downloads a lot).
  const seconds = Math.max(0.001, (maxTs - minTs) / 1000);
  let http: { sources: number; requests: number; perSource: number; bytesPerRequest: number } | null = null;
  {
    let fast = 0;
    let fastRequests = 0;
    let fastBytes = 0;
    for (const [src, r] of webRequests) {
      if (r / seconds >= HTTP_RATE_PER_SOURCE && r >= 5) {
        fast++;
        fastRequests += r;
        fastBytes += bytesTo.get(src) ?? 0;
      }
    }
    const bytesPerRequest = fastRequests > 0 ? fastBytes / fastRequests : 0;
    let allRequests = 0;
    for (const r of webRequests.values()) allRequests += r;
    // Requests are small: uploads (full segments answered by bare ACKs) are not requests.
    const requestSize = allRequests > 0 ? webRequestBytes / allRequests : 0;
    if (fast >= 5 && requestSize <= HTTP_MAX_REQUEST_BYTES && bytesPerRequest <= HTTP_MAX_BYTES_PER_REQUEST) {
      http = { sources: fast, requests: fastRequests, perSource: fastRequests / fast / seconds, bytesPerRequest };
      for (let i = 0; i < count; i++) {
        const p = inbound[i]!;
        if (kind[i] === K.EST && p.tcp && WEB_PORTS.has(p.tcp.dstPort) && (webRequests.get(p.ip!.src) ?? 0) / seconds >= HTTP_RATE_PER_SOURCE) kind[i] = K.HTTP;
      }
    }
  }

  // Tally.
  const byKind = new Uint32Array(K.COUNT);
  const byAmp = new Uint32Array(VECTORS.length);
  const byProto = new Uint32Array(256);
  const byFrag = new Uint32Array(256);
  for (let i = 0; i < count; i++) {
    const k = kind[i]!;
    byKind[k]!++;
    if (k === K.AMP) byAmp[aux[i]!]!++;
    else if (k === K.PROTO) byProto[aux[i]!]!++;
    else if (k === K.FRAG) byFrag[aux[i]!]!++;
  }
  const vectors: Vector[] = [];
  for (let k: number = K.ATTACK; k < K.COUNT; k++) {
    if (k === K.AMP) VECTORS.forEach((_, a) => byAmp[a] && vectors.push({ kind: k, aux: a, packets: byAmp[a]! }));
    else if (k === K.PROTO || k === K.FRAG) {
      const table = k === K.PROTO ? byProto : byFrag;
      for (let a = 0; a < 256; a++) if (table[a]) vectors.push({ kind: k, aux: a, packets: table[a]! });
    } else if (byKind[k]) vectors.push({ kind: k, aux: 0, packets: byKind[k]! });
  }
  vectors.sort((a, b) => b.packets - a.packets);
  const share = (c: number) => (count > 0 ? c / count : 0);
  const benignPackets = byKind[K.EST]! + byKind[K.UDP_OK]! + byKind[K.ICMP_OK]! + byKind[K.SVC]!;
  const named = vectors.filter((v) => v.packets >= 20 && share(v.packets) >= (STRONG.has(v.kind) ? STRONG_SHARE : WEAK_SHARE));

  let verdict: Verdict;
  let family: AttackFamily = 'unknown';
  let subtype: string | null = null;
  let confidence: number;
  let chosen: Vector[] = [];
  const reasons: string[] = [];
  if (named.length > 0) {
    verdict = 'attack';
    // Beside a named vector, another carrying a quarter as much and 8 % of the sample is part of the attack.
    const also = vectors.filter((v) => !named.includes(v) && v.packets >= 20 && share(v.packets) >= STRONG_SHARE && v.packets >= 0.25 * named[0]!.packets);
    const all = [...named, ...also].sort((a, b) => b.packets - a.packets);
    const total = all.reduce((s, v) => s + v.packets, 0);
    chosen = all.filter((v) => v.packets >= 0.25 * total);
    const names = chosen.map(vectorName);
    const families = [...new Set(names.map((x) => x.family))];
    if (families.length >= 2) {
      family = 'multi_vector';
      subtype = families.join('+');
    } else {
      family = families[0]!;
      const subs = [...new Set(names.map((x) => x.subtype).filter((s): s is string => s !== null))];
      subtype = subs.length > 0 ? subs.join('+') : null;
    }
    confidence = share(chosen.reduce((s, v) => s + v.packets, 0));
    for (const v of chosen) reasons.push(vectorReason(v, count, inbound, kind, aux, http, randomDomain));
  } else if (count > 0 && share(benignPackets) >= BENIGN_SHARE && share(count - benignPackets - byKind[K.UNSURE]! - byKind[K.NONE]!) < NOISE_SHARE * 1.5 && (vectors.length === 0 || share(vectors[0]!.packets) < NOISE_SHARE)) {
    verdict = 'benign';
    confidence = share(benignPackets);
  } else {
    verdict = 'inconclusive';
    confidence = Math.max(share(benignPackets), vectors.length > 0 ? share(vectors[0]!.packets) : 0);
    if (count === 0) reasons.push('the sample holds no packets to the host');
    else if (vectors.length > 0) {
      const v = vectors[0]!;
      const { family: f, subtype: s } = vectorName(v);
      reasons.push(`${pct(share(v.packets))} of inbound packets look like ${s ? `${f} (${s})` : f}: too few to name an attack`);
    }
  }
  if (count > 0) reasons.push(...serviceReasons());

  function serviceReasons(): string[] {
    const out: string[] = [];
    const tcpIn = mix.tcp;
    const est = byKind[K.EST]! + byKind[K.HTTP]!;
    if (!twoWay) out.push('the sample holds no packets from the host: its replies could not be checked');
    else if (tcpIn > 0) out.push(`${pct(est / tcpIn)} of inbound TCP belongs to flows the host answers`);
    if (twoWay && outPackets > 0 && outLarge / outPackets >= 0.3) out.push(`the host sent ${outPackets} packets back, ${pct(outLarge / outPackets)} of them data segments of 1000 bytes or more (downloads)`);
    if (byKind[K.UDP_OK]) out.push(`${pct(share(byKind[K.UDP_OK]!))} of inbound packets are replies to the host or on flows it answers (UDP, other protocols)`);
    if (byKind[K.SVC]) out.push(`${pct(share(byKind[K.SVC]!))} of inbound packets are payload-bearing segments of multi-packet flows to ports the host serves`);
    if (byKind[K.UNSURE]) out.push(`${pct(share(byKind[K.UNSURE]!))} of inbound packets are bare ACKs of multi-packet flows: downloads or a flood, the host's side is missing`);
    const topSrc = top(sources, 1)[0];
    out.push(`${sources.size} sources, ${(count / sources.size).toFixed(1)} packets each on average, the busiest sending ${pct(share(topSrc!.packets))}`);
    const served = [...servicePorts].sort((a, b) => a - b).slice(0, 8);
    if (served.length > 0) out.push(`ports the host ${listening ? 'serves' : 'answers from'}: ${served.join(', ')}${servicePorts.size > 8 ? ', ...' : ''}`);
    return out;
  }

  const signature = verdict === 'attack' ? signatureFor(inbound, kind, aux, chosen) : null;
  if (verdict === 'attack' && !signature) reasons.push('no FlowSpec match narrower than all traffic to the host covers the attack');

  return {
    family,
    subtype,
    confidence: round3(confidence),
    verdict,
    reasons,
    signature,
    packets: count,
    bytes,
    topSources: top(sources, n),
    topDestinationPorts: top(ports, n),
    sizeHistogram: sizes,
    protocolMix: { tcp: share(mix.tcp), udp: share(mix.udp), icmp: share(mix.icmp), other: share(mix.other) },
  };
}

function vectorReason(
  v: Vector,
  count: number,
  inbound: Packet[],
  kind: Uint8Array,
  aux: Uint16Array,
  http: { sources: number; perSource: number; bytesPerRequest: number } | null,
  randomDomain: { domain: string; queries: number; names: number } | null,
): string {
  const srcs = new Set<string>();
  for (let i = 0; i < kind.length; i++) if (kind[i] === v.kind && (v.kind !== K.AMP && v.kind !== K.PROTO && v.kind !== K.FRAG ? true : aux[i] === v.aux)) srcs.add(inbound[i]!.ip!.src);
  const s = `${pct(v.packets / count)} of inbound packets`;
  const from = `from ${srcs.size} source${srcs.size === 1 ? '' : 's'}`;
  switch (v.kind) {
    case K.SYN:
      return `${s} are SYNs ${from} whose handshakes never complete`;
    case K.ACK:
      return `${s} are ACKs ${from} on flows the host never answered`;
    case K.RST:
      return `${s} are RSTs ${from} on flows the host never had`;
    case K.FLAGS:
      return `${s} are TCP segments ${from} with flag combinations no connection sends (no ACK outside a handshake)`;
    case K.SYNACK:
      return `${s} are SYN-ACKs ${from} the host never sent a SYN to: reflected off servers`;
    case K.RSTREFL:
      return `${s} are RSTs ${from} at service ports to the host's ephemeral ports, on connections it never opened: reflected`;
    case K.UDP:
      return `${s} are UDP datagrams ${from} the host never answered`;
    case K.GAME:
      return `${s} are small UDP datagrams to game-server ports ${from} the host never answered`;
    case K.AMP:
      return `${s} are ${VECTORS[v.aux]} replies ${from} (source port and reply format) the host never asked for`;
    case K.DNSQ:
      return `${s} are DNS queries ${from} the host does not answer`;
    case K.DNSRANDOM:
      return `${s} are DNS queries for ${randomDomain!.names} different names under ${randomDomain!.domain} (${randomDomain!.queries} queries, ${pct(randomDomain!.names / randomDomain!.queries)} never repeated): random subdomains`;
    case K.ICMP:
      return `${s} are ICMP messages ${from} the host never asked for`;
    case K.HTTP:
      return `${s} belong to ${http!.sources} sources completing handshakes and sending ~${http!.perSource.toFixed(0)} small requests/s each, answered with ~${Math.round(http!.bytesPerRequest)} bytes per request; L3/L4 cannot see the requests themselves, so confirm at the application`;
    case K.PROTO:
      return `${s} are IP protocol ${protoName(v.aux)} ${from}, a protocol the host exchanges with none of them`;
    default:
      return `${s} are IP fragments (${protoName(v.aux)}) ${from} of datagrams whose first fragments show no flow of the host`;
  }
}

/** Match components a candidate may use, as bits. */
const C = { PROTO: 1, FLAGS: 2, SPORT: 4, DPORT: 8, LEN_ALL: 16, LEN_CORE: 32, FRAG: 64 } as const;
const FLAG_BITS: Array<[TcpFlag, number]> = [['syn', TCP.SYN], ['ack', TCP.ACK], ['rst', TCP.RST], ['fin', TCP.FIN], ['psh', TCP.PSH], ['urg', TCP.URG]];

/** The values (up to four) that carry at least 95 % of `counts`' total, or null. */
function fewValues(counts: Map<number, number>, total: number): number[] | null {
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  let sum = 0;
  const out: number[] = [];
  for (const [v, c] of ranked.slice(0, 4)) {
    out.push(v);
    sum += c;
    if (sum >= 0.95 * total) return out.sort((a, b) => a - b);
  }
  return null;
}

const asRanges = (values: number[]): NumRange[] => values.map((v) => ({ from: v, to: v }));

/**
 * The narrowest FlowSpec match that covers the attack: components taken from what the
 * attack's packets share (protocol, tcp flags, source and destination ports, lengths,
 * fragments), each combination measured on the sample: coverage on the attack's packets,
 * collateral on the rest. Prefers coverage >= 0.9 with the least collateral, then more components.
 */
function signatureFor(inbound: Packet[], kind: Uint8Array, aux: Uint16Array, chosen: Vector[]): AttackSignature | null {
  const count = inbound.length;
  const isAttack = new Uint8Array(count);
  let attackN = 0;
  for (let i = 0; i < count; i++) {
    const k = kind[i]!;
    if (chosen.some((v) => v.kind === k && (v.kind !== K.AMP && v.kind !== K.PROTO && v.kind !== K.FRAG ? true : v.aux === aux[i]))) {
      isAttack[i] = 1;
      attackN++;
    }
  }
  if (attackN === 0) return null;
  const protos = new Map<number, number>();
  const sports = new Map<number, number>();
  const dports = new Map<number, number>();
  const lengths: number[] = [];
  let withPorts = 0;
  let frags = 0;
  let andFlags = 0x3f;
  for (let i = 0; i < count; i++) {
    if (!isAttack[i]) continue;
    const p = inbound[i]!;
    bump(protos, p.ip!.protocol);
    lengths.push(p.ip!.totalLength);
    if (p.ip!.fragment) frags++;
    const l4 = p.tcp ?? p.udp;
    if (l4) {
      withPorts++;
      bump(sports, l4.srcPort);
      bump(dports, l4.dstPort);
    }
    andFlags &= p.tcp ? p.tcp.flags : 0;
  }
  lengths.sort((a, b) => a - b);
  const q = (x: number) => lengths[Math.min(lengths.length - 1, Math.floor(x * lengths.length))]!;
  const protocols = fewValues(protos, attackN);
  // Ports only when every attack packet carries them: later fragments match no port component.
  const sourcePorts = withPorts === attackN ? fewValues(sports, attackN) : null;
  const destinationPorts = withPorts === attackN ? fewValues(dports, attackN) : null;
  const allLen: NumRange = { from: lengths[0]!, to: lengths[lengths.length - 1]! };
  const coreLen: NumRange = { from: q(0.02), to: q(0.98) };
  const onlyTcp = protocols?.length === 1 && protocols[0] === 6;
  // The flag all attack packets carry that the rest of the sample carries least.
  let flag: [TcpFlag, number] | null = null;
  if (onlyTcp && andFlags) {
    let best = Infinity;
    for (const [name, bit] of FLAG_BITS) {
      if (!(andFlags & bit)) continue;
      let others = 0;
      for (let i = 0; i < count; i++) if (!isAttack[i] && (inbound[i]!.tcp?.flags ?? 0) & bit) others++;
      if (others < best) [best, flag] = [others, [name, bit]];
    }
  }
  const available =
    (protocols ? C.PROTO : 0) | (flag ? C.FLAGS : 0) | (sourcePorts ? C.SPORT : 0) | (destinationPorts ? C.DPORT : 0) | C.LEN_ALL | (coreLen.from !== allLen.from || coreLen.to !== allLen.to ? C.LEN_CORE : 0) | (frags >= 0.9 * attackN ? C.FRAG : 0);

  // Each packet's components as bits, tallied: a candidate's coverage is a sum over 128 cells.
  const attackCells = new Uint32Array(128);
  const otherCells = new Uint32Array(128);
  const attackBytes = new Float64Array(128);
  const otherBytes = new Float64Array(128);
  const inList = (v: number, list: number[] | null) => list !== null && list.includes(v);
  for (let i = 0; i < count; i++) {
    const p = inbound[i]!;
    const ip = p.ip!;
    const l4 = p.tcp ?? p.udp;
    const len = ip.totalLength;
    let m = 0;
    if (inList(ip.protocol, protocols)) m |= C.PROTO;
    if (flag && p.tcp && p.tcp.flags & flag[1]) m |= C.FLAGS;
    if (l4 && inList(l4.srcPort, sourcePorts)) m |= C.SPORT;
    if (l4 && inList(l4.dstPort, destinationPorts)) m |= C.DPORT;
    if (len >= allLen.from && len <= allLen.to) m |= C.LEN_ALL;
    if (len >= coreLen.from && len <= coreLen.to) m |= C.LEN_CORE;
    if (ip.fragment) m |= C.FRAG;
    if (isAttack[i]) {
      attackCells[m]!++;
      attackBytes[m]! += len;
    } else {
      otherCells[m]!++;
      otherBytes[m]! += len;
    }
  }
  const otherN = count - attackN;
  let best: { c: number; coverage: number; collateral: number; parts: number; legitimate: number } | null = null;
  for (let c = 1; c < 128; c++) {
    if ((c & available) !== c || (c & C.LEN_ALL && c & C.LEN_CORE)) continue;
    if (c & C.FLAGS && !(c & C.PROTO)) continue; // tcp flags need the protocol beside them
    let a = 0;
    let o = 0;
    let ab = 0;
    let ob = 0;
    for (let m = 0; m < 128; m++) {
      if ((m & c) !== c) continue;
      a += attackCells[m]!;
      o += otherCells[m]!;
      ab += attackBytes[m]!;
      ob += otherBytes[m]!;
    }
    const coverage = a / attackN;
    const collateral = otherN > 0 ? o / otherN : 0;
    let parts = 0;
    for (let b = c; b; b >>= 1) parts += b & 1;
    const cand = { c, coverage, collateral, parts, legitimate: ab + ob > 0 ? ob / (ab + ob) : 0 };
    if (!best || better(cand, best)) best = cand;
  }
  if (!best) return null;
  const { c } = best;
  const match: Omit<FlowMatchRequest, 'source'> = {};
  const fields: string[] = [];
  if (c & C.PROTO) {
    match.protocols = protocols!;
    fields.push(protocols!.map(protoName).join('/').toUpperCase());
  }
  if (c & C.FLAGS) {
    match.tcpFlags = [flag![0]];
    fields.push(`TCP flag ${flag![0].toUpperCase()}`);
  }
  if (c & C.SPORT) {
    match.sourcePorts = asRanges(sourcePorts!);
    fields.push(`from source port ${sourcePorts!.join(', ')}`);
  }
  if (c & C.DPORT) {
    match.destinationPorts = asRanges(destinationPorts!);
    fields.push(`to port ${destinationPorts!.join(', ')}`);
  }
  const len = c & C.LEN_ALL ? allLen : c & C.LEN_CORE ? coreLen : null;
  if (len) {
    match.packetLengths = [len];
    fields.push(`${len.from}-${len.to} bytes`);
  }
  if (c & C.FRAG) {
    match.fragments = ['is-fragment'];
    fields.push('fragments');
  }
  return {
    match,
    coverage: round3(best.coverage),
    collateral: round3(best.collateral),
    legitimateShare: round3(best.legitimate),
    why: `${fields.join(', ')}: covers ${pct(best.coverage)} of the attack's ${attackN} packets in the sample and ${pct(best.collateral)} of the other ${otherN}`,
  };
}

/** Coverage of 0.9 first, then the least collateral, then the most components (the narrowest), then coverage. */
function better(a: { coverage: number; collateral: number; parts: number }, b: { coverage: number; collateral: number; parts: number }): boolean {
  const ok = (x: typeof a) => x.coverage >= 0.9;
  if (ok(a) !== ok(b)) return ok(a);
  if (!ok(a)) return a.coverage - a.collateral > b.coverage - b.collateral + 1e-9;
  if (Math.abs(a.collateral - b.collateral) > 0.002) return a.collateral < b.collateral;
  if (a.parts !== b.parts) return a.parts > b.parts;
  return a.coverage > b.coverage;
}
