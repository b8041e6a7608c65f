// The forensic analysis of a capture (GET /pcaps/{id}/analysis): the attack vector, its
// sources and their countries, ports, sizes and the mitigation to recommend. Pure.
import { classify } from './classify.js';
import { flowMatchFor } from './escalation.js';
import { flowMatchJson } from './intent.js';
import type { Packet } from './pcap.js';

const VECTOR_NAMES: Record<string, string> = {
  udp_flood: 'UDP flood',
  syn_flood: 'SYN flood',
  ack_flood: 'ACK flood',
  rst_flood: 'RST flood',
  icmp_flood: 'ICMP flood',
  fragment_flood: 'IP fragment flood',
  multi_vector: 'multi-vector attack',
  unknown: 'no single attack vector',
};

/**
 * What the capture says of the attack on `victim`. `countriesOf` maps addresses to their
 * countries (db/geoip.ts; passed in so this stays pure).
 */
export function analysePcap(packets: Packet[], victim: string, countriesOf: (addresses: string[]) => Map<string, string>): Record<string, unknown> {
  const c = classify(packets, { victim, topN: 10 });
  const vector = c.family === 'amplification' ? `${(c.subtype ?? 'unknown').toUpperCase()} amplification` : (VECTOR_NAMES[c.family] ?? c.family);
  const sources = new Set(packets.filter((p) => p.ip?.dst === victim).map((p) => p.ip!.src));
  const countryOf = countriesOf([...sources]);
  const byCountry = new Map<string, number>();
  for (const p of packets) {
    const cc = p.ip?.dst === victim ? countryOf.get(p.ip.src) : undefined;
    if (cc) byCountry.set(cc, (byCountry.get(cc) ?? 0) + 1);
  }
  const match = flowMatchFor(c.family, c.subtype, victim.includes(':') ? 6 : 4);
  return {
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
    recommended_mitigation:
      Object.keys(match).length > 0
        ? { intent_type: 'flowspec', target_ip: victim, match: flowMatchJson(match), action: { type: 'discard' }, why: `a FlowSpec discard matching the ${vector} spares the target's other traffic` }
        : { intent_type: 'blackhole', target_ip: victim, why: 'no narrow match describes this traffic; blackhole the target if it exceeds the uplink' },
    summary: `${vector} on ${victim}: ${c.packets} packets from ${sources.size} sources in the sample, ${Math.round(c.confidence * 100)} % of them matching.`,
  };
}
