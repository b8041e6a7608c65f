// Mitigation adapters: where rules are announced. Secrets are sealed on the way in and
// never leave again.
import { z } from '@hono/zod-openapi';
import { createAdapter, deleteAdapter, findAdapter, listAdapters, liveRules, recentRepairs, updateAdapter, type AdapterRow } from '../../db/adapters.js';
import { deleteReconcileSchedule, DEFAULT_RECONCILE_SECONDS, ensureReconcileSchedule } from '../../clients/reconcile.js';
import { defaultCapabilities, HTTP_INTEGRATION_TYPES, RECONCILED_ADAPTER_TYPES, type AdapterConfig } from '../../domain/adapter-types.js';
import { refuseTargetUrl, type TargetPolicy } from '../../domain/http-targets.js';
import { testAdapter } from '../../clients/adapter-test.js';
import { withdrawRule } from '../../clients/rule.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { AdapterSchema, SaveAdapterBody } from '../schemas/adapters.js';
import { IdParam, ok } from '../schemas/common.js';
import { adapterJson } from '../views/adapters.js';

/** BGP speakers' bridges sit on the operator's network: private is normal there (link-local is not). */
const SPEAKER_TARGETS: TargetPolicy = { allowPrivate: true };

/** The endpoint (a URL, or host:port) as a URL, for the target policy. */
const endpointUrl = (endpoint: string) => new URL(endpoint.includes('://') ? endpoint : `tcp://${endpoint}`);

/** A back end that can say what it announces is compared with the rules every few seconds. */
async function keepReconciled(deps: AppDeps, adapter: AdapterRow): Promise<void> {
  if (RECONCILED_ADAPTER_TYPES.includes(adapter.adapterType)) await ensureReconcileSchedule(deps, adapter.id, deps.reconcileIntervalSeconds ?? DEFAULT_RECONCILE_SECONDS);
  else await deleteReconcileSchedule(deps, adapter.id);
}

async function loadAdapter(deps: AppDeps, workspaceId: number, id: number): Promise<AdapterRow> {
  const row = await findAdapter(deps.db, workspaceId, id);
  if (!row) throw new ApiError('not_found', `adapter ${id} not found`);
  return row;
}

const listRoute = defineRoute({
  method: 'get',
  path: '/mitigation/adapters',
  summary: 'List adapters',
  responses: responses('Adapters', ok({ adapters: z.array(AdapterSchema) })),
});

const saveRoute = defineRoute({
  method: 'post',
  path: '/mitigation/adapters',
  summary: 'Create or update an adapter',
  description: 'Creates an adapter, or updates the one named by `id`. `auth_token` is stored encrypted and never returned.',
  request: jsonBody(SaveAdapterBody),
  responses: responses('The saved adapter', ok({ adapter: AdapterSchema }), {
    ...WRITE_ERRORS,
    404: 'not_found: no adapter with that id',
    409: 'conflict: type or endpoint change while rules are live',
  }),
});

const deleteRoute = defineRoute({
  method: 'delete',
  path: '/mitigation/adapters/{id}',
  summary: 'Delete an adapter',
  description: 'Withdraws the adapter’s live rules first, then deletes it.',
  request: { params: IdParam },
  responses: responses('Deleted', ok({ deleted: z.number().int(), withdrawn_rules: z.number().int() }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

const testRoute = defineRoute({
  method: 'post',
  path: '/mitigation/adapters/{id}/test',
  summary: 'Test adapter connectivity and authentication',
  request: { params: IdParam },
  responses: responses(
    'The outcome: `success` false with an `error` when the adapter could not be reached',
    ok({ success: z.boolean(), latency_ms: z.number(), detail: z.string().optional(), error: z.string().optional() }),
    { ...WRITE_ERRORS, 404: 'not_found' },
  ),
});

export const adaptersRouter = router()
  .openapi(listRoute, async (c) => {
    const rows = await listAdapters(c.var.deps.db, c.var.workspace.id);
    const repairs = await recentRepairs(
      c.var.deps.db,
      rows.map((r) => r.adapter.id),
    );
    return c.json({ ok: true as const, adapters: rows.map((r) => adapterJson(r.adapter, r.live, repairs.get(r.adapter.id)!)) }, 200);
  })
  .openapi(saveRoute, async (c) => {
    const deps = c.var.deps;
    const body = c.req.valid('json');
    const refused = refuseTargetUrl(endpointUrl(body.endpoint), HTTP_INTEGRATION_TYPES.includes(body.adapter_type) ? deps.targets : SPEAKER_TARGETS);
    if (refused) throw new ApiError('invalid_parameter', `endpoint: ${refused}`);
    const capabilities = body.capabilities ?? defaultCapabilities(body.adapter_type, body.config as AdapterConfig | undefined);
    const values = {
      adapterType: body.adapter_type,
      name: body.name,
      endpoint: body.endpoint,
      config: (body.config ?? {}) as AdapterConfig,
      capabilities: [...new Set(capabilities)],
    };
    // undefined: keep the stored token; null or "": clear it.
    const token = body.auth_token === undefined ? undefined : body.auth_token ? deps.secrets.seal(body.auth_token) : null;

    if (body.id === undefined) {
      const row = await createAdapter(deps.db, c.var.workspace.id, values, token ?? null);
      await keepReconciled(deps, row);
      return c.json({ ok: true as const, adapter: adapterJson(row, 0, []) }, 200);
    }

    const current = await loadAdapter(deps, c.var.workspace.id, body.id);
    const live = await liveRules(deps.db, current.id);
    // Withdrawals go to the adapter as it is now: moving it would strand live routes.
    if (live.length > 0 && (current.adapterType !== values.adapterType || current.endpoint !== values.endpoint)) {
      throw new ApiError('conflict', `adapter ${current.id} has ${live.length} live rule(s); withdraw them before changing its type or endpoint`);
    }
    const row = await updateAdapter(deps.db, current, values, token);
    await keepReconciled(deps, row);
    const repairs = await recentRepairs(deps.db, [row.id]);
    return c.json({ ok: true as const, adapter: adapterJson(row, live.length, repairs.get(row.id)!) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const deps = c.var.deps;
    const adapter = await loadAdapter(deps, c.var.workspace.id, c.req.valid('param').id);
    const live = await liveRules(deps.db, adapter.id);
    await Promise.all(live.map((rule) => withdrawRule(deps, rule, `adapter ${adapter.id} deleted`, deps.announceWaitMs ?? 30_000)));
    await deleteAdapter(deps.db, adapter.id);
    await deleteReconcileSchedule(deps, adapter.id);
    return c.json({ ok: true as const, deleted: adapter.id, withdrawn_rules: live.length }, 200);
  })
  .openapi(testRoute, async (c) => {
    const deps = c.var.deps;
    const adapter = await loadAdapter(deps, c.var.workspace.id, c.req.valid('param').id);
    const outcome = await testAdapter(deps, adapter.id);
    return c.json(
      outcome.ok
        ? { ok: true as const, success: true, latency_ms: outcome.latencyMs, detail: outcome.detail }
        : { ok: true as const, success: false, latency_ms: outcome.latencyMs, error: outcome.error },
      200,
    );
  });
