// The forensic analysis of a capture (GET /pcaps/{id}/analysis): the verdict and its
// reasons, the attack vector, its sources and their countries, ports, sizes, the FlowSpec
// signature and the mitigation to recommend. Pure.
import type { Classification } from './attack.js';
import { classify } from './classify.js';
import { tierMatchFor } from './escalation.js';
import { flowActionJson, flowMatchJson } from './intent.js';
import type { Packet } from './pcap.js';

const VECTOR_NAMES: Record<string, string> = {
  udp_flood: 'UDP flood',
  syn_flood: 'SYN flood',
  tcp_flood: 'TCP flood',
  dns_flood: 'DNS flood',
  icmp_flood: 'ICMP flood',
  http_flood: 'HTTP flood',
  protocol_flood: 'IP protocol flood',
  fragment_flood: 'IP fragment flood',
  multi_vector: 'multi-vector attack',
  unknown: 'no single attack vector',
};

const SUBTYPE_NAMES: Record<string, string> = {
  ack: 'ACK flood',
  rst: 'RST flood',
  syn_ack_reflection: 'SYN-ACK reflection',
  rst_reflection: 'RST reflection',
  random_subdomain: 'DNS random-subdomain (water torture) flood',
  game: 'UDP flood on game ports',
};

/** "DNS amplification", "ACK flood", "IP protocol flood (gre)", ... */
function vectorName(c: Classification): string {
  if (c.verdict === 'benign') return 'no attack: service traffic';
  const sub = c.subtype;
  if (sub && c.family !== 'multi_vector') {
    if (sub.endsWith('_amplification')) return `${sub.slice(0, -'_amplification'.length).toUpperCase().replace('_', '-')} amplification`;
    if (SUBTYPE_NAMES[sub]) return SUBTYPE_NAMES[sub]!;
    return `${VECTOR_NAMES[c.family] ?? c.family} (${sub})`;
  }
  return VECTOR_NAMES[c.family] ?? c.family;
}

/**
 * What the capture says of the traffic to `victim`. `countriesOf` maps addresses to their
 * countries (db/geoip.ts; passed in so this stays pure). `listeningPorts`: the ports the
 * host serves, when known.
 */
export function analysePcap(
  packets: Packet[],
  victim: string,
  countriesOf: (addresses: string[]) => Map<string, string>,
  listeningPorts?: readonly number[],
): Record<string, unknown> {
  const c = classify(packets, { victim, topN: 10, listeningPorts });
  const vector = vectorName(c);
  const sources = new Set<string>();
  let first = Infinity;
  let last = -Infinity;
  for (const p of packets) {
    if (p.ip?.dst !== victim) continue;
    sources.add(p.ip.src);
    if (p.tsMs < first) first = p.tsMs;
    if (p.tsMs > last) last = p.tsMs;
  }
  const countryOf = countriesOf([...sources]);
  const byCountry = new Map<string, number>();
  for (const p of packets) {
    const cc = p.ip?.dst === victim ? countryOf.get(p.ip.src) : undefined;
    if (cc) byCountry.set(cc, (byCountry.get(cc) ?? 0) + 1);
  }
  // The sample's own rate stands in for the incident's figures.
  const seconds = Math.max(0.001, (last - first) / 1000);
  const figures = { pps: c.packets / seconds, bps: (c.bytes * 8) / seconds };
  const tier = tierMatchFor({ family: c.family, subtype: c.subtype, verdict: c.verdict, evidence: 'capture', signature: c.signature }, victim.includes(':') ? 6 : 4, figures);
  let recommended: Record<string, unknown>;
  if (tier.kind === 'flowspec') {
    recommended = { intent_type: 'flowspec', target_ip: victim, match: flowMatchJson(tier.match), action: flowActionJson(tier.action), why: tier.why };
  } else if (c.verdict === 'attack') {
    recommended = { intent_type: 'blackhole', target_ip: victim, why: `${tier.why}; blackhole the target only if the attack exceeds the uplink` };
  } else recommended = { intent_type: 'none', target_ip: victim, why: tier.why };
  return {
    verdict: c.verdict,
    reasons: c.reasons,
    attack_vector: vector,
    family: c.family,
    subtype: c.subtype,
    confidence: c.confidence,
    target_ip: victim,
    total_packets: c.packets,
    total_bytes: c.bytes,
    unique_sources: sources.size,
    top_sources: c.topSources.map((s) => ({ ip: s.value, packets: s.packets, country: countryOf.get(s.value) ?? null })),
    top_source_countries: [...byCountry.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([cc]) => cc),
    top_destination_ports: c.topDestinationPorts.map((p) => ({ port: p.value, packets: p.packets })),
    size_histogram: c.sizeHistogram,
    protocol_mix: c.protocolMix,
    signature: c.signature && { match: flowMatchJson(c.signature.match), coverage: c.signature.coverage, collateral: c.signature.collateral, why: c.signature.why },
    recommended_mitigation: recommended,
    summary:
      c.verdict === 'attack'
        ? `${vector} on ${victim}: ${c.packets} packets from ${sources.size} sources in the sample, ${Math.round(c.confidence * 100)} % of them matching.`
        : `${c.verdict === 'benign' ? 'Service traffic' : 'Inconclusive'} on ${victim}: ${c.packets} packets from ${sources.size} sources in the sample${c.reasons[0] ? `; ${c.reasons[0]}` : ''}.`,
  };
}
