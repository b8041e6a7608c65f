// Runbooks: ordered steps run by the workflow `runbook-exec:<execution id>`, triggered by
// incidents (workflows/incident.ts) or by hand here. Every id a step names is checked
// against the workspace when the runbook is saved (and again when the step runs).
import { z } from '@hono/zod-openapi';
import { cancelExecution, startExecution } from '../../clients/runbook.js';
import { findChannel } from '../../db/channels.js';
import { findNode } from '../../db/nodes.js';
import {
  createExecution,
  createRunbook,
  deleteRunbook,
  findExecution,
  findRunbook,
  listExecutions,
  listRunbooks,
  nodeContext,
  stepResults,
  toggleRunbook,
  updateRunbook,
  type ExecutionRow,
  type RunbookRow,
} from '../../db/runbooks.js';
import { findScrubbing } from '../../db/scrubbing.js';
import { refuseTargetUrl } from '../../domain/http-targets.js';
import { syntheticContext, type RunbookContext, type StepSecrets } from '../../domain/runbook-context.js';
import { STEP_CONFIGS, STORED_SECRET, type RunbookStep } from '../../domain/runbook-schemas.js';
import { runbookExecutionWorkflowId } from '../../workflows/runbook.contract.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { CreateRunbookBody, ExecutionParams, ExecutionSchema, ExecutionsQuery, RunbookSchema, RunRunbookBody, UpdateRunbookBody } from '../schemas/runbooks.js';
import { DEFAULT_TEMPORAL_UI, executionJson, runbookJson } from '../views/runbooks.js';


type StepInput = { action_type: RunbookStep['action_type']; action_config: Record<string, unknown> };

/**
 * The steps as stored (defaults filled, webhook secrets replaced by "<stored>") and their
 * secrets by index; "<stored>" sent back keeps the secret the same step index held.
 */
function sealSteps(input: StepInput[], previous: StepSecrets): { steps: RunbookStep[]; secrets: StepSecrets } {
  const secrets: StepSecrets = {};
  const steps = input.map((raw, i) => {
    const step = { action_type: raw.action_type, action_config: STEP_CONFIGS[raw.action_type].parse(raw.action_config) } as RunbookStep;
    if (step.action_type !== 'webhook') return step;
    const c = step.action_config;
    const kept = previous[i] ?? {};
    const hmac = c.hmac_secret === STORED_SECRET ? kept.hmac_secret : c.hmac_secret;
    if (c.hmac_secret === STORED_SECRET && hmac === undefined) throw new ApiError('invalid_parameter', `steps.${i}.action_config.hmac_secret: "${STORED_SECRET}" stands for a stored secret, and step ${i} has none; send the secret`);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(c.headers ?? {})) {
      const v = value === STORED_SECRET ? kept.headers?.[name] : value;
      if (v === undefined) throw new ApiError('invalid_parameter', `steps.${i}.action_config.headers.${name}: "${STORED_SECRET}" stands for a stored value, and step ${i} has none; send the value`);
      headers[name] = v;
    }
    secrets[i] = { ...(hmac !== undefined ? { hmac_secret: hmac } : {}), ...(c.headers ? { headers } : {}) };
    return {
      action_type: 'webhook' as const,
      action_config: {
        ...c,
        ...(hmac !== undefined ? { hmac_secret: STORED_SECRET } : {}),
        ...(c.headers ? { headers: Object.fromEntries(Object.keys(headers).map((k) => [k, STORED_SECRET])) } : {}),
      },
    };
  });
  return { steps, secrets };
}

/** What a step names must exist in this workspace, and be reachable under the target policy. */
async function checkReferences(deps: AppDeps, workspaceId: number, steps: RunbookStep[]): Promise<void> {
  for (const [i, step] of steps.entries()) {
    const at = `steps.${i}.action_config`;
    switch (step.action_type) {
      case 'notify_channel':
        if (!(await findChannel(deps.db, workspaceId, step.action_config.channel_id))) throw new ApiError('invalid_parameter', `${at}.channel_id: channel ${step.action_config.channel_id} does not exist`);
        break;
      case 'cloudflare_uam':
      case 'scrubbing_enable': {
        const row = await findScrubbing(deps.db, workspaceId, step.action_config.integration_id);
        if (!row) throw new ApiError('invalid_parameter', `${at}.integration_id: scrubbing integration ${step.action_config.integration_id} does not exist`);
        if (step.action_type === 'cloudflare_uam' && row.type !== 'cloudflare_waf') throw new ApiError('invalid_parameter', `${at}.integration_id: integration ${row.id} is ${row.type}; Under Attack Mode needs a cloudflare_waf integration (its zone and API token)`);
        break;
      }
      case 'webhook': {
        const refused = refuseTargetUrl(new URL(step.action_config.url), deps.targets);
        if (refused) throw new ApiError('invalid_parameter', `${at}.url: ${refused}`);
        break;
      }
      default:
        break;
    }
  }
}

