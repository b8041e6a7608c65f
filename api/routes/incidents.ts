// Incidents as users read them: filters, and each one's timeline with the rules it made.
import { z } from '@hono/zod-openapi';
import { findIncident, incidentTimeline, listIncidents } from '../../db/incidents.js';
import { listIncidentRules } from '../../db/rules.js';
import { ApiError } from '../errors.js';
import { defineRoute, responses, router } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { IncidentEventSchema, IncidentListQuery, IncidentSchema } from '../schemas/incidents.js';
import { RuleSchema } from '../schemas/rules.js';
import { incidentEventJson, incidentJson } from '../views/incidents.js';
import { ruleJson } from '../views/rules.js';

const listRoute = defineRoute({
  method: 'get',
  path: '/incidents',
  summary: 'List incidents',
  description: 'Newest first; filter by node, status, severity, family and start time.',
  request: { query: IncidentListQuery },
  responses: responses('Incidents', ok({ incidents: z.array(IncidentSchema), total: z.number().int() })),
});

const getRoute = defineRoute({
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
    const { rows, total } = await listIncidents(c.var.deps.db, c.var.workspace.id, { ...q, since: q.since ? new Date(q.since) : undefined });
    return c.json({ ok: true as const, incidents: rows.map((r) => incidentJson(r.incident, r.node)), total }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { db } = c.var.deps;
    const row = await findIncident(db, c.var.workspace.id, id);
    if (!row) throw new ApiError('not_found', `incident ${id} not found`);
    const [events, rules] = await Promise.all([incidentTimeline(db, id), listIncidentRules(db, id)]);
    return c.json(
      {
        ok: true as const,
        incident: incidentJson(row.incident, row.node),
        timeline: events.map(incidentEventJson),
        rules: rules.map(ruleJson),
      },
      200,
    );
  });
