// The allowlist: addresses and prefixes no automated path may block.
import { z } from '@hono/zod-openapi';
import { CidrOrIp } from '../../domain/wire.js';
import { ALLOWLIST_SCOPES } from '../../db/schema.js';
import { Timestamp, Uuid } from './common.js';

export const CreateAllowlistBody = z
  .strictObject({
    ip_address: CidrOrIp
      .refine((v) => !v.endsWith('/0'), 'must not be /0: that would exempt every address from mitigation')
      .openapi({ example: '198.51.100.10' }),
    label: z.string().max(200).optional().openapi({ example: 'Monitoring Server' }),
    scope: z.enum(ALLOWLIST_SCOPES).default('workspace'),
    node: Uuid.optional().openapi({ description: 'node UUID, required when scope is node' }),
  })
  .superRefine((b, ctx) => {
    if (b.scope === 'node' && !b.node) ctx.addIssue({ code: 'custom', path: ['node'], message: 'is required when scope is "node"' });
    if (b.scope === 'workspace' && b.node) ctx.addIssue({ code: 'custom', path: ['node'], message: 'is only allowed when scope is "node"' });
  })
  .openapi('CreateAllowlistEntry');

export const AllowlistQuery = z.strictObject({ node: Uuid.optional() });

export const AllowlistEntrySchema = z
  .object({
    id: z.number().int(),
    ip_address: z.string(),
    label: z.string().nullable(),
    scope: z.enum(ALLOWLIST_SCOPES),
    node: z.string().nullable(),
    created_at: Timestamp,
  })
  .openapi('AllowlistEntry');
