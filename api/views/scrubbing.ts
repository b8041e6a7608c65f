// A scrubbing integration as the API answers it: never its credentials.
import type { z } from '@hono/zod-openapi';
import type { ScrubbingRow } from '../../db/scrubbing.js';
import type { ScrubbingCheck } from '../../workflows/scrubbing.contract.js';
import type { ProviderCheckSchema, ScrubbingSchema } from '../schemas/scrubbing.js';
import { iso } from './time.js';

export function scrubbingJson(r: ScrubbingRow): z.infer<typeof ScrubbingSchema> {
  return {
    id: r.id,
    type: r.type,
    provider: r.type,
    name: r.name,
    config: r.config,
    credentials_set: true,
    base_url: r.baseUrl,
    status: r.status,
    status_reason: r.statusReason,
    status_changed_at: iso(r.statusChangedAt),
    workflow_id: r.workflowId,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

export function providerCheckJson(c: ScrubbingCheck): z.infer<typeof ProviderCheckSchema> {
  return c.reachable
    ? { reachable: true, latency_ms: c.latencyMs, diverting: c.diverting, detail: c.detail, error: null }
    : { reachable: false, latency_ms: c.latencyMs, diverting: null, detail: null, error: c.error };
}
