// A classification (domain/attack.ts) as the agent protocol carries it, for the incident
// reports the agent sends. Here rather than beside the protocol's schemas
// (domain/agent-protocol.ts, whose types it returns): the agent imports only types from
// there, so its bundle carries no zod; scripts/build-agent.mjs fails when zod creeps in.
import type { WireClassification } from '../domain/agent-protocol.js';
import type { Classification } from '../domain/attack.js';

/** A classification (domain/attack.ts) as the protocol carries it: always from captured packets. */
export function wireClassification(c: Classification): WireClassification {
  const m = c.signature?.match;
  return {
    family: c.family,
    subtype: c.subtype,
    confidence: c.confidence,
    verdict: c.verdict,
    evidence: 'capture',
    reasons: c.reasons.slice(0, 12).map((r) => r.slice(0, 300)),
    signature:
      c.signature && m
        ? {
            match: {
              ...(m.protocols ? { protocols: m.protocols } : {}),
              ...(m.sourcePorts ? { source_ports: m.sourcePorts } : {}),
              ...(m.destinationPorts ? { destination_ports: m.destinationPorts } : {}),
              ...(m.packetLengths ? { packet_lengths: m.packetLengths } : {}),
              ...(m.tcpFlags ? { tcp_flags: m.tcpFlags } : {}),
              ...(m.fragments ? { fragments: m.fragments } : {}),
            },
            coverage: c.signature.coverage,
            collateral: c.signature.collateral,
            ...(c.signature.legitimateShare !== undefined ? { legitimate_share: c.signature.legitimateShare } : {}),
            why: c.signature.why.slice(0, 300),
          }
        : null,
    packets: c.packets,
    bytes: c.bytes,
    top_sources: c.topSources,
    top_destination_ports: c.topDestinationPorts,
    size_histogram: c.sizeHistogram,
    protocol_mix: c.protocolMix,
  };
}
