// An adapter as the API answers it: never its secret, only whether one is stored.
import type { z } from '@hono/zod-openapi';
import type { AdapterRow } from '../../db/adapters.js';
import { isImplemented } from '../../domain/adapter-types.js';
import type { AdapterSchema } from '../schemas/adapters.js';

export function adapterJson(a: AdapterRow, activeRules: number): z.infer<typeof AdapterSchema> {
  return {
    id: a.id,
    adapter_type: a.adapterType,
    name: a.name,
    endpoint: a.endpoint,
    status: isImplemented(a.adapterType) ? 'configured' : 'not_implemented',
    auth_token_set: a.authTokenEnc !== null,
    config: a.config,
    capabilities: a.capabilities,
    active_rules: activeRules,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}
