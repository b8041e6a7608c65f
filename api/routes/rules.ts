// Mitigation rules: each one is a `rule:<id>` workflow; the row is what users read.
import { z } from '@hono/zod-openapi';
import { randomUUID } from 'node:crypto';
import { startRule, startRuleBatch, withdrawRule } from '../../clients/rule.js';
import { findRule, findRules, listEndedRules, listLiveRulesPage, listRuleRepairs, requestDiversionRule, requestRules, type RuleRefusal, type RuleRequest, type RuleRow } from '../../db/rules.js';
import { FINAL_RULE_STATUSES } from '../../db/schema.js';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { ruleInput } from '../../workflows/rule.contract.js';
import { ruleBatchAbout, ruleBatchWorkflowId } from '../../workflows/rule-batch.contract.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { CreateRuleBody, HistoryQuery, RuleConflictSchema, RuleListQuery, RuleRepairSchema, RuleSchema, WithdrawRuleBody } from '../schemas/rules.js';
import { ruleJson } from '../views/rules.js';

async function loadRule(deps: AppDeps, workspaceId: number, id: number): Promise<RuleRow> {
  const row = await findRule(deps.db, workspaceId, id);
  if (!row) throw new ApiError('not_found', `rule ${id} not found`);
  return row;
}

type CreateBody = z.infer<typeof CreateRuleBody>;

/** The body's route intent for one target, in the domain's terms. */
function intentOf(body: CreateBody, target: string): RuleRequest['intents'][number] {
  if (body.intent_type !== 'flowspec') return { kind: 'blackhole', target };
  const m = body.match ?? {};
  return {
    kind: 'flowspec',
    target,
    match: {
      protocols: m.protocol,
      source: m.source,
      sourcePorts: m.source_port,
      destinationPorts: m.destination_port,
      packetLengths: m.packet_length,
      tcpFlags: m.tcp_flags,
      fragments: m.fragment,
    },
    action: body.action?.type === 'rate_limit' ? { type: 'rate_limit', bytesPerSecond: body.action.bytes_per_second } : { type: 'discard' },
  };
}

/** The API's answer to a refused rule request: the status its code means, the field named. */
function refusalError(r: RuleRefusal): ApiError {
  if (r.code === 'not_found') return new ApiError(r.code, r.reason);
  if (r.code === 'busy') return new ApiError('conflict', r.reason);
  return new ApiError('invalid_parameter', r.field ? `${r.field}: ${r.reason}` : r.reason);
}

/** A requested rule's pending row, and the name of what it goes through (for the Temporal UI's summary). */
type Requested = { row: RuleRow; via: string };

/** The pending row of a blackhole or FlowSpec rule, or why there is none. */
async function requestRoute(deps: AppDeps, workspaceId: number, body: CreateBody, target: string): Promise<Requested> {
  const requested = await requestRules(deps.db, { workspaceId, adapterId: body.adapter_id!, intents: [intentOf(body, target)], ttl: body.ttl, reason: body.reason ?? null });
  if (requested.outcome === 'refused') throw refusalError(requested);
  const [row] = requested.rules;
  if (!row) throw new ApiError('conflict', `rule ${requested.conflicts[0]?.id ?? '?'} already holds this route on adapter ${requested.adapter.id}; withdraw it first`);
  return { row, via: requested.adapter.name };
}

/** The pending row of a scrubbing rule, or why there is none. */
async function requestDiversion(deps: AppDeps, workspaceId: number, body: CreateBody, target: string): Promise<Requested> {
  if (body.match || body.action) throw new ApiError('invalid_parameter', `${body.match ? 'match' : 'action'} applies only to intent_type "flowspec"`);
  const requested = await requestDiversionRule(deps.db, { workspaceId, scrubbingId: body.scrubbing_id!, target, ttl: body.ttl, reason: body.reason ?? null });
  if (requested.outcome === 'refused') throw refusalError(requested);
  if (!requested.rule) throw new ApiError('conflict', `rule ${requested.conflict?.id ?? '?'} already holds the diversion of scrubbing integration ${requested.integration.id}; withdraw it first`);
  return { row: requested.rule, via: requested.integration.name };
}

