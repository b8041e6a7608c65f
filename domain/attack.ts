// What an attack is, as the agent reports it and the control plane stores it. Pure.
import type { FlowMatchRequest } from './build-intent.js';

/**
 * The reference's vocabulary. Subtypes say more: udp_flood `<vector>_amplification`
 * ("dns_amplification") or `game`; tcp_flood `ack`, `rst`, `syn_ack_reflection`,
 * `rst_reflection`; dns_flood `random_subdomain`; protocol_flood the IP protocol
 * (`gre`, `esp`, `proto_<n>`); fragment_flood the carried protocol (`udp`, `tcp`, ...);
 * multi_vector the families joined by "+" in descending share.
 */
export const ATTACK_FAMILIES = [
  'udp_flood',
  'syn_flood',
  'tcp_flood',
  'dns_flood',
  'icmp_flood',
  'http_flood',
  'protocol_flood',
  'fragment_flood',
  'multi_vector',
  'unknown',
] as const;
export type AttackFamily = (typeof ATTACK_FAMILIES)[number];

/** Families stored before the reference's vocabulary (migration 0012), and what each is now. */
export const LEGACY_FAMILIES: Record<string, { family: AttackFamily; subtype: (old: string | null) => string | null }> = {
  ack_flood: { family: 'tcp_flood', subtype: () => 'ack' },
  rst_flood: { family: 'tcp_flood', subtype: () => 'rst' },
  amplification: { family: 'udp_flood', subtype: (v) => (v ? `${v}_amplification` : 'amplification') },
};

/**
 * What the sample says: `attack` (a signature of one), `benign` (volumetric, but it looks
 * like service traffic: established flows carrying payload, replies, a realistic spread of
 * sources), `inconclusive` (neither can be told). Only `attack` may drive a dropping rule.
 */
export const VERDICTS = ['attack', 'benign', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Where a classification comes from: packets the agent captured, or its counters' guess (which never drives a dropping rule). */
export const EVIDENCE_KINDS = ['capture', 'counters'] as const;
export type Evidence = (typeof EVIDENCE_KINDS)[number];

/** Reflection/amplification services, recognised by source port and reply signature. */
export const AMPLIFICATION_VECTORS = [
  'dns',
  'ntp',
  'ssdp',
  'memcached',
  'cldap',
  'chargen',
  'snmp',
  'ws_discovery',
  'stun',
  'slp',
  'coap',
  'ard',
  'openvpn',
  'mdns',
  'netbios',
  'rdp',
  'tftp',
  'ubiquiti',
  'sip',
  'quic',
  'portmap',
  'mssql',
] as const;
export type AmplificationVector = (typeof AMPLIFICATION_VECTORS)[number];

export interface Counted<T> {
  value: T;
  packets: number;
}

/**
 * What the attack's packets share and the rest of the sample does not, as a FlowSpec
 * match beside the destination: the narrowest the sample supports.
 */
export interface AttackSignature {
  match: Omit<FlowMatchRequest, 'source'>;
  /** Share (0..1) of the sample's attack packets the match covers. */
  coverage: number;
  /** Share (0..1) of the sample's other packets it also matches: legitimate traffic a discard would drop. */
  collateral: number;
  /**
   * Share (0..1) of the bytes the match covers in the sample that are not the attack's:
   * what a rate limit must leave room for. Absent in signatures stored before it.
   */
  legitimateShare?: number;
  /** One line: which fields, and why they were chosen. */
  why: string;
}

/** The forensic summary of a packet sample. */
export interface Classification {
  family: AttackFamily;
  subtype: string | null;
  /** 0..1: the share of the sample that matches the verdict. */
  confidence: number;
  verdict: Verdict;
  /** Short sentences an operator reads: what the sample showed that led to the verdict. */
  reasons: string[];
  /** Null unless the verdict is `attack` and a match narrower than "everything" was found. */
  signature: AttackSignature | null;
  packets: number;
  bytes: number;
  topSources: Counted<string>[];
  topDestinationPorts: Counted<number>[];
  /** Packet sizes (IP total length) by bucket: "0-63", "64-127", ..., "1024-1279", "1280-1499", "1500+". */
  sizeHistogram: Record<string, number>;
  /** Share of packets per protocol: tcp, udp, icmp, other (0..1). */
  protocolMix: Record<'tcp' | 'udp' | 'icmp' | 'other', number>;
}
