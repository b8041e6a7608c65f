// Notification channels: where incidents and runbook steps page people. Each channel's
// `events` are the workspace's notification settings; a test runs as a workflow
// (clients/channels.ts), the API never talks to a service itself.
import { z } from '@hono/zod-openapi';
import { testChannel } from '../../clients/channels.js';
import { createChannel, deleteChannel, findChannel, listChannels, updateChannel, type ChannelRow } from '../../db/channels.js';
import { listRunbooks } from '../../db/runbooks.js';
import { CHANNEL_CONFIGS, channelUrls } from '../../domain/channels.js';
import { refuseTargetUrl } from '../../domain/http-targets.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { ChannelSchema, CreateChannelBody, typeIssues, UpdateChannelBody } from '../schemas/channels.js';

function channelJson(r: ChannelRow): z.infer<typeof ChannelSchema> {
  return { id: r.id, type: r.type, name: r.name, config: r.config, events: r.events, secret_set: true, created_at: r.createdAt.toISOString(), updated_at: r.updatedAt.toISOString() };
}

function checkTargets(deps: AppDeps, r: { type: ChannelRow['type']; config: Record<string, unknown> }, secret: Record<string, unknown> | null) {
  for (const url of channelUrls(r.type, r.config, secret)) {
    const refused = refuseTargetUrl(new URL(url), deps.targets);
    if (refused) throw new ApiError('invalid_parameter', `${secret && Object.values(secret).includes(url) ? 'secret' : 'config'}: ${refused}`);
  }
}

async function loadChannel(deps: AppDeps, workspaceId: number, id: number): Promise<ChannelRow> {
  const row = await findChannel(deps.db, workspaceId, id);
  if (!row) throw new ApiError('not_found', `channel ${id} not found`);
  return row;
}

const listRoute = defineRoute({ method: 'get', path: '/channels', summary: 'List notification channels', responses: responses('Channels', ok({ channels: z.array(ChannelSchema) })) });
const createRoute = defineRoute({
  method: 'post',
  path: '/channels',
  summary: 'Create a notification channel',
  description: 'Slack, Discord, Teams (incoming webhooks), PagerDuty (Events API v2), Telegram, Opsgenie, email (SMTP) or a signed webhook. The secret is stored encrypted and never returned.',
  request: jsonBody(CreateChannelBody),
  responses: responses('The channel', ok({ channel: ChannelSchema }), WRITE_ERRORS),
});
const updateRoute = defineRoute({ method: 'patch', path: '/channels/{id}', summary: 'Update a channel', description: 'Only the fields given change; the type stays.', request: { params: IdParam, ...jsonBody(UpdateChannelBody) }, responses: responses('The channel', ok({ channel: ChannelSchema }), { ...WRITE_ERRORS, 404: 'not_found' }) });
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/channels/{id}',
  summary: 'Delete a channel',
  description: 'Refused while a runbook step notifies it.',
  request: { params: IdParam },
  responses: responses('Deleted', ok({ deleted: z.number().int() }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: a runbook step notifies it' }),
});
const testRoute = defineRoute({
  method: 'post',
  path: '/channels/{id}/test',
  summary: 'Send a test message',
  description: 'Through the channel, for real (an alert a test opens in PagerDuty or Opsgenie is closed at once); `success` false with the service’s `error` otherwise.',
  request: { params: IdParam },
  responses: responses('The outcome', ok({ success: z.boolean(), latency_ms: z.number(), detail: z.string().optional(), error: z.string().optional() }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

export const channelsRouter = router()
  .openapi(listRoute, async (c) => c.json({ ok: true as const, channels: (await listChannels(c.var.deps.db, c.var.workspace.id)).map(channelJson) }, 200))
  .openapi(createRoute, async (c) => {
    const deps = c.var.deps;
    const body = c.req.valid('json');
    const config = CHANNEL_CONFIGS[body.type].parse(body.config) as Record<string, unknown>;
    checkTargets(deps, { type: body.type, config }, body.secret);
    const row = await createChannel(deps.db, c.var.workspace.id, { type: body.type, name: body.name, config, events: body.events }, deps.secrets.seal(JSON.stringify(body.secret)));
    return c.json({ ok: true as const, channel: channelJson(row) }, 200);
  })
  .openapi(updateRoute, async (c) => {
    const deps = c.var.deps;
    const current = await loadChannel(deps, c.var.workspace.id, c.req.valid('param').id);
    const body = c.req.valid('json');
    // The type's schemas, now that the type is known.
    const [issue] = typeIssues(current.type, body);
    if (issue) throw new ApiError('invalid_parameter', `${issue.path.map(String).join('.')}: ${issue.message}`);
    const config = body.config === undefined ? current.config : (CHANNEL_CONFIGS[current.type].parse(body.config) as Record<string, unknown>);
    checkTargets(deps, { type: current.type, config }, body.secret ?? null);
    const row = await updateChannel(
      deps.db,
      current.id,
      { ...(body.name !== undefined ? { name: body.name } : {}), config, ...(body.events !== undefined ? { events: body.events } : {}) },
      body.secret === undefined ? undefined : deps.secrets.seal(JSON.stringify(body.secret)),
    );
    return c.json({ ok: true as const, channel: channelJson(row) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const deps = c.var.deps;
    const row = await loadChannel(deps, c.var.workspace.id, c.req.valid('param').id);
    for (const { runbook } of await listRunbooks(deps.db, c.var.workspace.id)) {
      const i = runbook.steps.findIndex((s) => s.action_type === 'notify_channel' && s.action_config.channel_id === row.id);
      if (i >= 0) throw new ApiError('conflict', `runbook ${runbook.id} ("${runbook.name}") notifies channel ${row.id} at step ${i + 1}; change that step first`);
    }
    await deleteChannel(deps.db, row.id);
    return c.json({ ok: true as const, deleted: row.id }, 200);
  })
  .openapi(testRoute, async (c) => {
    const row = await loadChannel(c.var.deps, c.var.workspace.id, c.req.valid('param').id);
    const outcome = await testChannel(c.var.deps, row.id);
    return c.json(outcome.ok ? { ok: true as const, success: true, latency_ms: outcome.latencyMs, detail: outcome.detail } : { ok: true as const, success: false, latency_ms: outcome.latencyMs, error: outcome.error }, 200);
  });
