// The escalation trigger: agents report attacks here (open, figures, resolve), and every
// report reaches the incident's escalation workflow (clients/incident.ts), which decides
// the tiers. The row is what users read; the workflow decides what happens next.
import { endEscalation, triggerEscalation } from '../../clients/incident.js';
import { loadTiers } from '../../db/escalation.js';
import { findNodeIncident, openIncident, resolveIncident, updateIncidentFigures } from '../../db/incidents.js';
import { OpenIncidentBody, ResolveIncidentBody, UpdateIncidentBody } from '../../domain/agent-protocol.js';
import { severityFor, tierFor } from '../../domain/escalation.js';
import { refuseNodeTarget } from '../../domain/node-targets.js';
import { recordSecurityEvent } from '../../db/nodes.js';
import type { AgentEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { ok } from '../schemas/common.js';
import { IncidentRefParam, IncidentSchema } from '../schemas/incidents.js';
import { incidentJson } from '../views/incidents.js';

const openRoute = defineRoute({
  method: 'post',
  path: '/agent/incidents',
  summary: 'Open an incident',
  description:
    'Idempotent by `ref`: a repeated open answers the incident as it stands (figures go through /update). Starts the incident’s escalation workflow. ' +
    'A resolved ref stays resolved (409): a new attack is a new ref.',
  request: jsonBody(OpenIncidentBody),
  responses: responses('The incident', ok({ incident: IncidentSchema }), { ...WRITE_ERRORS, 403: 'forbidden: the target is not this node’s address nor within its assigned prefixes', 409: 'conflict: this ref was resolved' }),
});

const updateRoute = defineRoute({
  method: 'post',
  path: '/agent/incidents/{ref}/update',
  summary: 'Report an incident’s current figures',
  request: { params: IncidentRefParam, ...jsonBody(UpdateIncidentBody) },
  responses: responses('The incident', ok({ incident: IncidentSchema }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: already resolved' }),
});

const resolveRoute = defineRoute({
  method: 'post',
  path: '/agent/incidents/{ref}/resolve',
  summary: 'Resolve an incident',
  description: 'The escalation steps down after the policy’s hold-down and withdraws its rules.',
  request: { params: IncidentRefParam, ...jsonBody(ResolveIncidentBody, false) },
  responses: responses('The incident', ok({ incident: IncidentSchema }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

/** The node's incident by the agent's ref, or not_found. */
async function nodeIncident(v: AgentEnv['Variables'], ref: string) {
  const incident = await findNodeIncident(v.deps.db, v.node.id, ref);
  if (!incident) throw new ApiError('not_found', `incident ${ref} not found for this node`);
  return incident;
}

export const agentIncidentsRouter = router<AgentEnv>()
  .openapi(openRoute, async (c) => {
    const { db } = c.var.deps;
    const node = c.var.node;
    const b = c.req.valid('json');
    const targetIp = b.target_ip ?? node.ip;
    const refused = refuseNodeTarget(targetIp, node);
    if (refused) {
      await recordSecurityEvent(db, node.id, 'target_refused', `an incident for ${targetIp} was refused: ${refused}`);
      throw new ApiError('forbidden', `target_ip: ${refused}`);
    }
    const figures = { pps: b.pps, bps: b.bps };
    // The severity of the first report, so the answer shows it; the workflow raises it as tiers climb.
    const { tiers } = await loadTiers(db, node.workspaceId, targetIp);
    const { incident, opened } = await openIncident(db, node, {
      ref: b.ref,
      targetIp,
      startedAt: new Date(b.started_at),
      ...figures,
      severity: severityFor(tierFor(tiers, figures)),
      classification: b.classification ?? null,
    });
    // A resolved ref stays resolved: its rules were withdrawn, and a new attack is a new ref.
    if (incident.status === 'resolved') throw new ApiError('conflict', `incident ${b.ref} was resolved; report a new attack under a new ref`);
    // A repeated open is a retry: the row as it stands is the one truth, and the workflow
    // (started again if the first attempt never reached it) gets the row's figures, not
    // the repeat's; new figures go through /update.
    await triggerEscalation(c.var.deps, incident.id, opened ? figures : { pps: incident.currentPps, bps: incident.currentBps });
    return c.json({ ok: true as const, incident: incidentJson(incident, node.uuid) }, 200);
  })
  .openapi(updateRoute, async (c) => {
    const { ref } = c.req.valid('param');
    const b = c.req.valid('json');
    const current = await nodeIncident(c.var, ref);
    if (current.status !== 'open') throw new ApiError('conflict', `incident ${ref} is already resolved; open a new one`);
    const figures = { pps: b.pps, bps: b.bps };
    const { row, reclassified } = await updateIncidentFigures(c.var.deps.db, current, figures, b.classification ?? null);
    await triggerEscalation(c.var.deps, current.id, figures, reclassified);
    return c.json({ ok: true as const, incident: incidentJson(row, c.var.node.uuid) }, 200);
  })
  .openapi(resolveRoute, async (c) => {
    const { ref } = c.req.valid('param');
    const b = c.req.valid('json') ?? {};
    const current = await nodeIncident(c.var, ref);
    if (current.status === 'resolved') {
      // Already resolved: still make sure a workflow that runs on hears it.
      await endEscalation(c.var.deps, current.id, false);
      return c.json({ ok: true as const, incident: incidentJson(current, c.var.node.uuid) }, 200);
    }
    const endedAt = b.ended_at ? new Date(b.ended_at) : null;
    if (endedAt && endedAt < current.startedAt) throw new ApiError('invalid_parameter', `ended_at: must not be before the incident's started_at (${current.startedAt.toISOString()})`);
    const row = await resolveIncident(c.var.deps.db, current, endedAt);
    await endEscalation(c.var.deps, current.id, true);
    return c.json({ ok: true as const, incident: incidentJson(row, c.var.node.uuid) }, 200);
  });