const openSecrets = (deps: AppDeps, r: RunbookRow | null): StepSecrets => (r?.secretsEnc ? (JSON.parse(deps.secrets.open(r.secretsEnc)) as StepSecrets) : {});
const sealSecrets = (deps: AppDeps, s: StepSecrets) => (Object.keys(s).length ? deps.secrets.seal(JSON.stringify(s)) : null);

async function loadRunbook(deps: AppDeps, workspaceId: number, id: number): Promise<RunbookRow> {
  const row = await findRunbook(deps.db, workspaceId, id);
  if (!row) throw new ApiError('not_found', `runbook ${id} not found`);
  return row;
}

async function summary(deps: AppDeps, workspaceId: number, id: number) {
  const [found] = await listRunbooks(deps.db, workspaceId, id);
  if (!found) throw new ApiError('not_found', `runbook ${id} not found`);
  return runbookJson(found);
}

async function executionView(deps: AppDeps, e: ExecutionRow) {
  return executionJson(e, await stepResults(deps.db, [e.id]), deps.temporalUiUrl ?? DEFAULT_TEMPORAL_UI);
}

/** Records the execution and starts its workflow; answers it as it is now. */
async function launch(deps: AppDeps, runbook: RunbookRow, e: { context: RunbookContext; simulated: boolean; steps: RunbookStep[]; fromStep: number; retryOf: ExecutionRow | null }) {
  const row = await createExecution(
    deps.db,
    {
      workspaceId: runbook.workspaceId,
      runbookId: runbook.id,
      incidentId: e.context.incidentId,
      trigger: e.retryOf ? 'retry' : 'manual',
      simulated: e.simulated,
      context: e.context,
      steps: e.steps,
      fromStep: e.fromStep,
      retryOf: e.retryOf?.id ?? null,
    },
    runbookExecutionWorkflowId,
  );
  await startExecution(deps, { run: { runbookId: runbook.id, runbookName: runbook.name, executionId: row!.id }, workspaceId: runbook.workspaceId, steps: e.steps, context: e.context, fromStep: e.fromStep, simulated: e.simulated });
  return executionView(deps, row!);
}

const RunbookOk = ok({ runbook: RunbookSchema });
const ExecutionOk = ok({ execution: ExecutionSchema });

