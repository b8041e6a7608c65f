// A node as the API answers it: never its key (shown once, at creation).
import type { z } from '@hono/zod-openapi';
import type { NodeRow, NodeStatus } from '../../db/nodes.js';
import type { NodeSchema } from '../schemas/nodes.js';
import { iso } from './time.js';

export function nodeJson(n: NodeRow, status: NodeStatus): z.infer<typeof NodeSchema> {
  return {
    uuid: n.uuid,
    name: n.name,
    ip: n.ip,
    prefixes: n.prefixes,
    location: n.location,
    os: n.os,
    interface: n.interface,
    status,
    last_seen_at: iso(n.lastSeenAt),
    last_pps: n.lastPps,
    last_bps: n.lastBps,
    protocol_mix: n.protocolMix,
    baseline: n.baseline,
    agent_version: n.agentVersion,
    created_at: n.createdAt.toISOString(),
  };
}
