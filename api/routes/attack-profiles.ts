// Attack profiles: list, preview per suite, apply to nodes and remove, each change a
// roll-out workflow `profile-rollout:<uuid>` (clients/profile-rollout.ts) whose per-node
// outcome is on its row.
import { randomUUID } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { runRollout } from '../../clients/profile-rollout.js';
import { listAllowlist } from '../../db/allowlist.js';
import { countNodes, createRollout, findRollout, listRollouts, nodesByUuid, type NewRollout } from '../../db/profile-rollouts.js';
import { PROFILES, profileById, profileRefusal, profileRuleSet, type ProfileId } from '../../domain/attack-profiles.js';
import { CATALOGUE } from '../../domain/firewall-catalogue.js';
import { parseFirewallCmd } from '../../domain/firewall-cmd.js';
import { suitePreview, suiteRefusal } from '../../domain/firewall-suites.js';
import type { FirewallRule } from '../../domain/firewall.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { ApplyProfileBody, CatalogueEntrySchema, PreviewQuery, PreviewSchema, ProfileIdParam, ProfileSchema, RemoveProfileBody, RolloutIdParam, RolloutSchema } from '../schemas/attack-profiles.js';
import { NoQuery, ok } from '../schemas/common.js';
import { catalogueJson, profileJson, rolloutJson } from '../views/attack-profiles.js';
import { profileRolloutWorkflowId, type RolloutPlan } from '../../workflows/profile-rollout.contract.js';

/** How long apply and remove wait for every node before answering 202 with the roll-out so far. */
const WAIT_MS = 20_000;

/** The workspace's allowlist: every entry, and the workspace-wide ones a profile's first rule accepts (each node adds its own entries on delivery). */
async function allowlistOf(deps: AppDeps, workspaceId: number): Promise<{ all: string[]; workspaceWide: string[] }> {
  const rows = await listAllowlist(deps.db, workspaceId, 'network');
  return { all: rows.map((e) => e.ipAddress), workspaceWide: rows.filter((e) => e.scope === 'workspace').map((e) => e.ipAddress) };
}

function mustProfile(id: string): ProfileId {
  const p = profileById(id);
  if (!p) throw new ApiError('not_found', `no attack profile "${id}"; the profiles are ${PROFILES.map((x) => x.id).join(', ')}`);
  return p.id;
}

/** The nodes asked for: ["all"], or UUIDs that must all be the workspace's. */
async function checkTargets(deps: AppDeps, workspaceId: number, nodeIds: string[]): Promise<string[] | 'all'> {
  if (nodeIds[0] === 'all') {
    if ((await countNodes(deps.db, workspaceId)) === 0) throw new ApiError('invalid_parameter', 'node_ids: the workspace has no nodes yet');
    return 'all';
  }
  const uuids = [...new Set(nodeIds.map((u) => u.toLowerCase()))];
  const found = new Set((await nodesByUuid(deps.db, workspaceId, uuids)).map((n) => n.uuid));
  const missing = uuids.filter((u) => !found.has(u));
  if (missing.length > 0) throw new ApiError('not_found', `node_ids: no node ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` (and ${missing.length - 5} more)` : ''} in this workspace`);
  return uuids;
}

async function startRollout(deps: AppDeps, values: Omit<NewRollout, 'uuid' | 'workflowId'>, plan: RolloutPlan) {
  const uuid = randomUUID();
  const row = await createRollout(deps.db, { ...values, uuid, workflowId: profileRolloutWorkflowId(uuid) });
  const summary = await runRollout(deps, uuid, { ...plan, rolloutId: row.id, heartbeatTimeoutSeconds: deps.commandHeartbeatTimeoutSeconds ?? 30 }, WAIT_MS);
  const found = (await findRollout(deps.db, values.workspaceId, uuid))!;
  return { summary, rollout: rolloutJson(found.rollout, found.nodes) };
}

const listRoute = defineRoute({
  method: 'get',
  path: '/attack-profiles',
  summary: 'List the attack profiles',
  description: 'Each profile with its description and the title and reason of every rule it installs.',
  request: { query: NoQuery },
  responses: responses('Profiles', ok({ profiles: z.array(ProfileSchema) })),
});

const catalogueRoute = defineRoute({
  method: 'get',
  path: '/attack-profiles/catalogue',
  summary: 'The catalogue of named firewall rule sets',
  description: 'Named rule sets (block_udp_flood, block_syn_flood, …) in the same model as the profiles, for runbooks and incident responses, with the suites that can apply each.',
  request: { query: NoQuery },
  responses: responses('Catalogue', ok({ catalogue: z.array(CatalogueEntrySchema) })),
});

const previewRoute = defineRoute({
  method: 'get',
  path: '/attack-profiles/{id}',
  summary: 'Preview a profile for a suite',
  description: 'The exact rules the suite would get (with the workspace allowlist as it is now; each node adds its own entries and its agent’s API server), or why the suite cannot take the profile.',
  request: { params: ProfileIdParam, query: PreviewQuery },
  responses: responses('The profile and its rules for the suite', ok({ profile: ProfileSchema, preview: PreviewSchema }), { 404: 'not_found' }),
});

