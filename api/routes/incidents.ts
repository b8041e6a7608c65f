// Incidents as users read them: filters, and each one's timeline with the rules it made.
import { z } from '@hono/zod-openapi';
import { findIncident, incidentTimeline, listIncidents } from '../../db/incidents.js';
import { listIncidentRules } from '../../db/rules.js';
import { listIncidentExecutions, stepResults } from '../../db/runbooks.js';
import { ApiError } from '../errors.js';
import { defineRoute, responses, router } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { IncidentEventSchema, IncidentListQuery, IncidentSchema } from '../schemas/incidents.js';
import { RuleSchema } from '../schemas/rules.js';
import { ExecutionSchema } from '../schemas/runbooks.js';
import { incidentEventJson, incidentJson } from '../views/incidents.js';
import { ruleJson } from '../views/rules.js';
import { DEFAULT_TEMPORAL_UI, executionJson } from '../views/runbooks.js';

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
  responses: responses(
    'The incident, its timeline, its rules and the runbook executions it triggered (each step by step)',
    ok({ incident: IncidentSchema, timeline: z.array(IncidentEventSchema), rules: z.array(RuleSchema), runbook_executions: z.array(ExecutionSchema) }),
    { 404: 'not_found' },
  ),
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
    const [events, rules, executions] = await Promise.all([incidentTimeline(db, id), listIncidentRules(db, id), listIncidentExecutions(db, id)]);
    const steps = await stepResults(
      db,
      executions.map((e) => e.id),
    );
    const uiBase = c.var.deps.temporalUiUrl ?? DEFAULT_TEMPORAL_UI;
    return c.json(
      {
        ok: true as const,
        incident: incidentJson(row.incident, row.node),
        timeline: events.map(incidentEventJson),
        rules: rules.map(ruleJson),
        runbook_executions: executions.map((e) => executionJson(e, steps, uiBase)),
      },
      200,
    );
  });
