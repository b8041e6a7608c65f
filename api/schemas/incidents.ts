// Incidents as users read them, and the agent's ref of one in agent paths.
import { z } from '@hono/zod-openapi';
import { IncidentRef } from '../../domain/agent-protocol.js';
import { queryInt } from '../../domain/wire.js';
import { ATTACK_FAMILIES, EVIDENCE_KINDS, VERDICTS } from '../../domain/attack.js';
import { INCIDENT_SCOPES, INCIDENT_STATUSES } from '../../db/schema.js';
import { SEVERITIES } from '../../domain/escalation.js';
import { Timestamp, Uuid } from './common.js';

// .meta, not .openapi: IncidentRef may have been made before @hono/zod-openapi extended zod (the agent
// protocol is plain zod), and zod 4 gives instances their methods when they are made.
export const IncidentRefParam = z.object({ ref: IncidentRef.meta({ param: { name: 'ref', in: 'path' } }) });

export const IncidentListQuery = z.strictObject({
  node: Uuid.optional(),
  status: z.enum(INCIDENT_STATUSES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  family: z.enum(ATTACK_FAMILIES).optional(),
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp' }).optional(),
  limit: queryInt(1, 500).default(100),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).default(0),
});

export const IncidentSchema = z
  .object({
    id: z.number().int(),
    node: z.string().nullable().openapi({ description: 'the reporting node’s uuid; null for a prefix incident' }),
    scope: z.enum(INCIDENT_SCOPES).openapi({ description: 'host: one node’s agent reported it; prefix: the nodes of a prefix with a threshold of its own crossed it together (carpet bombing)' }),
    target_ip: z.string().openapi({ description: 'the attacked address, or the prefix of a prefix incident' }),
    status: z.enum(INCIDENT_STATUSES),
    severity: z.enum(SEVERITIES),
    family: z.enum(ATTACK_FAMILIES),
    subtype: z.string().nullable(),
    confidence: z.number().nullable(),
    verdict: z.enum(VERDICTS).openapi({ description: 'attack, benign or inconclusive: only attack (from a capture) drives a dropping rule' }),
    evidence: z.enum(EVIDENCE_KINDS).openapi({ description: 'capture (classified packets) or counters (the agent’s guess before any)' }),
    tier: z.number().int(),
    current_pps: z.number(),
    current_bps: z.number(),
    peak_pps: z.number(),
    peak_bps: z.number(),
    classification: z.record(z.string(), z.unknown()).nullable(),
    workflow_id: z.string(),
    started_at: z.string(),
    resolved_at: Timestamp,
  })
  .openapi('Incident');

export const IncidentEventSchema = z
  .object({ at: z.string(), kind: z.string(), message: z.string(), detail: z.record(z.string(), z.unknown()).nullable() })
  .openapi('IncidentEvent');
