// Nodes: the protected hosts, each running an agent that authenticates with its node key.
import { z } from '@hono/zod-openapi';
import { runNodeCommand } from '../../clients/node-command.js';
import { findIncidentOfNode, openIncidentOf } from '../../db/incidents.js';
import { createNode, deleteNode, findNode, listNodes, recentSecurityEvents, updateNode } from '../../db/nodes.js';
import type { NodeCommand } from '../../domain/node-command.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { ok } from '../schemas/common.js';
import { CreateNodeBody, NodeCommandBody, NodeCommandOutcome, NodeListQuery, NodeSchema, NodeSecurityEventSchema, NodeUuidParam, UpdateNodeBody } from '../schemas/nodes.js';
import { nodeJson } from '../views/nodes.js';

const createNodeRoute = defineRoute({
  method: 'post',
  path: '/nodes',
  summary: 'Register a node',
  description: 'Answers with the node and its `api_key`, which the agent authenticates with. The key is shown only here.',
  request: jsonBody(CreateNodeBody),
  responses: responses('The node and its key', ok({ node: NodeSchema, api_key: z.string() }), { ...WRITE_ERRORS, 409: 'conflict: a node with this name exists' }),
});

const listNodesRoute = defineRoute({
  method: 'get',
  path: '/nodes',
  summary: 'List nodes',
  request: { query: NodeListQuery },
  responses: responses('Nodes', ok({ nodes: z.array(NodeSchema), total: z.number().int() })),
});

const getNodeRoute = defineRoute({
  method: 'get',
  path: '/nodes/{uuid}',
  summary: 'Get a node, with its last traffic figures, baseline and protocol mix',
  description: 'With the latest security events: what its key was used to attempt and was refused (a stolen key, or a broken agent).',
  request: { params: NodeUuidParam },
  responses: responses('The node', ok({ node: NodeSchema, security_events: z.array(NodeSecurityEventSchema) }), { 404: 'not_found' }),
});

const updateNodeRoute = defineRoute({
  method: 'patch',
  path: '/nodes/{uuid}',
  summary: 'Update a node',
  request: { params: NodeUuidParam, ...jsonBody(UpdateNodeBody) },
  responses: responses('The node', ok({ node: NodeSchema }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: a node with this name exists' }),
});

const deleteNodeRoute = defineRoute({
  method: 'delete',
  path: '/nodes/{uuid}',
  summary: 'Delete a node',
  description: 'Its key stops working at once; its incidents and metrics go with it.',
  request: { params: NodeUuidParam },
  responses: responses('Deleted', ok({ deleted: z.string() }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: the node has an open incident' }),
});


const commandRoute = defineRoute({
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
    const created = await createNode(c.var.deps.db, c.var.workspace.id, {
      name: body.name,
      ip: body.ip,
      prefixes: body.prefixes ?? [],
      location: body.location ?? null,
      os: body.os ?? null,
      interface: body.interface ?? null,
    });
    if (!created) throw new ApiError('conflict', `name: a node named "${body.name}" already exists`);
    return c.json({ ok: true as const, node: nodeJson(created.node, 'offline'), api_key: created.key }, 200);
  })
  .openapi(listNodesRoute, async (c) => {
    const { rows, total } = await listNodes(c.var.deps.db, c.var.workspace.id, c.req.valid('query'));
    return c.json({ ok: true as const, nodes: rows.map((r) => nodeJson(r.node, r.status)), total }, 200);
  })
  .openapi(getNodeRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const row = await findNode(c.var.deps.db, c.var.workspace.id, uuid);
    if (!row) throw new ApiError('not_found', `node ${uuid} not found`);
    const events = await recentSecurityEvents(c.var.deps.db, row.node.id);
    return c.json({ ok: true as const, node: nodeJson(row.node, row.status), security_events: events.map((e) => ({ ...e, at: e.at.toISOString() })) }, 200);
  })
  .openapi(updateNodeRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const body = c.req.valid('json');
    const updated = await updateNode(c.var.deps.db, c.var.workspace.id, uuid, body);
    if (updated === 'name_taken') throw new ApiError('conflict', `name: a node named "${body.name}" already exists`);
    if (!updated) throw new ApiError('not_found', `node ${uuid} not found`);
    return c.json({ ok: true as const, node: nodeJson(updated.node, updated.status) }, 200);
  })
  .openapi(commandRoute, async (c) => {
    const { uuid } = c.req.valid('param');
    const found = await findNode(c.var.deps.db, c.var.workspace.id, uuid);
    if (!found) throw new ApiError('not_found', `node ${uuid} not found`);
    const { node } = found;
    const body = c.req.valid('json');
    let toRun = body as NodeCommand;
    if (body.type === 'capture' && body.incident_id !== undefined) {
      // The agent knows its incidents by its own ref.
      const incident = await findIncidentOfNode(c.var.deps.db, node.id, body.incident_id);
      if (!incident) throw new ApiError('not_found', `incident_id: incident ${body.incident_id} not found for node ${uuid}`);
      toRun = { type: 'capture', seconds: body.seconds, max_packets: body.max_packets, incident_ref: incident.agentRef };
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
    const open = await openIncidentOf(c.var.deps.db, c.var.workspace.id, uuid);
    // Its incident's escalation still holds rules: deleting the node would orphan them.
    if (open) throw new ApiError('conflict', `node ${uuid} has an open incident (${open.id}); it can be deleted once the incident is resolved`);
    if (!(await deleteNode(c.var.deps.db, c.var.workspace.id, uuid))) throw new ApiError('not_found', `node ${uuid} not found`);
    return c.json({ ok: true as const, deleted: uuid }, 200);
  });
