// Attack profiles: the reference's apply body, removal, previews and roll-outs.
import { z } from '@hono/zod-openapi';
import { PROFILE_IDS } from '../../domain/attack-profiles.js';
import { FirewallRuleSchema, MAX_CUSTOM_RULES } from '../../domain/agent-protocol.js';
import { FIREWALL_SUITES } from '../../domain/firewall.js';
import { ROLLOUT_NODE_STATES } from '../../domain/profile-rollout.js';
import { Timestamp, Uuid } from './common.js';

const ProfileIdField = z.enum(PROFILE_IDS, { error: `must be one of ${PROFILE_IDS.join(', ')}` }).openapi({ example: 'game_server' });
const SuiteField = z.enum(FIREWALL_SUITES, { error: `must be one of ${FIREWALL_SUITES.join(', ')}` }).openapi({ example: 'nftables' });

/** Node UUIDs, or ["all"]: every node of the workspace when the roll-out starts. */
const NodeIds = z
  .array(z.string())
  .min(1, 'must list node UUIDs, or be ["all"]')
  .max(1000, 'must list at most 1000 nodes')
  .superRefine((ids, ctx) => {
    if (ids.includes('all')) {
      if (ids.length > 1) ctx.addIssue({ code: 'custom', message: '"all" stands alone: ["all"] or a list of node UUIDs' });
      return;
    }
    ids.forEach((id, i) => {
      if (!Uuid.safeParse(id).success) ctx.addIssue({ code: 'custom', path: [i], message: 'must be a node UUID' });
    });
  })
  .openapi({ example: ['all'] });

export const ApplyProfileBody = z
  .strictObject({
    profile_id: ProfileIdField,
    suite: SuiteField,
    node_ids: NodeIds,
    rules: z
      .array(
        z.strictObject({
          cmd: z.string().max(512).openapi({ description: 'an iptables-style rule, parsed with a strict grammar (README "Attack profiles")', example: '-p udp --dport 7777 -m hashlimit --hashlimit-above 50/sec --hashlimit-mode srcip -j DROP' }),
          title: z.string().trim().min(1).max(160).regex(/^[^\p{Cc}]*$/u, 'must be one line').optional(),
        }),
      )
      .max(MAX_CUSTOM_RULES)
      .optional()
      .openapi({ description: 'custom rules, evaluated after established traffic and before the profile’s own' }),
  })
  .openapi('ApplyProfile');

export const RemoveProfileBody = z
  .strictObject({
    node_ids: NodeIds,
    profile_id: ProfileIdField.optional().openapi({ description: 'remove only this profile (default: whichever each node has)' }),
  })
  .openapi('RemoveProfile');

export const PreviewQuery = z.strictObject({ suite: SuiteField.default('nftables') });
export const ProfileIdParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'game_server' }) });
export const RolloutIdParam = z.object({ id: Uuid.openapi({ param: { name: 'id', in: 'path' }, example: 'a1b2c3d4-0000-4000-8000-000000000000' }) });

const RuleLine = z.object({ title: z.string(), reason: z.string() });

export const ProfileSchema = z
  .object({
    id: z.enum(PROFILE_IDS),
    name: z.string(),
    optimized_for: z.string(),
    description: z.string(),
    /** Why it needs allowlisted administrators, when it does. */
    needs_allowlist: z.string().nullable(),
    rules: z.array(RuleLine),
  })
  .openapi('AttackProfile');

export const CatalogueEntrySchema = z
  .object({ name: z.string(), ruleset: z.string(), title: z.string(), description: z.string(), suites: z.array(z.enum(FIREWALL_SUITES)), rules: z.array(RuleLine) })
  .openapi('FirewallCatalogueEntry');

export const PreviewSchema = z
  .object({
    suite: z.enum(FIREWALL_SUITES),
    supported: z.boolean(),
    /** Why this suite cannot take the profile, when it cannot. */
    refusal: z.string().nullable(),
    ruleset: z.object({ name: z.string(), rules: z.array(FirewallRuleSchema) }),
    /** What each tool is given, as the agent gives it. */
    scripts: z.record(z.string(), z.string()).nullable(),
  })
  .openapi('AttackProfilePreview');

export const RolloutSchema = z
  .object({
    id: z.string(),
    action: z.enum(['apply', 'remove']),
    profile_id: z.enum(PROFILE_IDS).nullable(),
    suite: z.enum(FIREWALL_SUITES).nullable(),
    target: z.union([z.array(z.string()), z.literal('all')]),
    custom_rules: z.array(z.object({ cmd: z.string(), title: z.string().nullable() })),
    status: z.enum(['running', 'completed']),
    workflow_id: z.string(),
    counts: z.record(z.enum(ROLLOUT_NODE_STATES), z.number().int()),
    nodes: z.array(z.object({ node_id: z.string(), name: z.string(), state: z.enum(ROLLOUT_NODE_STATES), detail: z.string().nullable(), command_workflow_id: z.string().nullable(), updated_at: Timestamp })),
    created_at: z.string(),
    finished_at: Timestamp,
  })
  .openapi('ProfileRollout');