/**
 * A carpet-bombing response: one rule per target, checked as a whole first (one unsafe
 * target refuses the request), started together, answered when every speaker answered.
 * Targets another live rule holds already are named in `conflicts`, not refused.
 */
async function createMany(c: Context<AppEnv>, body: CreateBody, targets: string[]) {
  const deps = c.var.deps;
  const ws = c.var.workspace;
  // One workflow holds them all (workflows/rule-batch.ts): its id goes into every row.
  const workflowId = ruleBatchWorkflowId(randomUUID());
  const request = { workspaceId: ws.id, adapterId: body.adapter_id!, intents: targets.map((t) => intentOf(body, t)), ttl: body.ttl, reason: body.reason ?? null, workflowId };
  const requested = await requestRules(deps.db, request);
  if (requested.outcome === 'refused') throw refusalError(requested.field === 'target_ip' ? { ...requested, field: 'target_ips' } : requested);
  const fresh = requested.rules;
  const about = ruleBatchAbout({ workspaceId: ws.id, intentType: body.intent_type, adapterId: requested.adapter.id, via: requested.adapter.name, ttlSeconds: body.ttl, targets: fresh.map((r) => r.targetIp) });
  const statuses = fresh.length === 0 ? [] : await startRuleBatch(deps, workflowId, { ruleIds: fresh.map((r) => r.id), ttlSeconds: body.ttl, about }, deps.announceWaitMs ?? 30_000);
  const rules = (await findRules(deps.db, ws.id, requested.rules.map((r) => r.id))).map(ruleJson);
  const conflicts = requested.conflicts.map((r) => ({ target_ip: r.targetIp, rule_id: r.id }));
  if (statuses.includes(null)) return c.json({ ok: true as const, rules, conflicts }, 202);
  if (rules.length > 0 && statuses.every((s) => s === 'failed')) {
    throw new ApiError('adapter_error', `the adapter announced none of the ${rules.length} rules: ${rules[0]!.status_reason}`, { rules, conflicts });
  }
  return c.json({ ok: true as const, rules, conflicts }, 200);
}

const listRoute = defineRoute({
  method: 'get',
  path: '/mitigation/rules',
  summary: 'List active mitigation rules',
  description: 'Rules that are pending, active or being withdrawn, newest first, a page at a time (`limit`, default 100, at most 1000; `offset`); `total` counts them all.',
  request: { query: RuleListQuery },
  responses: responses('Active rules', ok({ rules: z.array(RuleSchema), total: z.number().int() })),
});

const historyRoute = defineRoute({
  method: 'get',
  path: '/mitigation/rules/history',
  summary: 'Rule history',
  description: 'Withdrawn, expired and failed rules, newest first.',
  request: { query: HistoryQuery },
  responses: responses('Ended rules', ok({ rules: z.array(RuleSchema) })),
});

const getRoute = defineRoute({
  method: 'get',
  path: '/mitigation/rules/{id}',
  summary: 'Get one rule',
  request: { params: IdParam },
  responses: responses('The rule, and what the reconciler repaired of its route', ok({ rule: RuleSchema, repairs: z.array(RuleRepairSchema) }), { 404: 'not_found' }),
});

const createRuleRoute = defineRoute({
  method: 'post',
  path: '/mitigation/rules',
  summary: 'Create a BGP blackhole, FlowSpec or scrubbing rule',
  description:
    'Announces through the adapter and answers once the speaker acknowledged it (status "active"), ' +
    'or with adapter_error if it refused. Answers 202 with status "pending" if the speaker takes longer than the wait limit. ' +
    'With `target_ips` (up to 1,024), one rule per target with the same settings, answered once every one settled: 200 with `rules` (each active or failed, `status_reason` saying why) and `conflicts` (targets another live rule holds already, left alone); 202 if any is still pending at the wait limit; 502 adapter_error if none was announced. ' +
    'A scrubbing rule holds the diversion of the integration named by `scrubbing_id` (workflow `scrubbing:<id>`, a child of the rule’s) and is active once the provider confirmed it.',
  request: jsonBody(CreateRuleBody),
  responses: responses('The announced rule, or with `target_ips` the announced rules', z.union([ok({ rule: RuleSchema }), ok({ rules: z.array(RuleSchema), conflicts: z.array(RuleConflictSchema) })]), {
    ...WRITE_ERRORS,
    404: 'not_found: no such adapter',
    409: 'conflict: a live rule already holds this route on this adapter (or this integration’s diversion), or the integration diverts by hand',
    502: 'adapter_error: the speaker refused or could not be reached (the failed rule is included)',
  }),
});

