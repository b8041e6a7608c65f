// Uploading an incident's capture from the agent: announce the file (size, SHA-256), then
// send it in chunks at the offset the server stands at. Announcing the same file again
// answers where the upload stands, so an agent that restarts resumes instead of starting over.
import { z } from '@hono/zod-openapi';
import { findNodeIncident, recordIncidentEvent } from '../../db/incidents.js';
import { appendChunk, createPcap, findNodeUpload, MAX_CHUNK_BYTES, MAX_PCAP_BYTES } from '../../db/pcaps.js';
import { PcapChunkQuery, PcapUploadSchema, StartPcapUploadBody } from '../../domain/agent-protocol.js';
import { PcapFormatError, readPcapHeader } from '../../domain/pcap.js';
import type { AgentEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { IncidentRefParam } from '../schemas/incidents.js';
import { pcapUploadJson } from '../views/pcaps.js';

const startRoute = defineRoute({
  method: 'post',
  path: '/agent/incidents/{ref}/pcaps',
  summary: 'Start (or resume) uploading an incident’s capture',
  description: `Idempotent per file (SHA-256): the answer's \`received_bytes\` is where to go on. At most ${MAX_PCAP_BYTES} bytes.`,
  request: { params: IncidentRefParam, ...jsonBody(StartPcapUploadBody) },
  responses: responses('The upload', ok({ pcap: PcapUploadSchema }), { ...WRITE_ERRORS, 403: 'quota_exceeded: the node or workspace keeps as much as it may', 404: 'not_found: no such incident for this node', 413: 'payload_too_large' }),
});

const chunkRoute = defineRoute({
  method: 'put',
  path: '/agent/pcaps/{id}/data',
  summary: 'Upload the next chunk of a capture',
  description: `The raw bytes (application/octet-stream, at most ${MAX_CHUNK_BYTES} per request) at \`offset\`, which must equal \`received_bytes\`; a 409 answer carries the right one. The last chunk completes the file if it hashes to the declared SHA-256, else the upload restarts at 0.`,
  request: {
    params: IdParam,
    query: PcapChunkQuery,
    body: { content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } }, required: true },
  },
  responses: responses('Stored', ok({ pcap: PcapUploadSchema }), {
    ...WRITE_ERRORS,
    404: 'not_found',
    409: 'conflict: wrong offset, more bytes than declared, or a checksum mismatch; received_bytes says where to go on',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    422: 'unprocessable: the first chunk does not begin with a pcap header this reads',
  }),
});

export const agentPcapsRouter = router<AgentEnv>()
  .openapi(startRoute, async (c) => {
    const { db } = c.var.deps;
    const node = c.var.node;
    const { ref } = c.req.valid('param');
    const body = c.req.valid('json');
    if (body.size_bytes > MAX_PCAP_BYTES) throw new ApiError('payload_too_large', `size_bytes ${body.size_bytes} is over the ${MAX_PCAP_BYTES}-byte limit for a capture`);
    const incident = await findNodeIncident(db, node.id, ref);
    if (!incident) throw new ApiError('not_found', `incident ${ref} not found for this node`);
    const created = await createPcap(
      db,
      { workspaceId: node.workspaceId, nodeId: node.id, incidentId: incident.id, sha256: body.sha256, sizeBytes: body.size_bytes, capturedAt: new Date(body.captured_at) },
      c.var.deps.pcapQuota,
    );
    if (!created.ok) throw new ApiError('quota_exceeded', created.reason);
    const row = created.row;
    if (row.sizeBytes !== body.size_bytes) throw new ApiError('conflict', `this file (sha256) was announced with size_bytes ${row.sizeBytes}`);
    return c.json({ ok: true as const, pcap: pcapUploadJson(row) }, 200);
  })
  .openapi(chunkRoute, async (c) => {
    const { db } = c.var.deps;
    const { id } = c.req.valid('param');
    const { offset } = c.req.valid('query');
    if (!(c.req.header('content-type') ?? '').startsWith('application/octet-stream')) {
      throw new ApiError('unsupported_media_type', 'send the chunk as application/octet-stream');
    }
    const own = await findNodeUpload(db, c.var.node.id, id);
    if (!own) throw new ApiError('not_found', `upload ${id} not found for this node`);
    const data = Buffer.from(await c.req.arrayBuffer());
    if (data.length === 0) throw new ApiError('invalid_parameter', 'body: a chunk holds at least one byte');
    // Refuse what is not a capture before storing a byte of it, not when someone reads it.
    if (offset === 0) {
      try {
        readPcapHeader(data);
      } catch (err) {
        if (err instanceof PcapFormatError) throw new ApiError('unprocessable', `body: ${err.message}; the first chunk must begin with the pcap header`);
        throw err;
      }
    }
    const res = await appendChunk(db, id, offset, data);
    if (!res.ok) throw new ApiError('conflict', res.message, { received_bytes: res.receivedBytes });
    if (res.row.status === 'complete') {
      await recordIncidentEvent(db, own.incidentId, {
        kind: 'pcap_uploaded',
        message: `capture ${id} uploaded (${res.row.sizeBytes} bytes)`,
        detail: { pcap_id: id, size_bytes: res.row.sizeBytes },
        dedupeKey: `pcap:${id}`,
      });
    }
    return c.json({ ok: true as const, pcap: pcapUploadJson(res.row) }, 200);
  });
