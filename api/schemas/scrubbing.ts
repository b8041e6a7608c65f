// Scrubbing integrations: what users save (config and credentials per type, checked by
// the type's own schema in domain/scrubbing.ts) and what the API answers.
import { z } from '@hono/zod-openapi';
import { SCRUBBING_CONFIGS, SCRUBBING_CREDENTIALS, SCRUBBING_STATUSES, SCRUBBING_TYPES } from '../../domain/scrubbing.js';
import { HttpUrl } from './adapters.js';
import { bodyId, Timestamp } from './common.js';

export const SaveScrubbingBody = z
  .strictObject({
    id: bodyId().optional().openapi({ description: 'update this integration instead of creating one' }),
    type: z.enum(SCRUBBING_TYPES).openapi({ example: 'vultr' }),
    name: z.string().trim().min(1).max(100).openapi({ example: 'Vultr game server' }),
    config: z.record(z.string(), z.unknown()).openapi({ description: 'per type; every type takes `prefixes`, the addresses its diversion covers', example: { prefixes: ['203.0.113.10/32'], instance_id: 'cb676a46-66fd-4dfb-b839-443f2e6c0b60' } }),
    credentials: z.record(z.string(), z.unknown()).optional().openapi({ description: 'per type; stored encrypted, never returned; required on create, omit on update to keep the stored ones', example: { api_key: 'VULTR_API_KEY' } }),
    base_url: HttpUrl.nullable().optional().openapi({ description: "the provider's API base URL (default: its public API)" }),
  })
  .superRefine((body, ctx) => {
    const nested = (field: 'config' | 'credentials', schema: z.ZodType, value: unknown) => {
      const r = schema.safeParse(value);
      // The type's own issues, placed under the field (so they read "config.instance_id ...").
      for (const issue of r.error?.issues ?? []) ctx.addIssue({ ...issue, path: [field, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    };
    nested('config', SCRUBBING_CONFIGS[body.type], body.config);
    if (body.credentials !== undefined) nested('credentials', SCRUBBING_CREDENTIALS[body.type], body.credentials);
  })
  .openapi('SaveScrubbing');

export const AnnounceScrubbingBody = z
  .strictObject({
    ttl: z.number().int('must be a whole number of seconds').min(0, 'must be 0-2592000 seconds').max(30 * 86_400, 'must be 0-2592000 seconds').optional().openapi({ description: 'seconds until the diversion ends by itself; 0 or absent: until withdrawn' }),
    reason: z.string().max(500).optional(),
  })
  .openapi('AnnounceScrubbing');

export const WithdrawScrubbingBody = z.strictObject({ reason: z.string().max(500).optional() }).openapi('WithdrawScrubbing');

export const ScrubbingSchema = z
  .object({
    id: z.number().int(),
    type: z.enum(SCRUBBING_TYPES),
    provider: z.enum(SCRUBBING_TYPES),
    name: z.string(),
    config: z.record(z.string(), z.unknown()),
    credentials_set: z.boolean().openapi({ description: 'credentials are stored (they are never returned)' }),
    base_url: z.string().nullable(),
    status: z.enum(SCRUBBING_STATUSES),
    status_reason: z.string().nullable(),
    status_changed_at: Timestamp,
    workflow_id: z.string().nullable().openapi({ description: 'the running diversion, in the Temporal UI' }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('ScrubbingIntegration');

export const ProviderCheckSchema = z
  .object({
    reachable: z.boolean(),
    latency_ms: z.number(),
    diverting: z.boolean().nullable().openapi({ description: 'whether the provider diverts now, as it says; null when it could not be asked' }),
    detail: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('ScrubbingProviderCheck');
