// Attack profiles and roll-outs as the API answers them.
import type { z } from '@hono/zod-openapi';
import type { RolloutNodeRow, RolloutRow } from '../../db/profile-rollouts.js';
import type { AttackProfile } from '../../domain/attack-profiles.js';
import type { CatalogueEntry } from '../../domain/firewall-catalogue.js';
import { catalogueRuleSet } from '../../domain/firewall-catalogue.js';
import type { TitledRule } from '../../domain/firewall-blocks.js';
import { FIREWALL_SUITES } from '../../domain/firewall.js';
import { suiteRefusal } from '../../domain/firewall-suites.js';
import { ROLLOUT_NODE_STATES } from '../../domain/profile-rollout.js';
import type { CatalogueEntrySchema, ProfileSchema, RolloutSchema } from '../schemas/attack-profiles.js';
import { iso } from './time.js';

const lines = (rules: TitledRule[]) => rules.map((r) => ({ title: r.title, reason: r.reason }));

export function profileJson(p: AttackProfile): z.infer<typeof ProfileSchema> {
  return { id: p.id, name: p.name, optimized_for: p.optimizedFor, description: p.description, needs_allowlist: p.needsAllowlist ?? null, rules: lines([...p.early, ...p.rules]) };
}

export function catalogueJson(c: CatalogueEntry): z.infer<typeof CatalogueEntrySchema> {
  const set = catalogueRuleSet(c.name);
  return { name: c.name, ruleset: c.ruleset, title: c.title, description: c.description, suites: FIREWALL_SUITES.filter((s) => suiteRefusal(s, set) === null), rules: lines(c.rules) };
}

export function rolloutJson(r: RolloutRow, nodes: RolloutNodeRow[]): z.infer<typeof RolloutSchema> {
  const counts = Object.fromEntries(ROLLOUT_NODE_STATES.map((s) => [s, nodes.filter((n) => n.state === s).length])) as z.infer<typeof RolloutSchema>['counts'];
  return {
    id: r.uuid,
    action: r.action,
    profile_id: r.profileId,
    suite: r.suite,
    target: r.target,
    custom_rules: r.customRules.map((c) => ({ cmd: c.cmd, title: c.title })),
    status: r.status,
    workflow_id: r.workflowId,
    counts,
    nodes: nodes.map((n) => ({ node_id: n.nodeUuid, name: n.nodeName, state: n.state, detail: n.detail, command_workflow_id: n.commandWorkflowId, updated_at: iso(n.updatedAt) })),
    created_at: r.createdAt.toISOString(),
    finished_at: iso(r.finishedAt),
  };
}
