// Scrubbing integrations: each diversion is the workflow `scrubbing:<id>` (clients/scrubbing.ts);
// the row is what users read. The API never talks to a provider itself.
import { z } from '@hono/zod-openapi';
import { checkScrubbing, endDiversion, startDiversion } from '../../clients/scrubbing.js';
import { loadAllowlist } from '../../db/allowlist.js';
import { createScrubbing, deleteScrubbing, findScrubbing, listScrubbing, updateScrubbing, type ScrubbingRow } from '../../db/scrubbing.js';
import { refuseTargetUrl } from '../../domain/http-targets.js';
import { refuseDiversion, SCRUBBING_STATUSES, SCRUBBING_TYPES } from '../../domain/scrubbing.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { AnnounceScrubbingBody, ProviderCheckSchema, SaveScrubbingBody, ScrubbingSchema, WithdrawScrubbingBody } from '../schemas/scrubbing.js';
import { providerCheckJson, scrubbingJson } from '../views/scrubbing.js';

/** How long announce and withdraw wait for the provider before answering 202. */
const WAIT_MS = 30_000;

async function loadIntegration(deps: AppDeps, workspaceId: number, id: number): Promise<ScrubbingRow> {
  const row = await findScrubbing(deps.db, workspaceId, id);
  if (!row) throw new ApiError('not_found', `scrubbing integration ${id} not found`);
  return row;
}

const listRoute = defineRoute({
  method: 'get',
  path: '/scrubbing',
  summary: 'List scrubbing integrations',
  responses: responses('Integrations', ok({ integrations: z.array(ScrubbingSchema) })),
});

