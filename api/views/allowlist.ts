// An allowlist entry as the API answers it.
import type { z } from '@hono/zod-openapi';
import type { AllowlistRow } from '../../db/allowlist.js';
import type { AllowlistEntrySchema } from '../schemas/allowlist.js';

export function allowlistEntryJson(e: AllowlistRow): z.infer<typeof AllowlistEntrySchema> {
  return { id: e.id, ip_address: e.ipAddress, label: e.label, scope: e.scope, node: e.nodeUuid, created_at: e.createdAt.toISOString() };
}