const listRoute = defineRoute({ method: 'get', path: '/runbooks', summary: 'List runbooks', description: 'With execution counts, active flag and last execution.', responses: responses('Runbooks', ok({ runbooks: z.array(RunbookSchema) })) });
const getRoute = defineRoute({ method: 'get', path: '/runbooks/{id}', summary: 'Get a runbook', request: { params: IdParam }, responses: responses('The runbook, its steps and trigger conditions', RunbookOk, { 404: 'not_found' }) });
const createRoute = defineRoute({
  method: 'post',
  path: '/runbooks',
  summary: 'Create a runbook',
  description: 'Every step’s `action_config` is checked now, and every channel or integration it names must exist in the workspace.',
  request: jsonBody(CreateRunbookBody),
  responses: responses('The runbook', RunbookOk, WRITE_ERRORS),
});
const updateRoute = defineRoute({
  method: 'patch',
  path: '/runbooks/{id}',
  summary: 'Update a runbook',
  description: 'Only the fields given change; `steps` replaces the steps whole. Running executions keep the steps they started with.',
  request: { params: IdParam, ...jsonBody(UpdateRunbookBody) },
  responses: responses('The runbook', RunbookOk, { ...WRITE_ERRORS, 404: 'not_found' }),
});
const deleteRoute = defineRoute({
  method: 'delete',
  path: '/runbooks/{id}',
  summary: 'Delete a runbook',
  description: 'Running executions complete; no new ones start. Its executions stay readable by id.',
  request: { params: IdParam },
  responses: responses('Deleted', ok({ deleted: z.number().int() }), { ...WRITE_ERRORS, 404: 'not_found' }),
});
const toggleRoute = defineRoute({
  method: 'post',
  path: '/runbooks/{id}/toggle',
  summary: 'Activate or deactivate a runbook',
  description: 'Inactive runbooks are kept but do not trigger on new incidents (they can still be run by hand).',
  request: { params: IdParam },
  responses: responses('The runbook', RunbookOk, { ...WRITE_ERRORS, 404: 'not_found' }),
});
const runRoute = defineRoute({
  method: 'post',
  path: '/runbooks/{id}/run',
  summary: 'Run a runbook by hand',
  description:
    'Starts an execution at once and answers it (status running). With `node`, steps run for real against that node (its open incident, if any); without, against a synthetic test context, ' +
    'and steps that would touch a host, a zone or a provider are recorded as simulated (webhooks and channels are called for real).',
  request: { params: IdParam, ...jsonBody(RunRunbookBody, false) },
  responses: responses('The execution', ExecutionOk, { ...WRITE_ERRORS, 404: 'not_found: no such runbook or node' }),
});
const executionsRoute = defineRoute({
  method: 'get',
  path: '/runbooks/{id}/executions',
  summary: 'A runbook’s executions',
  description: 'Newest first, each with step-by-step results, timing, status and error.',
  request: { params: IdParam, query: ExecutionsQuery },
  responses: responses('Executions', ok({ executions: z.array(ExecutionSchema) }), { 404: 'not_found' }),
});
const executionRoute = defineRoute({ method: 'get', path: '/runbooks/{id}/executions/{execution_id}', summary: 'One execution', request: { params: ExecutionParams }, responses: responses('The execution', ExecutionOk, { 404: 'not_found' }) });
const retryRoute = defineRoute({
  method: 'post',
  path: '/runbooks/{id}/executions/{execution_id}/retry',
  summary: 'Re-run a failed execution from the step that failed',
  description: 'A new execution, linked by `retry_of`, with the same context and the runbook’s current step configs; the steps before the failed one are not run again.',
  request: { params: ExecutionParams },
  responses: responses('The new execution', ExecutionOk, { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: the execution did not fail, or the runbook no longer has that step' }),
});
const cancelRoute = defineRoute({
  method: 'post',
  path: '/runbooks/{id}/executions/{execution_id}/cancel',
  summary: 'Cancel a running execution',
  description: 'The step running now is interrupted; the rest are recorded as cancelled; what earlier steps turned on for the incident is turned off.',
  request: { params: ExecutionParams },
  responses: responses('The execution', ExecutionOk, { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: the execution has ended' }),
});

export const runbooksRouter = router()
  .openapi(listRoute, async (c) => {
    const rows = await listRunbooks(c.var.deps.db, c.var.workspace.id);
    return c.json({ ok: true as const, runbooks: rows.map(runbookJson) }, 200);
  })
  .openapi(getRoute, async (c) => c.json({ ok: true as const, runbook: await summary(c.var.deps, c.var.workspace.id, c.req.valid('param').id) }, 200))
  .openapi(createRoute, async (c) => {
    const deps = c.var.deps;
    const body = c.req.valid('json');
    const { steps, secrets } = sealSteps(body.steps, {});
    await checkReferences(deps, c.var.workspace.id, steps);
    const row = await createRunbook(deps.db, c.var.workspace.id, { name: body.name, description: body.description ?? null, triggerConditions: body.trigger_conditions, steps, secretsEnc: sealSecrets(deps, secrets) });
    if (!body.active) await updateRunbook(deps.db, row.id, { active: false });
    return c.json({ ok: true as const, runbook: await summary(deps, c.var.workspace.id, row.id) }, 200);
  })
  .openapi(updateRoute, async (c) => {
    const deps = c.var.deps;
    const current = await loadRunbook(deps, c.var.workspace.id, c.req.valid('param').id);
    const body = c.req.valid('json');
    const values: Parameters<typeof updateRunbook>[2] = {};
    if (body.name !== undefined) values.name = body.name;
    if (body.description !== undefined) values.description = body.description;
    if (body.trigger_conditions !== undefined) values.triggerConditions = body.trigger_conditions;
    if (body.active !== undefined) values.active = body.active;
    if (body.steps !== undefined) {
      const { steps, secrets } = sealSteps(body.steps, openSecrets(deps, current));
      await checkReferences(deps, c.var.workspace.id, steps);
      values.steps = steps;
      values.secretsEnc = sealSecrets(deps, secrets);
    }
    await updateRunbook(deps.db, current.id, values);
    return c.json({ ok: true as const, runbook: await summary(deps, c.var.workspace.id, current.id) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const row = await loadRunbook(c.var.deps, c.var.workspace.id, c.req.valid('param').id);
    await deleteRunbook(c.var.deps.db, row.id);
    return c.json({ ok: true as const, deleted: row.id }, 200);
  })
  .openapi(toggleRoute, async (c) => {
    const row = await loadRunbook(c.var.deps, c.var.workspace.id, c.req.valid('param').id);
    await toggleRunbook(c.var.deps.db, row.id);
    return c.json({ ok: true as const, runbook: await summary(c.var.deps, c.var.workspace.id, row.id) }, 200);
  })
  .openapi(runRoute, async (c) => {
    const deps = c.var.deps;
    const runbook = await loadRunbook(deps, c.var.workspace.id, c.req.valid('param').id);
    const nodeUuid = c.req.valid('json')?.node;
    let context: RunbookContext;
    if (nodeUuid === undefined) context = syntheticContext(new Date());
    else {
      const node = await findNode(deps.db, c.var.workspace.id, nodeUuid);
      if (!node) throw new ApiError('not_found', `node ${nodeUuid} not found`);
      context = await nodeContext(deps.db, node.node, new Date());
    }
    const execution = await launch(deps, runbook, { context, simulated: nodeUuid === undefined, steps: runbook.steps, fromStep: 0, retryOf: null });
    return c.json({ ok: true as const, execution }, 200);
  })
  .openapi(executionsRoute, async (c) => {
    const deps = c.var.deps;
    const runbook = await loadRunbook(deps, c.var.workspace.id, c.req.valid('param').id);
    const rows = await listExecutions(deps.db, runbook.id, c.req.valid('query').limit);
    const steps = await stepResults(deps.db, rows.map((r) => r.id));
    return c.json({ ok: true as const, executions: rows.map((e) => executionJson(e, steps, deps.temporalUiUrl ?? DEFAULT_TEMPORAL_UI)) }, 200);
  })
  .openapi(executionRoute, async (c) => {
    const { id, execution_id } = c.req.valid('param');
    const row = await findExecution(c.var.deps.db, c.var.workspace.id, id, execution_id);
    if (!row) throw new ApiError('not_found', `execution ${execution_id} of runbook ${id} not found`);
    return c.json({ ok: true as const, execution: await executionView(c.var.deps, row) }, 200);
  })
  .openapi(retryRoute, async (c) => {
    const deps = c.var.deps;
    const { id, execution_id } = c.req.valid('param');
    const failed = await findExecution(deps.db, c.var.workspace.id, id, execution_id);
    if (!failed) throw new ApiError('not_found', `execution ${execution_id} of runbook ${id} not found`);
    const runbook = await loadRunbook(deps, c.var.workspace.id, id);
    if (failed.status !== 'failed' && failed.status !== 'cancelled') throw new ApiError('conflict', `execution ${failed.id} is ${failed.status}; only a failed or cancelled execution can be re-run`);
    const results = await stepResults(deps.db, [failed.id]);
    const from = results.find((s) => s.status === 'failed' || s.status === 'cancelled')?.stepIndex ?? failed.fromStep;
    if (from >= runbook.steps.length) throw new ApiError('conflict', `the runbook has ${runbook.steps.length} steps now; execution ${failed.id} stopped at step ${from + 1}`);
    const execution = await launch(deps, runbook, { context: failed.context, simulated: failed.simulated, steps: runbook.steps, fromStep: from, retryOf: failed });
    return c.json({ ok: true as const, execution }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const deps = c.var.deps;
    const { id, execution_id } = c.req.valid('param');
    const row = await findExecution(deps.db, c.var.workspace.id, id, execution_id);
    if (!row) throw new ApiError('not_found', `execution ${execution_id} of runbook ${id} not found`);
    if (row.status !== 'running') throw new ApiError('conflict', `execution ${row.id} has ended (${row.status})`);
    await cancelExecution(deps, row.id);
    // The workflow records the cancellation; answer once it has, or as it is after a moment.
    let now = row;
    for (let i = 0; i < 50 && now.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = (await findExecution(deps.db, c.var.workspace.id, id, execution_id)) ?? now;
    }
    return c.json({ ok: true as const, execution: await executionView(deps, now) }, 200);
  });
