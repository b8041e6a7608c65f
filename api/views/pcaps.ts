// Captures as the API answers them: the capture, its upload's progress (agent protocol)
// and its packets.
import type { z } from '@hono/zod-openapi';
import type { PcapRow } from '../../db/pcaps.js';
import type { PcapUpload } from '../../domain/agent-protocol.js';
import { TCP, type Packet } from '../../domain/pcap.js';
import type { PacketSchema, PcapSchema } from '../schemas/pcaps.js';
import { iso } from './time.js';

export const pcapUploadJson = (r: PcapRow): PcapUpload => ({ id: r.id, size_bytes: r.sizeBytes, received_bytes: r.receivedBytes, status: r.status });

export const pcapJson = (r: PcapRow, node: string): z.infer<typeof PcapSchema> => ({
  id: r.id,
  node,
  incident_id: r.incidentId,
  size_bytes: r.sizeBytes,
  received_bytes: r.receivedBytes,
  status: r.status,
  sha256: r.sha256,
  captured_at: r.capturedAt.toISOString(),
  completed_at: iso(r.completedAt),
});

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const FLAG_NAMES = Object.entries(TCP).map(([name, bit]) => [name.toLowerCase(), bit] as const);

export function packetJson(p: Packet, index: number): z.infer<typeof PacketSchema> {
  return {
    index,
    time: new Date(p.tsMs).toISOString(),
    length: p.length,
    ip_version: p.ip?.version ?? null,
    src: p.ip?.src ?? null,
    dst: p.ip?.dst ?? null,
    protocol: p.ip ? (PROTOCOLS[p.ip.protocol] ?? String(p.ip.protocol)) : 'non-ip',
    src_port: p.tcp?.srcPort ?? p.udp?.srcPort ?? null,
    dst_port: p.tcp?.dstPort ?? p.udp?.dstPort ?? null,
    tcp_flags: p.tcp ? FLAG_NAMES.filter(([, bit]) => p.tcp!.flags & bit).map(([name]) => name) : null,
    icmp_type: p.icmp?.type ?? null,
    payload_bytes: p.udp ? p.udp.payload.length : null,
    fragment: p.ip?.fragment ?? false,
  };
}
