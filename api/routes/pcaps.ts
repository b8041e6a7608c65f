// Captures as users read them: the list, parsed packets, the forensic analysis (computed
// once, then kept), and the raw file for Wireshark.
import { z } from '@hono/zod-openapi';
import { countriesOf } from '../../db/geoip.js';
import { findPcap, listPcaps, readPcap, savePcapAnalysis } from '../../db/pcaps.js';
import { analysePcap } from '../../domain/pcap-analysis.js';
import { parsePcap, PcapFormatError } from '../../domain/pcap.js';
import type { AppEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, responses, router } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { AnalysisSchema, PacketSchema, Page, PcapListQuery, PcapSchema } from '../schemas/pcaps.js';
import { packetJson, pcapJson } from '../views/pcaps.js';

const listRoute = defineRoute({
  method: 'get',
  path: '/pcaps',
  summary: 'List captures',
  description: 'Newest capture first; `incident_id` narrows to one incident.',
  request: { query: PcapListQuery },
  responses: responses('Captures', ok({ pcaps: z.array(PcapSchema), total: z.number().int() })),
});

const packetsRoute = defineRoute({
  method: 'get',
  path: '/pcaps/{id}/packets',
  summary: 'Parsed packets of a capture',
  request: { params: IdParam, query: Page(1000, 100) },
  responses: responses('Packets', ok({ packets: z.array(PacketSchema), total: z.number().int() }), { 404: 'not_found', 409: 'conflict: still uploading' }),
});

const analysisRoute = defineRoute({
  method: 'get',
  path: '/pcaps/{id}/analysis',
  summary: 'Forensic analysis of a capture',
  description: 'Attack vector, sources (and their countries), ports, sizes and the recommended mitigation; computed on first request, then cached.',
  request: { params: IdParam },
  responses: responses('Analysis', ok({ analysis: AnalysisSchema }), { 404: 'not_found', 409: 'conflict: still uploading', 422: 'unprocessable: the file cannot be read as a capture' }),
});

const downloadRoute = defineRoute({
  method: 'get',
  path: '/pcaps/{id}/download',
  summary: 'Download the raw capture',
  request: { params: IdParam },
  responses: {
    ...responses('', z.object({}), { 404: 'not_found', 409: 'conflict: still uploading' }),
    200: { description: 'The libpcap file', content: { 'application/vnd.tcpdump.pcap': { schema: z.string().openapi({ format: 'binary' }) } } },
  },
});

/** The capture's packets, or 422 saying why the file cannot be read (uploads made before the header check). */
function readable(data: Buffer) {
  try {
    return parsePcap(data);
  } catch (err) {
    if (err instanceof PcapFormatError) throw new ApiError('unprocessable', `the capture cannot be read: ${err.message}`);
    throw err;
  }
}

export const pcapsRouter = router()
  .openapi(listRoute, async (c) => {
    const { rows, total } = await listPcaps(c.var.deps.db, c.var.workspace.id, c.req.valid('query'));
    return c.json({ ok: true as const, pcaps: rows.map((r) => pcapJson(r.pcap, r.node)), total }, 200);
  })
  .openapi(packetsRoute, async (c) => {
    const row = await completePcap(c.var, c.req.valid('param').id);
    const q = c.req.valid('query');
    const { packets } = readable(await readPcap(c.var.deps.db, row.pcap.id));
    return c.json({ ok: true as const, packets: packets.slice(q.offset, q.offset + q.limit).map((p, i) => packetJson(p, q.offset + i)), total: packets.length }, 200);
  })
  .openapi(analysisRoute, async (c) => {
    const { db } = c.var.deps;
    const row = await completePcap(c.var, c.req.valid('param').id);
    if (row.pcap.analysis) return c.json({ ok: true as const, analysis: row.pcap.analysis }, 200);
    const analysis = analysePcap(readable(await readPcap(db, row.pcap.id)).packets, row.target, countriesOf);
    await savePcapAnalysis(db, row.pcap.id, analysis);
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
  const row = await findPcap(v.deps.db, v.workspace.id, id);
  if (!row) throw new ApiError('not_found', `pcap ${id} not found`);
  if (row.pcap.status !== 'complete') throw new ApiError('conflict', `pcap ${id} is still uploading (${row.pcap.receivedBytes} of ${row.pcap.sizeBytes} bytes)`);
  return row;
}
