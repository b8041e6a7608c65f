// An adapter as the API answers it: never its secret, only whether one is stored.
import type { z } from '@hono/zod-openapi';
import type { AdapterRow, RepairRow } from '../../db/adapters.js';
import type { AdapterSchema } from '../schemas/adapters.js';
import { iso } from './time.js';

export function adapterJson(a: AdapterRow, activeRules: number, repairs: RepairRow[]): z.infer<typeof AdapterSchema> {
  return {
    id: a.id,
    adapter_type: a.adapterType,
    name: a.name,
    endpoint: a.endpoint,
    status: 'configured',
    auth_token_set: a.authTokenEnc !== null,
    config: a.config,
    capabilities: a.capabilities,
    active_rules: activeRules,
    last_reconciled_at: iso(a.reconciledAt),
    reconcile_error: a.reconcileError,
    recent_repairs: repairs.map((r) => ({ at: r.at.toISOString(), kind: r.kind, rule_id: r.ruleId, route: r.routeKey })),
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}
