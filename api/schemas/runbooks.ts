// Runbooks and their executions as the API takes and answers them. A step's `action_config`
// is checked by its type's schema (domain/runbook-schemas.ts) when the runbook is saved,
// each issue named by its place: "steps.2.action_config.seconds".
import { z } from '@hono/zod-openapi';
import { EXECUTION_STATUSES, EXECUTION_TRIGGERS, STEP_STATUSES } from '../../db/schema.js';
import { STEP_CONFIGS, STEP_TYPES, TriggerConditions, MAX_STEPS, type StepType } from '../../domain/runbook-schemas.js';
import { queryInt } from '../../domain/wire.js';
import { PathId, Timestamp, Uuid } from './common.js';

const StepInput = z
  .strictObject({
    action_type: z.enum(STEP_TYPES as [StepType, ...StepType[]], { error: () => `must be one of ${STEP_TYPES.join(', ')}` }),
    action_config: z.record(z.string(), z.unknown()).default({}),
  })
  .openapi('RunbookStep', { example: { action_type: 'wait', action_config: { seconds: 30 } } });

const StepsInput = z
  .array(StepInput)
  .min(1, 'must hold at least one step')
  .max(MAX_STEPS, `must hold at most ${MAX_STEPS} steps`)
  .superRefine((steps, ctx) => {
    steps.forEach((step, i) => {
      const r = STEP_CONFIGS[step.action_type].safeParse(step.action_config);
      for (const issue of r.error?.issues ?? []) ctx.addIssue({ ...issue, path: [i, 'action_config', ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    });
  })
  .openapi({
    description:
      'Ordered steps: wait {seconds}; log {message}; condition {field, op, value}; iptables {cmd: <catalogue rule set> | "remove", name?, suite?}; notify_channel {channel_id, message?}; ' +
      'webhook {url, method, headers?, body?, hmac_secret?, timeout_seconds}; cloudflare_uam {integration_id, restore_after_seconds?}; scrubbing_enable {integration_id, ttl?, keep_after_incident?}. ' +
      'Text may hold {{incident.*}} placeholders (id, family, severity, pps, bps, tier, target, node, started_at).',
  });

const Conditions = TriggerConditions.openapi('RunbookTriggerConditions', { example: { family: 'udp_flood', severity: 'critical', min_pps: 500000 } });

export const CreateRunbookBody = z
  .strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(100).openapi({ example: 'Auto-mitigate UDP floods' }),
    description: z.string().max(1000).nullable().optional(),
    trigger_conditions: Conditions,
    steps: StepsInput,
    active: z.boolean().default(true),
  })
  .openapi('CreateRunbook');

export const UpdateRunbookBody = z
  .strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(100).optional(),
    description: z.string().max(1000).nullable().optional(),
    trigger_conditions: Conditions.optional(),
    steps: StepsInput.optional().openapi({ description: 'replaces the steps whole' }),
    active: z.boolean().optional(),
  })
  .openapi('UpdateRunbook');

export const RunRunbookBody = z
  .strictObject({ node: Uuid.optional().openapi({ description: 'run against this node, for real; without it a synthetic test context, and steps that touch a host, zone or provider are simulated' }) })
  .openapi('RunRunbook');

export const ExecutionParams = z.object({
  id: PathId.openapi({ param: { name: 'id', in: 'path' }, example: '7' }),
  execution_id: PathId.openapi({ param: { name: 'execution_id', in: 'path' }, example: '42' }),
});

export const ExecutionsQuery = z.strictObject({ limit: queryInt(1, 200).default(50).openapi({ description: '1-200', example: '50' }) });

const LastExecution = z.object({ id: z.number().int(), status: z.enum(EXECUTION_STATUSES), started_at: Timestamp, finished_at: Timestamp }).nullable();

export const RunbookSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string().nullable(),
    active: z.boolean(),
    trigger_conditions: z.record(z.string(), z.unknown()),
    steps: z.array(z.object({ action_type: z.enum(STEP_TYPES as [StepType, ...StepType[]]), action_config: z.record(z.string(), z.unknown()) })).openapi({ description: 'webhook secrets show as "<stored>"' }),
    steps_count: z.number().int(),
    executions_count: z.number().int(),
    last_execution: LastExecution,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Runbook');

export const StepResultSchema = z
  .object({
    index: z.number().int(),
    action_type: z.string(),
    status: z.enum(STEP_STATUSES),
    output: z.string().nullable(),
    error: z.string().nullable(),
    started_at: Timestamp,
    finished_at: Timestamp,
    duration_ms: z.number().nullable(),
  })
  .openapi('RunbookStepResult');

export const ExecutionSchema = z
  .object({
    id: z.number().int(),
    runbook_id: z.number().int(),
    incident_id: z.number().int().nullable(),
    trigger: z.enum(EXECUTION_TRIGGERS),
    status: z.enum(EXECUTION_STATUSES),
    simulated: z.boolean().openapi({ description: 'run without a node: steps touching a host, zone or provider were simulated' }),
    retry_of: z.number().int().nullable(),
    from_step: z.number().int(),
    error: z.string().nullable(),
    context: z.record(z.string(), z.unknown()),
    workflow_id: z.string(),
    temporal_ui_url: z.string().openapi({ description: 'the execution in the Temporal UI' }),
    notes: z.array(z.string()),
    started_at: z.string(),
    finished_at: Timestamp,
    duration_ms: z.number().nullable(),
    steps: z.array(StepResultSchema),
  })
  .openapi('RunbookExecution');
