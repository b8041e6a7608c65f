// An incident as the API answers it (GET /incidents, the agent's incident endpoints), and
// its timeline.
import type { z } from '@hono/zod-openapi';
import type { IncidentEventRow, IncidentRow } from '../../db/incidents.js';
import { incidentWorkflowId } from '../../workflows/incident.contract.js';
import type { IncidentEventSchema, IncidentSchema } from '../schemas/incidents.js';
import { iso } from './time.js';

export function incidentJson(r: IncidentRow, nodeUuid: string | null): z.infer<typeof IncidentSchema> {
  return {
    id: r.id,
    node: nodeUuid,
    scope: r.scope,
    target_ip: r.targetIp,
    status: r.status,
    severity: r.severity,
    family: r.family,
    subtype: r.subtype,
    confidence: r.confidence,
    verdict: r.verdict,
    evidence: r.evidence,
    tier: r.tier,
    current_pps: r.currentPps,
    current_bps: r.currentBps,
    peak_pps: r.peakPps,
    peak_bps: r.peakBps,
    classification: r.classification,
    workflow_id: incidentWorkflowId(r.id),
    started_at: r.startedAt.toISOString(),
    resolved_at: iso(r.resolvedAt),
  };
}

export function incidentEventJson(e: IncidentEventRow): z.infer<typeof IncidentEventSchema> {
  return { at: e.at.toISOString(), kind: e.kind, message: e.message, detail: e.detail };
}
