// What an attack is, as the agent reports it and the control plane stores it. Pure.

export const ATTACK_FAMILIES = [
  'udp_flood',
  'syn_flood',
  'ack_flood',
  'rst_flood',
  'icmp_flood',
  'fragment_flood',
  'amplification',
  'multi_vector',
  'unknown',
] as const;
export type AttackFamily = (typeof ATTACK_FAMILIES)[number];

/** Reflection/amplification services, recognised by source port and payload signature. */
export const AMPLIFICATION_VECTORS = ['dns', 'ntp', 'ssdp', 'memcached', 'cldap', 'chargen', 'snmp', 'ws_discovery'] as const;
export type AmplificationVector = (typeof AMPLIFICATION_VECTORS)[number];

export interface Counted<T> {
  value: T;
  packets: number;
}

/** The forensic summary of a packet sample. */
export interface Classification {
  family: AttackFamily;
  /**
   * amplification: the vector ("dns", ...); multi_vector: the families joined by "+"
   * in descending share ("udp_flood+syn_flood"); otherwise null.
   */
  subtype: string | null;
  /** 0..1: the share of the sample that matches the verdict. */
  confidence: number;
  packets: number;
  bytes: number;
  topSources: Counted<string>[];
  topDestinationPorts: Counted<number>[];
  /** Packet sizes (IP total length) by bucket: "0-63", "64-127", ..., "1024-1279", "1280-1499", "1500+". */
  sizeHistogram: Record<string, number>;
  /** Share of packets per protocol: tcp, udp, icmp, other (0..1). */
  protocolMix: Record<'tcp' | 'udp' | 'icmp' | 'other', number>;
}
