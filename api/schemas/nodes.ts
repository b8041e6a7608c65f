// Nodes (the protected hosts) and the commands users run on them.
import { z } from '@hono/zod-openapi';
import { captureCommand, FIREWALL_COMMANDS, stopCaptureCommand } from '../../domain/agent-protocol.js';
import { Address, IfName, queryInt } from '../../domain/wire.js';
import { NODE_STATUSES } from '../../db/nodes.js';
import { NODE_SECURITY_EVENT_KINDS } from '../../db/schema.js';
import { MAX_NODE_PREFIXES, refuseNodePrefix } from '../../domain/node-targets.js';
import { bodyId, Timestamp, Uuid } from './common.js';

const NodeName = z.string().trim().min(1, 'must not be empty').max(100);

const NodePrefixes = z
  .array(
    z
      .string()
      .max(64)
      .superRefine((v, ctx) => {
        const refused = refuseNodePrefix(v);
        if (refused) ctx.addIssue({ code: 'custom', message: refused });
      }),
  )
  .max(MAX_NODE_PREFIXES, `must hold at most ${MAX_NODE_PREFIXES} prefixes`)
  .transform((list) => [...new Set(list)])
  .openapi({
    description: "more addresses the node protects, as CIDRs: its agent may report attacks on these and on `ip` only (anything else is refused and recorded as a security event)",
    example: ['203.0.113.0/28'],
  });

export const CreateNodeBody = z
  .strictObject({
    name: NodeName.openapi({ example: 'game-fra-01' }),
    ip: Address,
    prefixes: NodePrefixes.optional(),
    location: z.string().max(100).nullable().optional().openapi({ example: 'Frankfurt' }),
    os: z.string().max(100).nullable().optional().openapi({ example: 'Debian 12' }),
    interface: IfName.nullable().optional().openapi({ description: 'interface the agent watches; default: the busiest physical one', example: 'eth0' }),
  })
  .openapi('CreateNode');

export const UpdateNodeBody = z
  .strictObject({
    name: NodeName.optional(),
    ip: Address.optional(),
    prefixes: NodePrefixes.optional(),
    location: z.string().max(100).nullable().optional(),
    os: z.string().max(100).nullable().optional(),
    interface: IfName.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change')
  .openapi('UpdateNode');

export const NodeListQuery = z.strictObject({
  limit: queryInt(1, 500).default(100),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).default(0),
  status: z.enum(NODE_STATUSES).optional(),
});

export const NodeUuidParam = z.object({ uuid: Uuid.openapi({ param: { name: 'uuid', in: 'path' }, example: 'a1b2c3d4-0000-4000-8000-000000000000' }) });

export const NodeSchema = z
  .object({
    uuid: z.string(),
    name: z.string(),
    ip: z.string(),
    prefixes: z.array(z.string()),
    location: z.string().nullable(),
    os: z.string().nullable(),
    interface: z.string().nullable(),
    status: z.enum(NODE_STATUSES),
    last_seen_at: Timestamp,
    last_pps: z.number().nullable(),
    last_bps: z.number().nullable(),
    protocol_mix: z.record(z.string(), z.number()).nullable(),
    baseline: z.record(z.string(), z.unknown()).nullable(),
    agent_version: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Node');

/** A command as users send it: a capture names one of the node's incidents by id. */
export const NodeSecurityEventSchema = z
  .object({ at: z.string(), kind: z.enum(NODE_SECURITY_EVENT_KINDS), message: z.string() })
  .openapi('NodeSecurityEvent');

export const NodeCommandBody = z
  .discriminatedUnion('type', [
    ...FIREWALL_COMMANDS,
    captureCommand.omit({ incident_ref: true }).extend({
      incident_id: bodyId(Number.MAX_SAFE_INTEGER).optional().openapi({ description: "upload the capture to this incident of the node's (GET /pcaps)" }),
    }),
    stopCaptureCommand,
  ])
  .openapi('NodeCommand', { example: { type: 'capture', seconds: 10, max_packets: 20000, incident_id: 42 } });

export const NodeCommandOutcome = z
  .object({
    workflow_id: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    result: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
  })
  .openapi('NodeCommandOutcome');