const withdrawRoute = defineRoute({
  method: 'post',
  path: '/mitigation/rules/{id}/withdraw',
  summary: 'Withdraw a rule',
  description: 'Removes the announcement and answers once the route is gone; 202 with status "withdrawing" if the speaker takes longer than the wait limit (the withdrawal goes on).',
  request: { params: IdParam, ...jsonBody(WithdrawRuleBody, false) },
  responses: responses('The withdrawn rule', ok({ rule: RuleSchema }), {
    ...WRITE_ERRORS,
    404: 'not_found',
    409: 'conflict: the rule already ended',
  }),
});

export const rulesRouter = router()
  .openapi(listRoute, async (c) => {
    const { rows, total } = await listLiveRulesPage(c.var.deps.db, c.var.workspace.id, c.req.valid('query'));
    return c.json({ ok: true as const, rules: rows.map(ruleJson), total }, 200);
  })
  .openapi(historyRoute, async (c) => {
    const { limit } = c.req.valid('query');
    const rows = await listEndedRules(c.var.deps.db, c.var.workspace.id, limit);
    return c.json({ ok: true as const, rules: rows.map(ruleJson) }, 200);
  })
  .openapi(getRoute, async (c) => {
    const row = await loadRule(c.var.deps, c.var.workspace.id, c.req.valid('param').id);
    const repairs = await listRuleRepairs(c.var.deps.db, row.id);
    return c.json({ ok: true as const, rule: ruleJson(row), repairs: repairs.map((r) => ({ at: r.at.toISOString(), kind: r.kind })) }, 200);
  })
  .openapi(createRuleRoute, async (c) => {
    const deps = c.var.deps;
    const ws = c.var.workspace;
    const body = c.req.valid('json');
    if (body.intent_type === 'blackhole' && (body.match || body.action)) {
      throw new ApiError('invalid_parameter', `${body.match ? 'match' : 'action'} applies only to intent_type "flowspec"`);
    }
    if (body.target_ips) return createMany(c, body, body.target_ips);
    const target = body.target_ip!;
    const { row, via } = body.intent_type === 'scrubbing' ? await requestDiversion(deps, ws.id, body, target) : await requestRoute(deps, ws.id, body, target);
    const settled = await startRule(deps, ruleInput({ ...row, via }), deps.announceWaitMs ?? 30_000);
    const after = await loadRule(deps, ws.id, row.id);
    const rule = ruleJson(after);
    if (settled === null) return c.json({ ok: true as const, rule }, 202);
    if (settled === 'failed') throw new ApiError('adapter_error', `the adapter did not announce the rule: ${after.statusReason}`, { rule });
    return c.json({ ok: true as const, rule }, 200);
  })
  .openapi(withdrawRoute, async (c) => {
    const deps = c.var.deps;
    const { id } = c.req.valid('param');
    const body = c.req.valid('json') ?? {};
    const row = await loadRule(deps, c.var.workspace.id, id);
    if (FINAL_RULE_STATUSES.includes(row.status)) throw new ApiError('conflict', `rule ${id} already ended (${row.status})`);
    const gone = await withdrawRule(deps, row, body.reason ?? 'withdrawn by API request', deps.announceWaitMs ?? 30_000);
    return c.json({ ok: true as const, rule: ruleJson(await loadRule(deps, c.var.workspace.id, id)) }, gone ? 200 : 202);
  });
