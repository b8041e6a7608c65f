// Notification channels as the API takes and answers them: per-type `config` and `secret`
// checked by the type's own schema (domain/channels.ts); secrets never answered.
import { z } from '@hono/zod-openapi';
import { CHANNEL_CONFIGS, CHANNEL_EVENTS, CHANNEL_SECRETS, CHANNEL_TYPES, type ChannelType } from '../../domain/channels.js';

const Events = z
  .array(z.enum(CHANNEL_EVENTS, { error: () => `must be among ${CHANNEL_EVENTS.join(', ')}` }))
  .max(CHANNEL_EVENTS.length)
  .openapi({ description: 'the incident events this channel hears (the workspace’s notification settings); [] for runbook steps only', example: ['incident_open', 'tier_change', 'incident_resolved'] });

/** The type's own issues with `config` and `secret`, placed under the field ("config.chat_id"). */
export function typeIssues(type: ChannelType, body: { config?: unknown; secret?: unknown }): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  const nested = (field: 'config' | 'secret', schema: z.ZodType, value: unknown) => {
    for (const issue of schema.safeParse(value).error?.issues ?? []) out.push({ path: [field, ...issue.path], message: issue.message });
  };
  if (body.config !== undefined) nested('config', CHANNEL_CONFIGS[type], body.config);
  if (body.secret !== undefined) nested('secret', CHANNEL_SECRETS[type], body.secret);
  return out;
}

export const CreateChannelBody = z
  .strictObject({
    type: z.enum(CHANNEL_TYPES, { error: () => `must be one of ${CHANNEL_TYPES.join(', ')}` }).openapi({ example: 'pagerduty' }),
    name: z.string().trim().min(1, 'must not be empty').max(100).openapi({ example: 'On-call' }),
    config: z.record(z.string(), z.unknown()).default({}).openapi({ description: 'per type: telegram {chat_id}, email {host, port, secure, username?, from, to}, webhook {url}; pagerduty, telegram, opsgenie take base_url', example: {} }),
    secret: z.record(z.string(), z.unknown()).openapi({ description: 'per type, stored encrypted, never returned: slack/discord/teams {webhook_url}, pagerduty {routing_key}, telegram {bot_token}, opsgenie {api_key}, email {password?}, webhook {hmac_secret}', example: { routing_key: 'R0UT1NGKEY0123456789ABCDEFGHIJKL' } }),
    events: Events.default([...CHANNEL_EVENTS]),
  })
  .superRefine((b, ctx) => {
    for (const i of typeIssues(b.type, b)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  })
  .openapi('CreateChannel');

export const UpdateChannelBody = z
  .strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(100).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    secret: z.record(z.string(), z.unknown()).optional().openapi({ description: 'omit to keep the stored one' }),
    events: Events.optional(),
  })
  .openapi('UpdateChannel');

export const ChannelSchema = z
  .object({
    id: z.number().int(),
    type: z.enum(CHANNEL_TYPES),
    name: z.string(),
    config: z.record(z.string(), z.unknown()),
    events: z.array(z.enum(CHANNEL_EVENTS)),
    secret_set: z.boolean().openapi({ description: 'a secret is stored (it is never returned)' }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Channel');
