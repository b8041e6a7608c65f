// Incidents as users read them: filters, and each one's timeline with the rules it made.
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq, gte, sql } from 'drizzle-orm';
import { incidentEvents, incidents, mitigationRules, nodes } from '../../db/schema.js';
import { ApiError } from '../errors.js';
import { responses, router } from '../openapi.js';
import { IdParam, IncidentEventSchema, IncidentListQuery, IncidentSchema, ok, RuleSchema } from '../schemas.js';
import { ruleJson } from './rules.js';
import { incidentWorkflowId } from '../../workflows/incident.contract.js';

type IncidentRow = typeof incidents.$inferSelect;

export function incidentJson(r: IncidentRow, nodeUuid: string): z.infer<typeof IncidentSchema> {
  return {
    id: r.id,
    node: nodeUuid,
    target_ip: r.targetIp,
    status: r.status,
    severity: r.severity,
    family: r.family,
    subtype: r.subtype,
    confidence: r.confidence,
    tier: r.tier,
    current_pps: r.currentPps,
    current_bps: r.currentBps,
    peak_pps: r.peakPps,
    peak_bps: r.peakBps,
    classification: r.classification,
    workflow_id: incidentWorkflowId(r.id),
    started_at: r.startedAt.toISOString(),
    resolved_at: r.resolvedAt ? r.resolvedAt.toISOString() : null,
  };
}

const listRoute = createRoute({
  method: 'get',
  path: '/incidents',
  summary: 'List incidents',
  description: 'Newest first; filter by node, status, severity, family and start time.',
  request: { query: IncidentListQuery },
  responses: responses('Incidents', ok({ incidents: z.array(IncidentSchema), total: z.number().int() })),
});

const getRoute = createRoute({
  method: 'get',
  path: '/incidents/{id}',
  summary: 'Get an incident with its timeline',
  description: 'The timeline holds everything decided or done about the incident: tier changes, rules requested and withdrawn, dry-run and refused actions.',
  request: { params: IdParam },
  responses: responses('The incident', ok({ incident: IncidentSchema, timeline: z.array(IncidentEventSchema), rules: z.array(RuleSchema) }), { 404: 'not_found' }),
});

export const incidentsRouter = router()
  .openapi(listRoute, async (c) => {
    const q = c.req.valid('query');
    const where = and(
      eq(incidents.workspaceId, c.var.workspace.id),
      q.node ? eq(nodes.uuid, q.node) : undefined,
      q.status ? eq(incidents.status, q.status) : undefined,
      q.severity ? eq(incidents.severity, q.severity) : undefined,
      q.family ? eq(incidents.family, q.family) : undefined,
      q.since ? gte(incidents.startedAt, new Date(q.since)) : undefined,
    );
    const [rows, [count]] = await Promise.all([
      c.var.deps.db
        .select({ incident: incidents, node: nodes.uuid })
        .from(incidents)
        .innerJoin(nodes, eq(nodes.id, incidents.nodeId))
        .where(where)
        .orderBy(desc(incidents.startedAt), desc(incidents.id))
        .limit(q.limit)
        .offset(q.offset),
      c.var.deps.db.select({ n: sql<number>`count(*)::int` }).from(incidents).innerJoin(nodes, eq(nodes.id, incidents.nodeId)).where(where),
    ]);
    return c.json({ ok: true as const, incidents: rows.map((r) => incidentJson(r.incident, r.node)), total: count!.n }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.var.deps;
    const [row] = await db
      .select({ incident: incidents, node: nodes.uuid })
      .from(incidents)
      .innerJoin(nodes, eq(nodes.id, incidents.nodeId))
      .where(and(eq(incidents.id, id), eq(incidents.workspaceId, c.var.workspace.id)));
    if (!row) throw new ApiError('not_found', `incident ${id} not found`);
    const [events, rules] = await Promise.all([
      db.select().from(incidentEvents).where(eq(incidentEvents.incidentId, id)).orderBy(asc(incidentEvents.at), asc(incidentEvents.id)),
      db.select().from(mitigationRules).where(eq(mitigationRules.incidentId, id)).orderBy(asc(mitigationRules.id)),
    ]);
    return c.json(
      {
        ok: true as const,
        incident: incidentJson(row.incident, row.node),
        timeline: events.map((e) => ({ at: e.at.toISOString(), kind: e.kind, message: e.message, detail: e.detail })),
        rules: rules.map(ruleJson),
      },
      200,
    );
  });
