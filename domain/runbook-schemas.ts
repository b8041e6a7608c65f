// What a runbook is made of, as users write it: trigger conditions and the eight step types,
// each with a typed `action_config` checked when the runbook is saved (never at run time).
// Pure; the types inferred here are what the runbook workflow runs (domain/runbook.ts).
import { z } from 'zod';
import { ATTACK_FAMILIES } from './attack.js';
import { CATALOGUE } from './firewall-catalogue.js';
import { FIREWALL_SUITES } from './firewall.js';
import { SEVERITIES } from './escalation.js';
import { CidrOrIp, httpUrl } from './wire.js';
import { jsonStrings, unknownPlaceholders } from './runbook-placeholders.js';

const Uuid = z.string().uuid('must be a node UUID');
const Family = z.enum(ATTACK_FAMILIES, { error: () => `must be one of ${ATTACK_FAMILIES.join(', ')}` });
const Severity = z.enum(SEVERITIES, { error: () => `must be one of ${SEVERITIES.join(', ')}` });
const Count = z.number().int('must be a whole number').min(0, 'must be 0 or more').max(Number.MAX_SAFE_INTEGER, 'is too large');
const Tier = z.number().int('must be a whole number').min(1, 'must be 1-3').max(3, 'must be 1-3');
const RowId = z.number().int('must be a whole number').min(1, 'must be a positive id').max(2_147_483_647, 'is too large');

/** Text with `{{incident.*}}` placeholders: an unknown one is refused now, not at 3 a.m. */
const Template = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((v, ctx) => {
      const bad = unknownPlaceholders(v);
      if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `has unknown placeholder ${bad.map((b) => `{{${b}}}`).join(', ')}` });
    });

/** When a runbook fires on an incident: every condition given must hold (none: every incident). */
export const TriggerConditions = z
  .strictObject({
    family: z.union([Family, z.array(Family).min(1, 'must name at least one family').max(ATTACK_FAMILIES.length)]).optional(),
    severity: Severity.optional().describe('the least severity (low < medium < high < critical)'),
    min_pps: Count.optional(),
    min_bps: Count.optional(),
    tier: Tier.optional().describe('the least escalation tier reached'),
    nodes: z.array(Uuid).min(1, 'must name at least one node').max(1000).optional(),
    target_prefix: CidrOrIp.optional().describe('the attacked address lies within this prefix'),
  })
  .describe('every condition given must hold; {} fires on every incident');
export type TriggerConditions = z.infer<typeof TriggerConditions>;

/** A typed predicate over the execution's context. */
const ConditionConfig = z.discriminatedUnion('field', [
  z.strictObject({ field: z.literal('family'), op: z.enum(['eq', 'ne', 'in']), value: z.union([Family, z.array(Family).min(1)]) }),
  z.strictObject({ field: z.literal('severity'), op: z.enum(['eq', 'ne', 'gte', 'lte']), value: Severity }),
  z.strictObject({ field: z.enum(['pps', 'bps', 'tier']), op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']), value: Count }),
  z.strictObject({ field: z.literal('node'), op: z.enum(['eq', 'ne', 'in']), value: z.union([Uuid, z.array(Uuid).min(1)]) }),
  z.strictObject({ field: z.literal('target'), op: z.literal('within'), value: CidrOrIp }),
]);

const CATALOGUE_NAMES = CATALOGUE.map((c) => c.name) as [string, ...string[]];
const CatalogueName = z.enum(CATALOGUE_NAMES, { error: () => `must be remove or a rule set of the catalogue: ${CATALOGUE_NAMES.join(', ')}` });

const IptablesConfig = z
  .strictObject({
    cmd: z.enum([...CATALOGUE_NAMES, 'remove'], { error: () => `must be remove or a rule set of the catalogue: ${CATALOGUE_NAMES.join(', ')}` }),
    name: CatalogueName.optional().describe('with cmd "remove": the rule set to remove'),
    suite: z.enum(FIREWALL_SUITES).optional().describe("default: the suite of the node's attack profile, else iptables"),
  })
  .superRefine((c, ctx) => {
    if (c.cmd === 'remove' && c.name === undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'is required with cmd "remove": the rule set to remove' });
    if (c.cmd !== 'remove' && c.name !== undefined) ctx.addIssue({ code: 'custom', path: ['name'], message: 'is only for cmd "remove"' });
  });

const HeaderName = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const Json: z.ZodType<unknown> = z.lazy(() => z.union([z.string().max(10_000), z.number(), z.boolean(), z.null(), z.array(Json).max(1000), z.record(z.string().max(200), Json)]));

/** Stands for a secret stored with the runbook (GET shows it; sent back unchanged, the secret is kept). */
export const STORED_SECRET = '<stored>';

const WebhookConfig = z
  .strictObject({
  url: httpUrl('put them in headers (stored encrypted)'),
  method: z.enum(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']).default('POST'),
  headers: z
    .record(z.string().regex(HeaderName, 'must be header names'), z.string().max(4096).regex(/^[^\r\n]*$/, 'must be one line'))
    .refine((h) => Object.keys(h).length <= 30, 'must be at most 30 headers')
    .optional(),
  body: Json.optional().describe('JSON; strings may hold {{incident.*}} placeholders'),
  hmac_secret: z
    .union([z.literal(STORED_SECRET), z.string().min(16, 'must be at least 16 characters').max(256)])
    .optional()
    .describe('signs the body: X-Bulwark-Signature: sha256=<hex HMAC-SHA256 of "<X-Bulwark-Timestamp>.<body>">; stored encrypted'),
  timeout_seconds: z.number().int().min(1, 'must be 1-30').max(30, 'must be 1-30').default(10),
})
  .superRefine((c, ctx) => {
    const bad = [...new Set(jsonStrings(c.body).flatMap(unknownPlaceholders))];
    if (bad.length > 0) ctx.addIssue({ code: 'custom', path: ['body'], message: `has unknown placeholder ${bad.map((b) => `{{${b}}}`).join(', ')}` });
  });

export const STEP_CONFIGS = {
  wait: z.strictObject({ seconds: z.number().int('must be whole seconds').min(1, 'must be 1-86400').max(86_400, 'must be 1-86400') }),
  log: z.strictObject({ message: Template(2000) }),
  condition: ConditionConfig,
  iptables: IptablesConfig,
  notify_channel: z.strictObject({ channel_id: RowId, message: Template(2000).optional() }),
  webhook: WebhookConfig,
  cloudflare_uam: z.strictObject({
    integration_id: RowId.describe('a cloudflare_waf scrubbing integration: its zone and token'),
    restore_after_seconds: z.number().int().min(10, 'must be 10-604800').max(604_800, 'must be 10-604800').optional().describe('restore the previous security level after this long; default: when the incident resolves'),
  }),
  scrubbing_enable: z.strictObject({
    integration_id: RowId,
    ttl: z.number().int().min(0).max(30 * 86_400, 'must be 0-2592000').optional().describe('seconds; 0 or absent: until withdrawn'),
    keep_after_incident: z.boolean().default(false).describe('keep diverting after the incident resolves'),
  }),
} as const;

export const STEP_TYPES = Object.keys(STEP_CONFIGS) as Array<keyof typeof STEP_CONFIGS>;
export type StepType = keyof typeof STEP_CONFIGS;
export type StepConfig<T extends StepType> = z.infer<(typeof STEP_CONFIGS)[T]>;
export type RunbookStep = { [T in StepType]: { action_type: T; action_config: StepConfig<T> } }[StepType];

/** Steps per runbook (the API's steps schema, api/schemas/runbooks.ts, checks each one's config by its type). */
export const MAX_STEPS = 50;
