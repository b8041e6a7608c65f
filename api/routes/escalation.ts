// The escalation policy and per-host threshold overrides. The API speaks the reference's
// flat "tier1_bps" keys; domain/escalation.ts keeps tiers as a list.
import { z } from '@hono/zod-openapi';
import { findAdapter } from '../../db/adapters.js';
import { findScrubbing } from '../../db/scrubbing.js';
import { deleteHostThreshold, listHostThresholds, loadPolicy, saveHostThreshold, savePolicy } from '../../db/escalation.js';
import { knownCountries } from '../../db/geoip.js';
import {
  DEFAULT_ACTIONS,
  DEFAULT_TTL_SECONDS,
  TIER_LEVELS,
  type EscalationPolicy,
  type HostThreshold,
  type Tier,
  type TierLevel,
  type TierThreshold,
} from '../../domain/escalation.js';
import { formatPrefix, mustParsePrefix } from '../../domain/prefix.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';
import { EscalationPolicySchema, SaveEscalationBody, SaveThresholdBody, ThresholdSchema } from '../schemas/escalation.js';
import { policyJson, thresholdJson, type FlatThresholds } from '../views/escalation.js';

/** The request's flat thresholds as the domain keeps them. */
function unflatten(flat: FlatThresholds): Partial<Record<TierLevel, TierThreshold>> {
  const out: Partial<Record<TierLevel, TierThreshold>> = {};
  for (const level of TIER_LEVELS) {
    const bps = flat[`tier${level}_bps`] ?? null;
    const pps = flat[`tier${level}_pps`] ?? null;
    if (bps !== null || pps !== null) out[level] = { bps, pps };
  }
  return out;
}

/** The stored policy with the request's fields applied; thresholds, when given, replace all tiers'. */
function merge(current: EscalationPolicy, body: z.infer<typeof SaveEscalationBody>): EscalationPolicy {
  const old = new Map(current.tiers.map((t) => [t.level, t]));
  const thresholds = body.thresholds ? unflatten(body.thresholds) : Object.fromEntries(current.tiers.map((t) => [t.level, t]));
  const tiers: Tier[] = [];
  for (const level of TIER_LEVELS) {
    const th = thresholds[level];
    if (!th) continue;
    const ttl = typeof body.ttl === 'number' ? body.ttl : body.ttl?.[`tier${level}`];
    tiers.push({
      level,
      bps: th.bps,
      pps: th.pps,
      action: body.actions?.[`tier${level}`] ?? old.get(level)?.action ?? DEFAULT_ACTIONS[level],
      ttlSeconds: ttl ?? old.get(level)?.ttlSeconds ?? DEFAULT_TTL_SECONDS,
    });
  }
  return {
    tiers,
    baselineMode: body.baseline_mode ?? current.baselineMode,
    geoLockdown: body.geo_lockdown ?? current.geoLockdown,
    dryRun: body.dry_run ?? current.dryRun,
    adapterId: body.adapter_id !== undefined ? body.adapter_id : current.adapterId,
    scrubbingId: body.scrubbing_id !== undefined ? body.scrubbing_id : current.scrubbingId,
    holdDownSeconds: body.hold_down_seconds ?? current.holdDownSeconds,
    actWithoutSignature: body.act_without_signature ?? current.actWithoutSignature,
  };
}

const getPolicyRoute = defineRoute({
  method: 'get',
  path: '/mitigation/escalation',
  summary: 'Get the escalation policy',
  responses: responses('The policy', ok({ policy: EscalationPolicySchema })),
});

const savePolicyRoute = defineRoute({
  method: 'post',
  path: '/mitigation/escalation',
  summary: 'Save the escalation policy',
  description: 'Fields left out keep their current values; `thresholds`, when given, replaces every tier’s.',
  request: jsonBody(SaveEscalationBody),
  responses: responses('The saved policy', ok({ policy: EscalationPolicySchema }), { ...WRITE_ERRORS, 404: 'not_found: no such adapter' }),
});

const listThresholdsRoute = defineRoute({
  method: 'get',
  path: '/mitigation/thresholds',
  summary: 'List per-host thresholds',
  responses: responses('Overrides', ok({ thresholds: z.array(ThresholdSchema) })),
});

const saveThresholdRoute = defineRoute({
  method: 'post',
  path: '/mitigation/thresholds',
  summary: 'Create or update a per-host threshold',
  description: 'One override per target: saving the same target again replaces its thresholds. The most specific override containing an attacked address wins over the policy.',
  request: jsonBody(SaveThresholdBody),
  responses: responses('The override', ok({ threshold: ThresholdSchema }), WRITE_ERRORS),
});

const deleteThresholdRoute = defineRoute({
  method: 'delete',
  path: '/mitigation/thresholds/{id}',
  summary: 'Delete a per-host threshold',
  request: { params: IdParam },
  responses: responses('Deleted', ok({ deleted: z.number().int() }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

export const escalationRouter = router()
  .openapi(getPolicyRoute, async (c) => {
    const { policy, updatedAt } = await loadPolicy(c.var.deps.db, c.var.workspace.id);
    return c.json({ ok: true as const, policy: policyJson(policy, updatedAt) }, 200);
  })
  .openapi(savePolicyRoute, async (c) => {
    const { db } = c.var.deps;
    const ws = c.var.workspace.id;
    const body = c.req.valid('json');
    if (body.adapter_id != null) {
      if (!(await findAdapter(db, ws, body.adapter_id))) throw new ApiError('not_found', `adapter_id: adapter ${body.adapter_id} not found`);
    }
    if (body.scrubbing_id != null) {
      if (!(await findScrubbing(db, ws, body.scrubbing_id))) throw new ApiError('not_found', `scrubbing_id: scrubbing integration ${body.scrubbing_id} not found`);
    }
    const unknown = body.geo_lockdown?.countries.filter((cc) => !knownCountries().has(cc)) ?? [];
    if (unknown.length > 0) throw new ApiError('invalid_parameter', `geo_lockdown.countries: ${unknown.join(', ')} not in the GeoIP data set`);
    const saved = await savePolicy(db, ws, merge((await loadPolicy(db, ws)).policy, body));
    return c.json({ ok: true as const, policy: policyJson(saved.policy, saved.updatedAt) }, 200);
  })
  .openapi(listThresholdsRoute, async (c) => {
    const rows = await listHostThresholds(c.var.deps.db, c.var.workspace.id);
    return c.json({ ok: true as const, thresholds: rows.map(thresholdJson) }, 200);
  })
  .openapi(saveThresholdRoute, async (c) => {
    const body = c.req.valid('json');
    const target = mustParsePrefix(body.target_ip);
    const aggregate = body.aggregate ?? false;
    if (aggregate && target.length === (target.family === 4 ? 32 : 128)) throw new ApiError('invalid_parameter', 'aggregate: a single address has no nodes to sum; give a prefix (203.0.113.0/24)');
    const thresholds: HostThreshold['thresholds'] = unflatten(body.thresholds);
    const row = await saveHostThreshold(c.var.deps.db, c.var.workspace.id, { targetIp: formatPrefix(target), label: body.label, thresholds, aggregate });
    return c.json({ ok: true as const, threshold: thresholdJson(row) }, 200);
  })
  .openapi(deleteThresholdRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await deleteHostThreshold(c.var.deps.db, c.var.workspace.id, id))) throw new ApiError('not_found', `threshold ${id} not found`);
    return c.json({ ok: true as const, deleted: id }, 200);
  });