const applyRoute = defineRoute({
  method: 'post',
  path: '/attack-profiles/apply',
  summary: 'Apply an attack profile to nodes',
  description:
    'Starts the roll-out workflow `profile-rollout:<id>`: one command per node, 8 at a time; offline nodes are skipped. Answers once every node is done (200), or after 20 s with the roll-out so far (202); ' +
    '`GET /attack-profiles/rollouts/{id}` follows it. A node with another profile gets the new one first, then loses the old one.',
  request: jsonBody(ApplyProfileBody),
  responses: responses(
    'The roll-out',
    ok({ applied_to: z.number().int(), profile: z.string(), suite: z.string(), rollout: RolloutSchema }),
    { ...WRITE_ERRORS, 404: 'not_found: a node', 202: 'the roll-out goes on' },
  ),
});

const removeRoute = defineRoute({
  method: 'post',
  path: '/attack-profiles/remove',
  summary: 'Remove the attack profile from nodes',
  description: 'A roll-out that removes each node’s profile (only `profile_id`, when given), leaving every other rule in place. Answers as apply does.',
  request: jsonBody(RemoveProfileBody),
  responses: responses('The roll-out', ok({ removed_from: z.number().int(), rollout: RolloutSchema }), { ...WRITE_ERRORS, 404: 'not_found: a node', 202: 'the roll-out goes on' }),
});

const rolloutsRoute = defineRoute({
  method: 'get',
  path: '/attack-profiles/rollouts',
  summary: 'Recent roll-outs',
  request: { query: NoQuery },
  responses: responses('The last 50 roll-outs, newest first, without their nodes', ok({ rollouts: z.array(RolloutSchema.omit({ nodes: true, counts: true })) })),
});

const rolloutRoute = defineRoute({
  method: 'get',
  path: '/attack-profiles/rollouts/{id}',
  summary: 'A roll-out and each node’s outcome',
  request: { params: RolloutIdParam, query: NoQuery },
  responses: responses('The roll-out', ok({ rollout: RolloutSchema }), { 404: 'not_found' }),
});

export const attackProfilesRouter = router()
  .openapi(listRoute, (c) => c.json({ ok: true as const, profiles: PROFILES.map(profileJson) }, 200))
  .openapi(catalogueRoute, (c) => c.json({ ok: true as const, catalogue: CATALOGUE.map(catalogueJson) }, 200))
  .openapi(rolloutsRoute, async (c) => {
    const rows = await listRollouts(c.var.deps.db, c.var.workspace.id, 50);
    return c.json({ ok: true as const, rollouts: rows.map((r) => { const { nodes: _n, counts: _c, ...rest } = rolloutJson(r, []); return rest; }) }, 200);
  })
  .openapi(rolloutRoute, async (c) => {
    const found = await findRollout(c.var.deps.db, c.var.workspace.id, c.req.valid('param').id.toLowerCase());
    if (!found) throw new ApiError('not_found', `roll-out ${c.req.valid('param').id} not found`);
    return c.json({ ok: true as const, rollout: rolloutJson(found.rollout, found.nodes) }, 200);
  })
  .openapi(previewRoute, async (c) => {
    const id = mustProfile(c.req.valid('param').id);
    const { suite } = c.req.valid('query');
    const set = profileRuleSet(id, { allowlisted: (await allowlistOf(c.var.deps, c.var.workspace.id)).workspaceWide });
    const refusal = suiteRefusal(suite, set);
    return c.json({ ok: true as const, profile: profileJson(profileById(id)!), preview: { suite, supported: refusal === null, refusal, ruleset: set, scripts: suitePreview(suite, set) } }, 200);
  })
  .openapi(applyRoute, async (c) => {
    const deps = c.var.deps;
    const ws = c.var.workspace.id;
    const body = c.req.valid('json');
    const custom: Array<{ cmd: string; title: string | null; rule: FirewallRule }> = [];
    for (const [i, r] of (body.rules ?? []).entries()) {
      const parsed = parseFirewallCmd(r.cmd, r.title);
      if (!parsed.ok) throw new ApiError('invalid_parameter', `rules[${i}].cmd: ${parsed.reason}`);
      custom.push({ cmd: r.cmd, title: r.title ?? null, rule: parsed.rule });
    }
    const allowlist = await allowlistOf(deps, ws);
    const refused = profileRefusal(body.profile_id, allowlist.all);
    if (refused) throw new ApiError('invalid_parameter', `profile_id: ${refused}`);
    const set = profileRuleSet(body.profile_id, { allowlisted: allowlist.workspaceWide, custom: custom.map((x) => x.rule) });
    const unsupported = suiteRefusal(body.suite, set);
    if (unsupported) throw new ApiError('invalid_parameter', `suite: ${unsupported}`);
    const target = await checkTargets(deps, ws, body.node_ids);
    const { summary, rollout } = await startRollout(
      deps,
      { workspaceId: ws, action: 'apply', profileId: body.profile_id, suite: body.suite, customRules: custom, target },
      { action: 'apply', profileId: body.profile_id, suite: body.suite, custom: custom.map((x) => x.rule) },
    );
    return c.json({ ok: true as const, applied_to: rollout.counts.applied, profile: body.profile_id, suite: body.suite, rollout }, summary ? 200 : 202);
  })
  .openapi(removeRoute, async (c) => {
    const deps = c.var.deps;
    const ws = c.var.workspace.id;
    const body = c.req.valid('json');
    const target = await checkTargets(deps, ws, body.node_ids);
    const profileId = body.profile_id ?? null;
    const { summary, rollout } = await startRollout(deps, { workspaceId: ws, action: 'remove', profileId, suite: null, target }, { action: 'remove', profileId });
    return c.json({ ok: true as const, removed_from: rollout.counts.removed, rollout }, summary ? 200 : 202);
  });
