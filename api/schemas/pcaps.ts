// Captures as users read them: the list, its paging, parsed packets and the analysis.
import { z } from '@hono/zod-openapi';
import { queryInt } from '../../domain/wire.js';

export const PcapSchema = z
  .object({
    id: z.number().int(),
    node: z.string(),
    incident_id: z.number().int(),
    size_bytes: z.number().int(),
    received_bytes: z.number().int(),
    status: z.enum(['uploading', 'complete']),
    sha256: z.string(),
    captured_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi('Pcap');

export const Page = (max: number, dflt: number) =>
  z.strictObject({
    limit: queryInt(1, max).default(dflt),
    offset: queryInt(0, Number.MAX_SAFE_INTEGER).default(0),
  });

export const PcapListQuery = Page(100, 50).extend({ incident_id: queryInt(1, Number.MAX_SAFE_INTEGER).optional() });

export const PacketSchema = z
  .object({
    index: z.number().int(),
    time: z.string(),
    length: z.number().int(),
    ip_version: z.number().int().nullable(),
    src: z.string().nullable(),
    dst: z.string().nullable(),
    protocol: z.string(),
    src_port: z.number().int().nullable(),
    dst_port: z.number().int().nullable(),
    tcp_flags: z.array(z.string()).nullable(),
    icmp_type: z.number().int().nullable(),
    payload_bytes: z.number().int().nullable(),
    fragment: z.boolean(),
  })
  .openapi('PcapPacket');

export const AnalysisSchema = z.record(z.string(), z.unknown()).openapi('PcapAnalysis', {
  example: { attack_vector: 'DNS amplification', total_packets: 284501, unique_sources: 1847, top_source_countries: ['CN', 'RU', 'BR'] },
});
