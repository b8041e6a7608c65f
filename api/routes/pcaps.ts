// Captures as users read them: the list, parsed packets, the forensic analysis (computed
// once, then kept), and the raw file for Wireshark.
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, sql } from 'drizzle-orm';
import { countriesOf } from '../../db/geoip.js';
import { analysePcap } from '../../domain/pcap-analysis.js';
import { parsePcap, TCP, type Packet } from '../../domain/pcap.js';
import { readPcap, type PcapRow } from '../../db/pcaps.js';
import { incidents, nodes, pcaps } from '../../db/schema.js';
import type { AppEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { responses, router } from '../openapi.js';
import { IdParam, ok } from '../schemas.js';

const PcapSchema = z
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

const Page = (max: number, dflt: number) =>
  z.object({
    limit: z.coerce.number().int().min(1, `limit must be 1-${max}`).max(max, `limit must be 1-${max}`).default(dflt),
    offset: z.coerce.number().int().min(0, 'offset must be 0 or more').default(0),
  });

const ListQuery = Page(100, 50).extend({ incident_id: z.coerce.number().int().positive().optional() });

const PacketSchema = z
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

const AnalysisSchema = z.record(z.string(), z.unknown()).openapi('PcapAnalysis', {
  example: { attack_vector: 'DNS amplification', total_packets: 284501, unique_sources: 1847, top_source_countries: ['CN', 'RU', 'BR'] },
});

const listRoute = createRoute({
  method: 'get',
  path: '/pcaps',
  summary: 'List captures',
  description: 'Newest capture first; `incident_id` narrows to one incident.',
  request: { query: ListQuery },
  responses: responses('Captures', ok({ pcaps: z.array(PcapSchema), total: z.number().int() })),
});

const packetsRoute = createRoute({
  method: 'get',
  path: '/pcaps/{id}/packets',
  summary: 'Parsed packets of a capture',
  request: { params: IdParam, query: Page(1000, 100) },
  responses: responses('Packets', ok({ packets: z.array(PacketSchema), total: z.number().int() }), { 404: 'not_found', 409: 'conflict: still uploading' }),
});

const analysisRoute = createRoute({
  method: 'get',
  path: '/pcaps/{id}/analysis',
  summary: 'Forensic analysis of a capture',
  description: 'Attack vector, sources (and their countries), ports, sizes and the recommended mitigation; computed on first request, then cached.',
  request: { params: IdParam },
  responses: responses('Analysis', ok({ analysis: AnalysisSchema }), { 404: 'not_found', 409: 'conflict: still uploading' }),
});

const downloadRoute = createRoute({
  method: 'get',
  path: '/pcaps/{id}/download',
  summary: 'Download the raw capture',
  request: { params: IdParam },
  responses: {
    ...responses('', z.object({}), { 404: 'not_found', 409: 'conflict: still uploading' }),
    200: { description: 'The libpcap file', content: { 'application/vnd.tcpdump.pcap': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
});

const pcapJson = (r: PcapRow, node: string): z.infer<typeof PcapSchema> => ({
  id: r.id,
  node,
  incident_id: r.incidentId,
  size_bytes: r.sizeBytes,
  received_bytes: r.receivedBytes,
  status: r.status,
  sha256: r.sha256,
  captured_at: r.capturedAt.toISOString(),
  completed_at: r.completedAt ? r.completedAt.toISOString() : null,
});

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const FLAG_NAMES = Object.entries(TCP).map(([name, bit]) => [name.toLowerCase(), bit] as const);

function packetJson(p: Packet, index: number): z.infer<typeof PacketSchema> {
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

export const pcapsRouter = router()
  .openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const where = and(eq(pcaps.workspaceId, c.var.workspace.id), q.incident_id ? eq(pcaps.incidentId, q.incident_id) : undefined);
    const { db } = c.var.deps;
    const [rows, [count]] = await Promise.all([
      db.select({ pcap: pcaps, node: nodes.uuid }).from(pcaps).innerJoin(nodes, eq(nodes.id, pcaps.nodeId)).where(where).orderBy(desc(pcaps.capturedAt), desc(pcaps.id)).limit(q.limit).offset(q.offset),
      db.select({ n: sql<number>`count(*)::int` }).from(pcaps).where(where),
    ]);
    return c.json({ ok: true as const, pcaps: rows.map((r) => pcapJson(r.pcap, r.node)), total: count!.n }, 200);
  })
  .openapi(packetsRoute, async (c) => {
    const row = await completePcap(c.var, c.req.valid('param').id);
    const q = c.req.valid('query');
    const { packets } = parsePcap(await readPcap(c.var.deps.db, row.pcap.id));
    return c.json({ ok: true as const, packets: packets.slice(q.offset, q.offset + q.limit).map((p, i) => packetJson(p, q.offset + i)), total: packets.length }, 200);
  })
  .openapi(analysisRoute, async (c) => {
    const { db } = c.var.deps;
    const row = await completePcap(c.var, c.req.valid('param').id);
    if (row.pcap.analysis) return c.json({ ok: true as const, analysis: row.pcap.analysis }, 200);
    const analysis = analysePcap(parsePcap(await readPcap(db, row.pcap.id)).packets, row.target, countriesOf);
    await db.update(pcaps).set({ analysis }).where(eq(pcaps.id, row.pcap.id));
    return c.json({ ok: true as const, analysis }, 200);
  })
  .openapi(downloadRoute, async (c) => {
    const row = await completePcap(c.var, c.req.valid('param').id);
    const data = await readPcap(c.var.deps.db, row.pcap.id);
    return c.body(new Uint8Array(data), 200, {
      'content-type': 'application/vnd.tcpdump.pcap',
      'content-disposition': `attachment; filename="bulwark-${row.pcap.id}.pcap"`,
    }) as never;
  });

/** The workspace's capture with the incident's target, once complete. */
async function completePcap(v: AppEnv['Variables'], id: number) {
  const [row] = await v.deps.db
    .select({ pcap: pcaps, target: incidents.targetIp })
    .from(pcaps)
    .innerJoin(incidents, eq(incidents.id, pcaps.incidentId))
    .where(and(eq(pcaps.id, id), eq(pcaps.workspaceId, v.workspace.id)));
  if (!row) throw new ApiError('not_found', `pcap ${id} not found`);
  if (row.pcap.status !== 'complete') throw new ApiError('conflict', `pcap ${id} is still uploading (${row.pcap.receivedBytes} of ${row.pcap.sizeBytes} bytes)`);
  return row;
}
