// The agent protocol's reports and config (domain/agent-protocol.ts): heartbeats, metrics,
// and the detection config the agent pulls. Authenticated by the node key.
import { z } from '@hono/zod-openapi';
import { listAllowlist } from '../../db/allowlist.js';
import { loadTiers } from '../../db/escalation.js';
import { recordHeartbeat, storeMetrics } from '../../db/nodes.js';
import { AgentConfigSchema, HeartbeatBody, MetricsBody } from '../../domain/agent-protocol.js';
import type { AgentEnv } from '../context.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { ok } from '../schemas/common.js';
import { agentConfigJson } from '../views/agent.js';
import { watchPrefixes } from '../prefix-watch.js';

const heartbeatRoute = defineRoute({
  method: 'post',
  path: '/agent/heartbeat',
  summary: 'Agent heartbeat',
  request: jsonBody(HeartbeatBody),
  responses: responses('Recorded', ok({ received_at: z.string() }), WRITE_ERRORS),
});

const configRoute = defineRoute({
  method: 'get',
  path: '/agent/config',
  summary: 'The node’s detection configuration',
  description: 'Thresholds (the workspace policy with per-host overrides applied), baseline mode, capture bounds and the allowlist.',
  responses: responses('Config', ok({ config: AgentConfigSchema })),
});

const metricsRoute = defineRoute({
  method: 'post',
  path: '/agent/metrics',
  summary: 'Per-second traffic samples, batched',
  request: jsonBody(MetricsBody),
  responses: responses('Stored', ok({ stored: z.number().int() }), WRITE_ERRORS),
});

export const agentRouter = router<AgentEnv>()
  .openapi(heartbeatRoute, async (c) => {
    await recordHeartbeat(c.var.deps.db, c.var.node.id, c.req.valid('json'));
    return c.json({ ok: true as const, received_at: new Date().toISOString() }, 200);
  })
  .openapi(configRoute, async (c) => {
    const { db } = c.var.deps;
    const node = c.var.node;
    const [{ policy, tiers }, allow] = await Promise.all([loadTiers(db, node.workspaceId, node.ip), listAllowlist(db, node.workspaceId, { nodeUuid: node.uuid })]);
    return c.json({ ok: true as const, config: agentConfigJson(node, policy, tiers, allow.map((a) => a.ipAddress)) }, 200);
  })
  .openapi(metricsRoute, async (c) => {
    const stored = await storeMetrics(c.var.deps.db, c.var.node.id, c.req.valid('json').samples);
    await watchPrefixes(c.var.deps, c.var.node);
    return c.json({ ok: true as const, stored }, 200);
  });
