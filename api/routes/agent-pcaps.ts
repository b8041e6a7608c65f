// Uploading an incident's capture from the agent: announce the file (size, SHA-256), then
// send it in chunks at the offset the server stands at. Announcing the same file again
// answers where the upload stands, so an agent that restarts resumes instead of starting over.
import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { appendChunk, createPcap, MAX_CHUNK_BYTES, MAX_PCAP_BYTES, type PcapRow } from '../../db/pcaps.js';
import { incidentEvents, pcaps } from '../../db/schema.js';
import type { AgentEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, IncidentRefParam, ok } from '../schemas.js';
import { findIncident } from './agent.js';

const AgentPcapSchema = z
  .object({
    id: z.number().int(),
    size_bytes: z.number().int(),
    received_bytes: z.number().int(),
    status: z.enum(['uploading', 'complete']),
  })
  .openapi('AgentPcapUpload');

const StartUploadBody = z
  .strictObject({
    size_bytes: z.number().int().min(24, 'size_bytes must be at least a pcap header (24 bytes)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lower-case hex characters'),
    captured_at: z.iso.datetime({ offset: true }),
  })
  .openapi('StartPcapUpload');

const ChunkQuery = z.object({
  offset: z.coerce.number().int('offset must be a whole number of bytes').min(0, 'offset must be 0 or more'),
});

const startRoute = createRoute({
  method: 'post',
  path: '/agent/incidents/{ref}/pcaps',
  summary: 'Start (or resume) uploading an incident’s capture',
  description: `Idempotent per file (SHA-256): the answer's \`received_bytes\` is where to go on. At most ${MAX_PCAP_BYTES} bytes.`,
  request: { params: IncidentRefParam, ...jsonBody(StartUploadBody) },
  responses: responses('The upload', ok({ pcap: AgentPcapSchema }), { ...WRITE_ERRORS, 404: 'not_found: no such incident for this node', 413: 'payload_too_large' }),
});

const chunkRoute = createRoute({
  method: 'put',
  path: '/agent/pcaps/{id}/data',
  summary: 'Upload the next chunk of a capture',
  description: `The raw bytes (application/octet-stream, at most ${MAX_CHUNK_BYTES} per request) at \`offset\`, which must equal \`received_bytes\`; a 409 answer carries the right one. The last chunk completes the file if it hashes to the declared SHA-256, else the upload restarts at 0.`,
  request: {
    params: IdParam,
    query: ChunkQuery,
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true },
  },
  responses: responses('Stored', ok({ pcap: AgentPcapSchema }), {
    ...WRITE_ERRORS,
    404: 'not_found',
    409: 'conflict: wrong offset, more bytes than declared, or a checksum mismatch; received_bytes says where to go on',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
  }),
});

const uploadJson = (r: PcapRow): z.infer<typeof AgentPcapSchema> => ({ id: r.id, size_bytes: r.sizeBytes, received_bytes: r.receivedBytes, status: r.status });

export const agentPcapsRouter = router<AgentEnv>()
  .openapi(startRoute, async (c) => {
    const { db } = c.var.deps;
    const node = c.var.node;
    const { ref } = c.req.valid('param');
    const body = c.req.valid('json');
    if (body.size_bytes > MAX_PCAP_BYTES) throw new ApiError('payload_too_large', `size_bytes ${body.size_bytes} is over the ${MAX_PCAP_BYTES}-byte limit for a capture`);
    const incident = await findIncident(c.var, ref);
    const row = await createPcap(db, {
      workspaceId: node.workspaceId,
      nodeId: node.id,
      incidentId: incident.id,
      sha256: body.sha256,
      sizeBytes: body.size_bytes,
      capturedAt: new Date(body.captured_at),
    });
    if (row.sizeBytes !== body.size_bytes) throw new ApiError('conflict', `this file (sha256) was announced with size_bytes ${row.sizeBytes}`);
    return c.json({ ok: true as const, pcap: uploadJson(row) }, 200);
  })
  .openapi(chunkRoute, async (c) => {
    const { db } = c.var.deps;
    const { id } = c.req.valid('param');
    const { offset } = c.req.valid('query');
    if (!(c.req.header('content-type') ?? '').startsWith('application/octet-stream')) {
      throw new ApiError('unsupported_media_type', 'send the chunk as application/octet-stream');
    }
    const [own] = await db
      .select({ id: pcaps.id, incidentId: pcaps.incidentId })
      .from(pcaps)
      .where(and(eq(pcaps.id, id), eq(pcaps.nodeId, c.var.node.id)));
    if (!own) throw new ApiError('not_found', `upload ${id} not found for this node`);
    const data = Buffer.from(await c.req.arrayBuffer());
    if (data.length === 0) throw new ApiError('invalid_parameter', 'body: a chunk holds at least one byte');
    const res = await appendChunk(db, id, offset, data);
    if (!res.ok) throw new ApiError('conflict', res.message, { received_bytes: res.receivedBytes });
    if (res.row.status === 'complete') {
      await db
        .insert(incidentEvents)
        .values({
          incidentId: own.incidentId,
          kind: 'pcap_uploaded',
          message: `capture ${id} uploaded (${res.row.sizeBytes} bytes)`,
          detail: { pcap_id: id, size_bytes: res.row.sizeBytes },
          dedupeKey: `pcap:${id}`,
        })
        .onConflictDoNothing();
    }
    return c.json({ ok: true as const, pcap: uploadJson(res.row) }, 200);
  });
