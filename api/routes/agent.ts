// The agent protocol: what a node's agent sends (heartbeats, metrics, incidents) and
// what it pulls (its detection config). Authenticated by the node key.
import { createRoute, z } from '@hono/zod-openapi';
import { and, eq, sql } from 'drizzle-orm';
import { listAllowlist } from '../../db/allowlist.js';
import { loadHostThresholds, loadPolicy } from '../../db/escalation.js';
import { incidentEvents, incidents, nodeMetrics, nodes } from '../../db/schema.js';
import { effectiveTiers, severityFor, tierFor } from '../../domain/escalation.js';
import { endEscalation, triggerEscalation } from '../../clients/incident.js';
import type { AgentEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { HeartbeatBody, IncidentRefParam, IncidentSchema, MetricsBody, ok, OpenIncidentBody, ResolveIncidentBody, UpdateIncidentBody } from '../schemas.js';
import { incidentJson } from './incidents.js';

/** What the agent needs to capture: bounded so a capture can never fill a disk. */
const CAPTURE = { max_packets: 20_000, max_seconds: 5, max_bytes: 16 * 1024 * 1024, snaplen: 256 };

const AgentConfigSchema = z
  .object({
    node: z.object({ uuid: z.string(), name: z.string(), ip: z.string(), interface: z.string().nullable() }),
    baseline_mode: z.enum(['static', 'dynamic']),
    /** Detection starts at the lowest tier; null figures never trigger. */
    detection: z.object({ pps: z.number().nullable(), bps: z.number().nullable() }),
    tiers: z.array(z.object({ level: z.number().int(), pps: z.number().nullable(), bps: z.number().nullable() })),
    capture: z.object({ max_packets: z.number(), max_seconds: z.number(), max_bytes: z.number(), snaplen: z.number() }),
    allowlist: z.array(z.string()),
  })
  .openapi('AgentConfig');

const heartbeatRoute = createRoute({
  method: 'post',
  path: '/agent/heartbeat',
  summary: 'Agent heartbeat',
  request: jsonBody(HeartbeatBody),
  responses: responses('Recorded', ok({ received_at: z.string() }), WRITE_ERRORS),
});

const configRoute = createRoute({
  method: 'get',
  path: '/agent/config',
  summary: 'The node’s detection configuration',
  description: 'Thresholds (the workspace policy with per-host overrides applied), baseline mode, capture bounds and the allowlist.',
  responses: responses('Config', ok({ config: AgentConfigSchema })),
});

const metricsRoute = createRoute({
  method: 'post',
  path: '/agent/metrics',
  summary: 'Per-second traffic samples, batched',
  request: jsonBody(MetricsBody),
  responses: responses('Stored', ok({ stored: z.number().int() }), WRITE_ERRORS),
});

const openRoute = createRoute({
  method: 'post',
  path: '/agent/incidents',
  summary: 'Open an incident',
  description: 'Idempotent by `ref`. Starts the incident’s escalation workflow.',
  request: jsonBody(OpenIncidentBody),
  responses: responses('The incident', ok({ incident: IncidentSchema }), WRITE_ERRORS),
});

const updateRoute = createRoute({
  method: 'post',
  path: '/agent/incidents/{ref}/update',
  summary: 'Report an incident’s current figures',
  request: { params: IncidentRefParam, ...jsonBody(UpdateIncidentBody) },
  responses: responses('The incident', ok({ incident: IncidentSchema }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: already resolved' }),
});

const resolveRoute = createRoute({
  method: 'post',
  path: '/agent/incidents/{ref}/resolve',
  summary: 'Resolve an incident',
  description: 'The escalation steps down after the policy’s hold-down and withdraws its rules.',
  request: { params: IncidentRefParam, ...jsonBody(ResolveIncidentBody, false) },
  responses: responses('The incident', ok({ incident: IncidentSchema }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

export const agentRouter = router<AgentEnv>()
  .openapi(heartbeatRoute, async (c) => {
    const b = c.req.valid('json');
    await c.var.deps.db
      .update(nodes)
      .set({
        lastSeenAt: sql`now()`,
        trafficState: b.traffic_state,
        ...(b.agent_version !== undefined ? { agentVersion: b.agent_version } : {}),
        ...(b.interface !== undefined ? { interface: b.interface } : {}),
        ...(b.pps !== undefined ? { lastPps: b.pps } : {}),
        ...(b.bps !== undefined ? { lastBps: b.bps } : {}),
        ...(b.protocol_mix !== undefined ? { protocolMix: b.protocol_mix } : {}),
        ...(b.baseline !== undefined ? { baseline: b.baseline } : {}),
      })
      .where(eq(nodes.id, c.var.node.id));
    return c.json({ ok: true as const, received_at: new Date().toISOString() }, 200);
  })
  .openapi(configRoute, async (c) => {
    const { db } = c.var.deps;
    const node = c.var.node;
    const [{ policy }, overrides, allow] = await Promise.all([
      loadPolicy(db, node.workspaceId),
      loadHostThresholds(db, node.workspaceId),
      listAllowlist(db, node.workspaceId, { nodeUuid: node.uuid }),
    ]);
    const tiers = effectiveTiers(policy, overrides, node.ip);
    const lowest = tiers[0];
    return c.json(
      {
        ok: true as const,
        config: {
          node: { uuid: node.uuid, name: node.name, ip: node.ip, interface: node.interface },
          baseline_mode: policy.baselineMode,
          detection: { pps: lowest?.pps ?? null, bps: lowest?.bps ?? null },
          tiers: tiers.map((t) => ({ level: t.level, pps: t.pps, bps: t.bps })),
          capture: CAPTURE,
          allowlist: allow.map((a) => a.ipAddress),
        },
      },
      200,
    );
  })
  .openapi(metricsRoute, async (c) => {
    const { samples } = c.req.valid('json');
    const node = c.var.node;
    const rows = samples.map((s) => ({ nodeId: node.id, at: new Date(s.at), pps: s.pps, bps: s.bps, protocolMix: s.protocol_mix ?? null }));
    const stored = await c.var.deps.db.insert(nodeMetrics).values(rows).onConflictDoNothing().returning({ at: nodeMetrics.at });
    const last = rows.reduce((a, b) => (b.at > a.at ? b : a));
    await c.var.deps.db
      .update(nodes)
      .set({ lastSeenAt: sql`now()`, lastPps: last.pps, lastBps: last.bps, ...(last.protocolMix ? { protocolMix: last.protocolMix } : {}) })
      .where(eq(nodes.id, node.id));
    return c.json({ ok: true as const, stored: stored.length }, 200);
  })
  .openapi(openRoute, async (c) => {
    const { db } = c.var.deps;
    const node = c.var.node;
    const b = c.req.valid('json');
    const target = b.target_ip ?? node.ip;
    const [{ policy }, overrides] = await Promise.all([loadPolicy(db, node.workspaceId), loadHostThresholds(db, node.workspaceId)]);
    const figures = { pps: b.pps, bps: b.bps };
    const cls = b.classification;
    const [inserted] = await db
      .insert(incidents)
      .values({
        workspaceId: node.workspaceId,
        nodeId: node.id,
        agentRef: b.ref,
        targetIp: target,
        severity: severityFor(tierFor(effectiveTiers(policy, overrides, target), figures)),
        family: cls?.family ?? 'unknown',
        subtype: cls?.subtype ?? null,
        confidence: cls?.confidence ?? null,
        classification: cls ?? null,
        currentPps: b.pps,
        currentBps: b.bps,
        peakPps: b.pps,
        peakBps: b.bps,
        startedAt: new Date(b.started_at),
      })
      .onConflictDoNothing()
      .returning();
    const row = inserted ?? (await findIncident(c.var, b.ref));
    if (inserted) {
      const what = cls ? `${cls.family}${cls.subtype ? ` (${cls.subtype})` : ''}` : 'attack';
      await db
        .insert(incidentEvents)
        .values({ incidentId: row.id, kind: 'opened', message: `${what} on ${target} reported by ${node.name}: ${b.pps} pps, ${b.bps} bps`, detail: { ...figures }, dedupeKey: 'opened' })
        .onConflictDoNothing();
      await db.update(nodes).set({ trafficState: 'attack', lastSeenAt: sql`now()` }).where(eq(nodes.id, node.id));
    }
    await triggerEscalation(c.var.deps, row.id, figures);
    return c.json({ ok: true as const, incident: incidentJson(row, node.uuid) }, 200);
  })
  .openapi(updateRoute, async (c) => {
    const { db } = c.var.deps;
    const { ref } = c.req.valid('param');
    const b = c.req.valid('json');
    const current = await findIncident(c.var, ref);
    if (current.status !== 'open') throw new ApiError('conflict', `incident ${ref} is already resolved; open a new one`);
    const cls = b.classification;
    const [row] = await db
      .update(incidents)
      .set({
        currentPps: b.pps,
        currentBps: b.bps,
        peakPps: sql`greatest(${incidents.peakPps}, ${b.pps})`,
        peakBps: sql`greatest(${incidents.peakBps}, ${b.bps})`,
        ...(cls ? { family: cls.family, subtype: cls.subtype ?? null, confidence: cls.confidence ?? null, classification: cls } : {}),
      })
      .where(eq(incidents.id, current.id))
      .returning();
    await triggerEscalation(c.var.deps, current.id, { pps: b.pps, bps: b.bps });
    return c.json({ ok: true as const, incident: incidentJson(row!, c.var.node.uuid) }, 200);
  })
  .openapi(resolveRoute, async (c) => {
    const { db } = c.var.deps;
    const { ref } = c.req.valid('param');
    const b = c.req.valid('json') ?? {};
    const current = await findIncident(c.var, ref);
    if (current.status === 'resolved') return c.json({ ok: true as const, incident: incidentJson(current, c.var.node.uuid) }, 200);
    const [row] = await db
      .update(incidents)
      .set({ status: 'resolved', resolvedAt: b.ended_at ? new Date(b.ended_at) : sql`now()`, currentPps: 0, currentBps: 0 })
      .where(eq(incidents.id, current.id))
      .returning();
    await db
      .insert(incidentEvents)
      .values({ incidentId: current.id, kind: 'resolved', message: `the agent reports the attack ended; mitigation steps down after the hold-down`, detail: null, dedupeKey: 'resolved' })
      .onConflictDoNothing();
    await db.update(nodes).set({ trafficState: 'normal' }).where(eq(nodes.id, c.var.node.id));
    await endEscalation(c.var.deps, current.id);
    return c.json({ ok: true as const, incident: incidentJson(row!, c.var.node.uuid) }, 200);
  });

/** The node's incident by the agent's ref, or not_found. */
export async function findIncident(v: AgentEnv['Variables'], ref: string) {
  const [row] = await v.deps.db
    .select()
    .from(incidents)
    .where(and(eq(incidents.nodeId, v.node.id), eq(incidents.agentRef, ref)));
  if (!row) throw new ApiError('not_found', `incident ${ref} not found for this node`);
  return row;
}
