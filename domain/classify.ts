// Classifies a packet sample (domain/pcap.ts) into an attack family and subtype, with the
// forensic figures an operator wants: top sources, destination ports, packet sizes.
import type { AmplificationVector, AttackFamily, Classification, Counted } from './attack.js';
import { TCP, type Packet } from './pcap.js';

/** Reflector source ports, and what a genuine reply from each looks like. */
const REFLECTORS: Record<number, { vector: AmplificationVector; signature: (p: Buffer) => boolean }> = {
  53: { vector: 'dns', signature: (p) => p.length >= 12 && (p[2]! & 0x80) !== 0 }, // QR: a response
  123: { vector: 'ntp', signature: (p) => p.length >= 4 && [4, 7].includes(p[0]! & 0x07) }, // server reply or mode 7 (monlist)
  1900: { vector: 'ssdp', signature: (p) => /^HTTP\/1\.1 200|LOCATION:|ST:/i.test(p.subarray(0, 256).toString('latin1')) },
  11211: { vector: 'memcached', signature: (p) => p[0] === 0x81 || /^(VALUE |STAT )/.test(p.subarray(0, 8).toString('latin1')) },
  389: { vector: 'cldap', signature: (p) => p[0] === 0x30 },
  19: { vector: 'chargen', signature: () => true },
  161: { vector: 'snmp', signature: (p) => p[0] === 0x30 && p.subarray(0, 64).includes(0xa2) }, // GetResponse PDU
  3702: { vector: 'ws_discovery', signature: (p) => /<\?xml|Envelope/.test(p.subarray(0, 512).toString('latin1')) },
};

/** Without a signature, only replies bigger than any request plausibly are reflections. */
const UNSIGNED_AMPLIFICATION_MIN_BYTES = 512;

type Vector = 'udp' | 'syn' | 'ack' | 'rst' | 'tcp' | 'icmp' | 'fragment' | 'other' | `amp:${AmplificationVector}`;

const FAMILY: Record<string, AttackFamily> = {
  udp: 'udp_flood',
  syn: 'syn_flood',
  ack: 'ack_flood',
  rst: 'rst_flood',
  icmp: 'icmp_flood',
  fragment: 'fragment_flood',
};

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

function vectorOf(p: Packet): Vector {
  const ip = p.ip!;
  if (ip.laterFragment) return 'fragment';
  if (p.udp) {
    const r = REFLECTORS[p.udp.srcPort];
    if (r && (r.signature(p.udp.payload) || ip.totalLength >= UNSIGNED_AMPLIFICATION_MIN_BYTES)) return `amp:${r.vector}`;
    return 'udp';
  }
  if (p.tcp) {
    const f = p.tcp.flags;
    if (f & TCP.RST) return 'rst';
    if (f & TCP.SYN) return f & TCP.ACK ? 'tcp' : 'syn';
    if (f === TCP.ACK || f === (TCP.ACK | TCP.PSH)) return 'ack';
    return 'tcp';
  }
  if (p.icmp) return 'icmp';
  return 'other';
}

function top<T>(counts: Map<T, number>, n: number): Counted<T>[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([value, packets]) => ({ value, packets }));
}

const bump = <T>(m: Map<T, number>, k: T) => m.set(k, (m.get(k) ?? 0) + 1);

export function classify(packets: Packet[], opts: { victim?: string; topN?: number } = {}): Classification {
  const n = opts.topN ?? 10;
  const vectors = new Map<Vector, number>();
  const sources = new Map<string, number>();
  const ports = new Map<number, number>();
  const sizes = Object.fromEntries(SIZE_BUCKETS.map(([k]) => [k, 0]));
  const mix = { tcp: 0, udp: 0, icmp: 0, other: 0 };
  // Later fragments carry no ports: they belong to whatever their source's first fragments were.
  const sourceVector = new Map<string, Vector>();
  const laterFragments: string[] = [];
  let count = 0;
  let bytes = 0;

  for (const p of packets) {
    if (!p.ip || (opts.victim && p.ip.dst !== opts.victim)) continue;
    count++;
    bytes += p.length;
    bump(sources, p.ip.src);
    const port = p.udp?.dstPort ?? p.tcp?.dstPort;
    if (port !== undefined) bump(ports, port);
    sizes[SIZE_BUCKETS.find(([, max]) => p.ip!.totalLength < max)![0]]!++;
    const proto = p.ip.protocol === 6 ? 'tcp' : p.ip.protocol === 17 ? 'udp' : p.ip.protocol === 1 || p.ip.protocol === 58 ? 'icmp' : 'other';
    mix[proto]++;
    const v = vectorOf(p);
    if (v === 'fragment') laterFragments.push(p.ip.src);
    else {
      bump(vectors, v);
      if (p.ip.fragment) sourceVector.set(p.ip.src, v);
    }
  }
  for (const src of laterFragments) bump(vectors, sourceVector.get(src) ?? 'fragment');

  const ranked = [...vectors.entries()].sort((a, b) => b[1] - a[1]);
  const share = (c: number) => (count > 0 ? c / count : 0);
  let family: AttackFamily = 'unknown';
  let subtype: string | null = null;
  let confidence = 0;
  const familyOf = (v: Vector): AttackFamily => (v.startsWith('amp:') ? 'amplification' : (FAMILY[v] ?? 'unknown'));
  // Two or more vectors each carrying a quarter of the sample: multi-vector. Otherwise one
  // vector must carry most of it to be named; below that the sample says nothing certain.
  const significant = ranked.filter(([v, c]) => share(c) >= 0.25 && familyOf(v) !== 'unknown');
  if (significant.length >= 2) {
    family = 'multi_vector';
    subtype = significant.map(([v]) => (v.startsWith('amp:') ? `${v.slice(4)}_amplification` : familyOf(v))).join('+');
    confidence = share(significant.reduce((s, [, c]) => s + c, 0));
  } else if (ranked.length > 0 && share(ranked[0]![1]) >= 0.6 && familyOf(ranked[0]![0]) !== 'unknown') {
    const [v, c] = ranked[0]!;
    family = familyOf(v);
    subtype = v.startsWith('amp:') ? v.slice(4) : null;
    confidence = share(c);
  } else if (ranked.length > 0) confidence = share(ranked[0]![1]);

  return {
    family,
    subtype,
    confidence: Math.round(confidence * 1000) / 1000,
    packets: count,
    bytes,
    topSources: top(sources, n),
    topDestinationPorts: top(ports, n),
    sizeHistogram: sizes,
    protocolMix: {
      tcp: share(mix.tcp),
      udp: share(mix.udp),
      icmp: share(mix.icmp),
      other: share(mix.other),
    },
  };
}