const saveRoute = defineRoute({
  method: 'post',
  path: '/scrubbing',
  summary: 'Create or update a scrubbing integration',
  description: 'Creates an integration, or updates the one named by `id`. Credentials are stored encrypted and never returned.',
  request: jsonBody(SaveScrubbingBody),
  responses: responses('The saved integration', ok({ integration: ScrubbingSchema }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: a diversion runs' }),
});

const deleteRoute = defineRoute({
  method: 'delete',
  path: '/scrubbing/{id}',
  summary: 'Delete a scrubbing integration',
  description: 'Ends its diversion first, if one runs.',
  request: { params: IdParam },
  responses: responses('Deleted', ok({ deleted: z.number().int() }), { ...WRITE_ERRORS, 404: 'not_found', 502: 'adapter_error: the diversion could not be ended' }),
});

const statusRoute = defineRoute({
  method: 'get',
  path: '/scrubbing/{id}/status',
  summary: 'Scrubbing status: whether traffic is diverted now, per the provider, and connection health',
  request: { params: IdParam },
  responses: responses('Status', ok({ status: z.enum(SCRUBBING_STATUSES), provider: z.enum(SCRUBBING_TYPES), diverting: z.boolean().nullable(), health: ProviderCheckSchema, integration: ScrubbingSchema }), {
    404: 'not_found',
  }),
});

const testRoute = defineRoute({
  method: 'post',
  path: '/scrubbing/{id}/test',
  summary: 'Test credentials and reachability of the provider',
  request: { params: IdParam },
  responses: responses('The outcome: `success` false with an `error` when the provider could not be reached or refused', ok({ success: z.boolean(), latency_ms: z.number(), detail: z.string().optional(), error: z.string().optional() }), {
    ...WRITE_ERRORS,
    404: 'not_found',
  }),
});

const announceRoute = defineRoute({
  method: 'post',
  path: '/scrubbing/{id}/announce',
  summary: 'Divert traffic through the provider',
  description:
    'Starts (or finds) the diversion workflow `scrubbing:<id>` and answers once the provider confirmed it (200, `active`), or 202 (`activating`) if it takes longer than 30 s. ' +
    'Refused when the integration’s prefixes cover an allowlisted address.',
  request: { params: IdParam, ...jsonBody(AnnounceScrubbingBody, false) },
  responses: responses('Diverting', ok({ status: z.enum(SCRUBBING_STATUSES), provider: z.enum(SCRUBBING_TYPES), message: z.string(), workflow_id: z.string() }), {
    ...WRITE_ERRORS,
    404: 'not_found',
    502: 'adapter_error: the provider did not divert',
  }),
});

const withdrawRoute = defineRoute({
  method: 'post',
  path: '/scrubbing/{id}/withdraw',
  summary: 'End the diversion',
  description: 'Answers once the provider confirmed traffic takes its normal path again (200, `inactive`), or 202 (`deactivating`) after 30 s; the workflow keeps at it until it is off.',
  request: { params: IdParam, ...jsonBody(WithdrawScrubbingBody, false) },
  responses: responses('Withdrawn', ok({ status: z.enum(SCRUBBING_STATUSES), message: z.string() }), { ...WRITE_ERRORS, 404: 'not_found', 502: 'adapter_error: the provider could not turn it off' }),
});

export const scrubbingRouter = router()
  .openapi(listRoute, async (c) => {
    const rows = await listScrubbing(c.var.deps.db, c.var.workspace.id);
    return c.json({ ok: true as const, integrations: rows.map(scrubbingJson) }, 200);
  })
  .openapi(saveRoute, async (c) => {
    const deps = c.var.deps;
    const body = c.req.valid('json');
    if (body.base_url) {
      const refused = refuseTargetUrl(new URL(body.base_url), deps.targets);
      if (refused) throw new ApiError('invalid_parameter', `base_url: ${refused}`);
    }
    const values = { type: body.type, name: body.name, config: body.config as ScrubbingRow['config'], baseUrl: body.base_url ?? null };
    const sealed = body.credentials === undefined ? undefined : deps.secrets.seal(JSON.stringify(body.credentials));
    if (body.id === undefined) {
      if (sealed === undefined) throw new ApiError('invalid_parameter', `credentials: is required when creating a ${body.type} integration`);
      return c.json({ ok: true as const, integration: scrubbingJson(await createScrubbing(deps.db, c.var.workspace.id, values, sealed)) }, 200);
    }
    const current = await findScrubbing(deps.db, c.var.workspace.id, body.id);
    if (!current) throw new ApiError('not_found', `scrubbing integration ${body.id} not found`);
    // Turning it off goes to the provider as it is now: changing it mid-diversion would strand the diversion.
    if (current.status !== 'inactive' && current.status !== 'failed') throw new ApiError('conflict', `integration ${current.id} is ${current.status}; withdraw its diversion before changing it`);
    if (current.type !== body.type && sealed === undefined) throw new ApiError('invalid_parameter', `credentials: are required when changing the type to ${body.type}`);
    return c.json({ ok: true as const, integration: scrubbingJson(await updateScrubbing(deps.db, current.id, values, sealed)) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const deps = c.var.deps;
    const row = await findScrubbing(deps.db, c.var.workspace.id, c.req.valid('param').id);
    if (!row) throw new ApiError('not_found', `scrubbing integration ${c.req.valid('param').id} not found`);
    const ended = await endDiversion(deps, row.id, `integration ${row.id} deleted`, WAIT_MS);
    if (ended !== 'none' && ended?.phase !== 'inactive') throw new ApiError('adapter_error', `the diversion could not be ended yet (${ended?.error ?? ended?.phase ?? 'still deactivating'}); the integration is kept`);
    await deleteScrubbing(deps.db, row.id);
    return c.json({ ok: true as const, deleted: row.id }, 200);
  })
  .openapi(statusRoute, async (c) => {
    const deps = c.var.deps;
    const row = await loadIntegration(deps, c.var.workspace.id, c.req.valid('param').id);
    const check = await checkScrubbing(deps, row.id);
    const fresh = (await findScrubbing(deps.db, c.var.workspace.id, row.id)) ?? row;
    return c.json({ ok: true as const, status: fresh.status, provider: fresh.type, diverting: check.reachable ? check.diverting : null, health: providerCheckJson(check), integration: scrubbingJson(fresh) }, 200);
  })
  .openapi(testRoute, async (c) => {
    const row = await loadIntegration(c.var.deps, c.var.workspace.id, c.req.valid('param').id);
    const check = await checkScrubbing(c.var.deps, row.id);
    return c.json(
      check.reachable ? { ok: true as const, success: true, latency_ms: check.latencyMs, detail: check.detail } : { ok: true as const, success: false, latency_ms: check.latencyMs, error: check.error },
      200,
    );
  })
  .openapi(announceRoute, async (c) => {
    const deps = c.var.deps;
    const row = await loadIntegration(deps, c.var.workspace.id, c.req.valid('param').id);
    const body = c.req.valid('json') ?? {};
    const refused = refuseDiversion(row, await loadAllowlist(deps.db, row.workspaceId, 'network'));
    if (refused) throw new ApiError('invalid_parameter', `the diversion is refused: ${refused}`);
    const state = await startDiversion(deps, { integrationId: row.id, ttlSeconds: body.ttl ?? 0, reason: body.reason ?? null, watchSeconds: deps.scrubbingWatchSeconds }, WAIT_MS);
    const workflowId = `scrubbing:${row.id}`;
    if (state?.phase === 'failed') throw new ApiError('adapter_error', `the provider did not divert: ${state.error}`);
    if (state?.phase !== 'active') return c.json({ ok: true as const, status: 'activating' as const, provider: row.type, message: 'Traffic diversion requested; the provider has not confirmed it yet', workflow_id: workflowId }, 202);
    return c.json({ ok: true as const, status: 'active' as const, provider: row.type, message: 'Traffic diversion activated', workflow_id: workflowId }, 200);
  })
  .openapi(withdrawRoute, async (c) => {
    const deps = c.var.deps;
    const row = await loadIntegration(deps, c.var.workspace.id, c.req.valid('param').id);
    const body = c.req.valid('json') ?? {};
    const ended = await endDiversion(deps, row.id, body.reason ?? 'withdrawn by API request', WAIT_MS);
    if (ended === 'none') return c.json({ ok: true as const, status: 'inactive' as const, message: 'No diversion was running' }, 200);
    if (ended === null) return c.json({ ok: true as const, status: 'deactivating' as const, message: 'Withdrawal requested; the provider has not confirmed it yet' }, 202);
    if (ended.phase === 'failed') throw new ApiError('adapter_error', `the provider could not turn the diversion off: ${ended.error}`);
    return c.json({ ok: true as const, status: 'inactive' as const, message: 'Traffic diversion withdrawn' }, 200);
  });
