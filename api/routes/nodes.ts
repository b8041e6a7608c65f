// Nodes: the protected hosts, each running an agent that authenticates with its node key.
import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, sql } from 'drizzle-orm';
import { isUniqueViolation } from '../../db/client.js';
import { newNodeKey, nodeStatusSql } from '../../db/nodes.js';
import { incidents, nodes } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import { jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import type { NodeCommand } from '../../domain/node-command.js';
import { runNodeCommand } from '../../clients/node-command.js';
import { CreateNodeBody, NodeCommandBody, NodeCommandOutcome, NodeListQuery, NodeSchema, NodeUuidParam, ok, UpdateNodeBody } from '../schemas.js';

type NodeRow = typeof nodes.$inferSelect;
type Status = z.infer<typeof NodeSchema>['status'];

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function nodeJson(n: NodeRow, status: Status): z.infer<typeof NodeSchema> {
  return {
    uuid: n.uuid,
    name: n.name,
    ip: n.ip,
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

const selectWithStatus = { node: nodes, status: nodeStatusSql };

const createNodeRoute = createRoute({
  method: 'post',
  path: '/nodes',
  summary: 'Register a node',
  description: 'Answers with the node and its `api_key`, which the agent authenticates with. The key is shown only here.',
  request: jsonBody(CreateNodeBody),
  responses: responses('The node and its key', ok({ node: NodeSchema, api_key: z.string() }), { ...WRITE_ERRORS, 409: 'conflict: a node with this name exists' }),
});

const listNodesRoute = createRoute({
  method: 'get',
  path: '/nodes',
  summary: 'List nodes',
  request: { query: NodeListQuery },
  responses: responses('Nodes', ok({ nodes: z.array(NodeSchema), total: z.number().int() })),
});

const getNodeRoute = createRoute({
  method: 'get',
  path: '/nodes/{uuid}',
  summary: 'Get a node, with its last traffic figures, baseline and protocol mix',
  request: { params: NodeUuidParam },
  responses: responses('The node', ok({ node: NodeSchema }), { 404: 'not_found' }),
});

const updateNodeRoute = createRoute({
  method: 'patch',
  path: '/nodes/{uuid}',
  summary: 'Update a node',
  request: { params: NodeUuidParam, ...jsonBody(UpdateNodeBody) },
  responses: responses('The node', ok({ node: NodeSchema }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: a node with this name exists' }),
});

const deleteNodeRoute = createRoute({
  method: 'delete',
  path: '/nodes/{uuid}',
  summary: 'Delete a node',
  description: 'Its key stops working at once; its incidents and metrics go with it.',
  request: { params: NodeUuidParam },
  responses: responses('Deleted', ok({ deleted: z.string() }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: the node has an open incident' }),
});


const commandRoute = createRoute({
  method: 'post',
  path: '/nodes/{uuid}/commands',
  summary: 'Run a command on a node',
  description:
    'Apply or remove a firewall rule set, block or unblock a source, or take a capture. The agent picks the command up on its next poll; ' +
    'the answer waits for its outcome (up to 30 s, then `pending` with the workflow id to follow in the Temporal UI).',
  request: { params: NodeUuidParam, ...jsonBody(NodeCommandBody) },
  responses: responses('The outcome', ok({ command: NodeCommandOutcome }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

export const nodesRouter = router()
  .openapi(createNodeRoute, async (c) => {
    const body = c.req.valid('json');
    const { key, hash } = newNodeKey();
    const [row] = await c.var.deps.db
      .insert(nodes)
      .values({
        workspaceId: c.var.workspace.id,
        name: body.name,
        ip: body.ip,
        location: body.location ?? null,
        os: body.os ?? null,
        interface: body.interface ?? null,
        keyHash: hash,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new ApiError('conflict', `name: a node named "${body.name}" already exists`);
    return c.json({ ok: true as const, node: nodeJson(row, 'offline'), api_key: key }, 200);
  })
  .openapi(listNodesRoute, async (c) => {
    const { limit, offset, status } = c.req.valid('query');
    const where = and(eq(nodes.workspaceId, c.var.workspace.id), status ? sql`${nodeStatusSql} = ${status}` : undefined);
    const [rows, [count]] = await Promise.all([
      c.var.deps.db.select(selectWithStatus).from(nodes).where(where).orderBy(desc(nodes.id)).limit(limit).offset(offset),
      c.var.deps.db.select({ n: sql<number>`count(*)::int` }).from(nodes).where(where),
    ]);
    return c.json({ ok: true as const, nodes: rows.map((r) => nodeJson(r.node, r.status)), total: count!.n }, 200);
  })
  .openapi(getNodeRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const [row] = await c.var.deps.db
      .select(selectWithStatus)
      .from(nodes)
      .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, c.var.workspace.id)));
    if (!row) throw new ApiError('not_found', `node ${uuid} not found`);
    return c.json({ ok: true as const, node: nodeJson(row.node, row.status) }, 200);
  })
  .openapi(updateNodeRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const body = c.req.valid('json');
    let row: NodeRow | undefined;
    try {
      [row] = await c.var.deps.db
        .update(nodes)
        .set({ ...body, updatedAt: sql`now()` })
        .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, c.var.workspace.id)))
        .returning();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('conflict', `name: a node named "${body.name}" already exists`);
      throw err;
    }
    if (!row) throw new ApiError('not_found', `node ${uuid} not found`);
    const [status] = await c.var.deps.db.select({ s: nodeStatusSql }).from(nodes).where(eq(nodes.id, row.id));
    return c.json({ ok: true as const, node: nodeJson(row, status!.s) }, 200);
  })
  .openapi(commandRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const [node] = await c.var.deps.db
      .select({ id: nodes.id, uuid: nodes.uuid })
      .from(nodes)
      .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, c.var.workspace.id)));
    if (!node) throw new ApiError('not_found', `node ${uuid} not found`);
    const body = c.req.valid('json');
    let toRun = body as NodeCommand;
    if (body.type === 'capture' && body.incident_id !== undefined) {
      // The agent knows its incidents by its own ref.
      const [incident] = await c.var.deps.db
        .select({ ref: incidents.agentRef })
        .from(incidents)
        .where(and(eq(incidents.id, body.incident_id), eq(incidents.nodeId, node.id)));
      if (!incident) throw new ApiError('not_found', `incident_id: incident ${body.incident_id} not found for node ${uuid}`);
      toRun = { type: 'capture', seconds: body.seconds, max_packets: body.max_packets, incident_ref: incident.ref };
    }
    const { deps } = c.var;
    const { workflowId, outcome } = await runNodeCommand(deps, node, toRun, { heartbeatTimeoutSeconds: deps.commandHeartbeatTimeoutSeconds ?? 30 }, deps.commandWaitMs ?? 30_000);
    const command = outcome === null
      ? { workflow_id: workflowId, status: 'pending' as const, result: null, error: null }
      : outcome.ok
        ? { workflow_id: workflowId, status: 'succeeded' as const, result: outcome.detail ?? {}, error: null }
        : { workflow_id: workflowId, status: 'failed' as const, result: null, error: outcome.error };
    return c.json({ ok: true as const, command }, outcome === null ? 202 : 200);
  })
  .openapi(deleteNodeRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const [open] = await c.var.deps.db
      .select({ id: incidents.id })
      .from(incidents)
      .innerJoin(nodes, eq(nodes.id, incidents.nodeId))
      .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, c.var.workspace.id), eq(incidents.status, 'open')))
      .limit(1);
    // Its incident's escalation still holds rules: deleting the node would orphan them.
    if (open) throw new ApiError('conflict', `node ${uuid} has an open incident (${open.id}); it can be deleted once the incident is resolved`);
    const [row] = await c.var.deps.db
      .delete(nodes)
      .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, c.var.workspace.id)))
      .returning({ uuid: nodes.uuid });
    if (!row) throw new ApiError('not_found', `node ${uuid} not found`);
    return c.json({ ok: true as const, deleted: row.uuid }, 200);
  });
