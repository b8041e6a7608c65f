// Mitigation rules: the request (target, intent, FlowSpec match and action) and the rule as answered.
import { z } from '@hono/zod-openapi';
import { INTENT_TYPES } from '../../domain/adapter-types.js';
import { CidrOrIp, queryInt } from '../../domain/wire.js';
import { PROTOCOL_NUMBERS, type NumRange } from '../../domain/intent.js';
import { REPAIR_KINDS, RULE_STATUSES } from '../../db/schema.js';
import { bodyId, Timestamp } from './common.js';

const PORT_MAX = 65535;

/** 80, "1000-2000", or a list of those. */
const RangeSpec = z.union([
  z.number().int().min(0).max(PORT_MAX),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'must look like 53 or "1000-2000"'),
]);

function toRanges(v: z.infer<typeof RangeSpec> | Array<z.infer<typeof RangeSpec>>): NumRange[] {
  return (Array.isArray(v) ? v : [v]).map((item) => {
    if (typeof item === 'number') return { from: item, to: item };
    const [a, b] = item.split('-').map(Number);
    return { from: a!, to: b ?? a! };
  });
}

const Ranges = (what: string) =>
  z
    .union([RangeSpec, z.array(RangeSpec).min(1).max(16)])
    .transform(toRanges)
    .superRefine((ranges, ctx) => {
      for (const r of ranges) {
        if (r.to > PORT_MAX || r.from > PORT_MAX) ctx.addIssue({ code: 'custom', message: `must be 0-${PORT_MAX}` });
        else if (r.from > r.to) ctx.addIssue({ code: 'custom', message: `range ${r.from}-${r.to} has its low end last` });
      }
    })
    .openapi({ description: `${what}: a number, "low-high", or a list of those (0-${PORT_MAX})`, example: [53, '1000-2000'] });

const Protocol = z.union([
  z.number().int().min(0).max(255),
  z.enum(Object.keys(PROTOCOL_NUMBERS) as [string, ...string[]]),
]);

export const FlowMatchSchema = z
  .strictObject({
    protocol: z
      .union([Protocol, z.array(Protocol).min(1).max(8)])
      .transform((v) => (Array.isArray(v) ? v : [v]).map((p) => (typeof p === 'number' ? p : PROTOCOL_NUMBERS[p]!)))
      .optional()
      .openapi({ description: 'IP protocol name (tcp, udp, icmp, ...) or number 0-255, or a list', example: 'udp' }),
    source: CidrOrIp.optional().openapi({ description: 'source prefix', example: '198.51.100.0/24' }),
    source_port: Ranges('source_port').optional(),
    destination_port: Ranges('destination_port').optional(),
    packet_length: Ranges('packet_length').optional(),
    tcp_flags: z.array(z.enum(['fin', 'syn', 'rst', 'psh', 'ack', 'urg'])).min(1).max(6).optional(),
    fragment: z
      .array(z.enum(['not-a-fragment', 'dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment']))
      .min(1)
      .max(5)
      .optional(),
  })
  .openapi('FlowSpecMatch');

/** RFC 8955 traffic-rate carries an IEEE float32 of bytes per second. */
const MAX_RATE = 3.4e38;

export const FlowActionSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('discard') }),
    z.strictObject({
      type: z.literal('rate_limit'),
      bytes_per_second: z.number().min(0).max(MAX_RATE).openapi({ example: 125000 }),
    }),
  ])
  .openapi('FlowSpecAction');

// ---------- rules ----------

/** The most targets one POST /mitigation/rules may carry. */
export const MAX_BULK_TARGETS = 1024;

export const CreateRuleBody = z
  .strictObject({
    target_ip: CidrOrIp.optional().meta({ description: 'IP address or prefix to mitigate (or `target_ips` for many)', example: '203.0.113.50/32' }),
    target_ips: z
      .array(CidrOrIp)
      .min(1)
      .max(MAX_BULK_TARGETS)
      .optional()
      .meta({
        description: `blackhole and flowspec: up to ${MAX_BULK_TARGETS} targets in one request (a carpet-bombing response), each its own rule with the same settings; answered with \`rules\` and \`conflicts\` instead of \`rule\``,
        example: ['203.0.113.50/32', '203.0.113.51/32'],
      }),
    intent_type: z.enum(INTENT_TYPES).openapi({ example: 'blackhole' }),
    adapter_id: bodyId().optional().openapi({ description: 'blackhole and flowspec: the adapter that announces the rule', example: 1 }),
    scrubbing_id: bodyId().optional().openapi({ description: 'scrubbing: the integration whose diversion the rule holds (the target must lie within its prefixes)', example: 3 }),
    ttl: z
      .number()
      .int()
      .min(0)
      .max(31_536_000)
      .default(3600)
      .openapi({ description: 'seconds until the rule expires; 0 = until withdrawn (default 3600, max one year)', example: 3600 }),
    reason: z.string().max(500).optional().openapi({ example: 'Manual mitigation for UDP flood' }),
    match: FlowMatchSchema.optional().openapi({ description: 'flowspec only: what to match besides the destination' }),
    action: FlowActionSchema.optional().openapi({ description: 'flowspec only: discard (default) or rate_limit' }),
  })
  .superRefine((body, ctx) => {
    if ((body.target_ip === undefined) === (body.target_ips === undefined)) {
      ctx.addIssue({ code: 'custom', path: [body.target_ip === undefined ? 'target_ip' : 'target_ips'], message: body.target_ip === undefined ? 'is required (or target_ips)' : 'give target_ip or target_ips, not both' });
    }
    if (body.target_ips !== undefined && body.intent_type === 'scrubbing') ctx.addIssue({ code: 'custom', path: ['target_ips'], message: 'applies to blackhole and flowspec rules (a scrubbing rule diverts its integration)' });
    const scrubbing = body.intent_type === 'scrubbing';
    // Each intent goes through one kind of back end: name that one, and only that one.
    const [needed, other] = scrubbing ? (['scrubbing_id', 'adapter_id'] as const) : (['adapter_id', 'scrubbing_id'] as const);
    if (body[needed] === undefined) ctx.addIssue({ code: 'custom', path: [needed], message: `is required for intent_type "${body.intent_type}"` });
    if (body[other] !== undefined) ctx.addIssue({ code: 'custom', path: [other], message: `does not apply to intent_type "${body.intent_type}"${scrubbing ? ' (a scrubbing rule diverts through scrubbing_id)' : ''}` });
  })
  .openapi('CreateRule', { example: { target_ip: '203.0.113.50/32', intent_type: 'blackhole', adapter_id: 1, ttl: 3600, reason: 'Manual mitigation for UDP flood' } });

export const RuleConflictSchema = z
  .object({
    target_ip: z.string(),
    rule_id: z.number().int().openapi({ description: 'the live rule that holds this route on the adapter already' }),
  })
  .openapi('RuleConflict');

export const WithdrawRuleBody = z.strictObject({ reason: z.string().max(500).optional() }).openapi('WithdrawRule');

export const RuleSchema = z
  .object({
    id: z.number().int(),
    target_ip: z.string(),
    intent_type: z.enum(INTENT_TYPES),
    adapter_id: z.number().int().nullable().openapi({ description: 'the adapter a blackhole or FlowSpec rule announces through' }),
    scrubbing_id: z.number().int().nullable().openapi({ description: 'the integration a scrubbing rule diverts through' }),
    status: z.enum(RULE_STATUSES),
    ttl: z.number().int(),
    reason: z.string().nullable(),
    status_reason: z.string().nullable(),
    match: z.record(z.string(), z.unknown()).nullable(),
    action: z.record(z.string(), z.unknown()).nullable(),
    communities: z.array(z.string()).nullable(),
    next_hop: z.string().nullable(),
    workflow_id: z.string(),
    created_at: Timestamp,
    announced_at: Timestamp,
    expires_at: Timestamp,
    ended_at: Timestamp,
  })
  .openapi('Rule');

export const RuleRepairSchema = z
  .object({
    at: z.string(),
    kind: z.enum(REPAIR_KINDS).openapi({ description: 'reannounced: the route was missing at the speaker; withdrew_stray: it was still there after the rule ended' }),
  })
  .openapi('RuleRepair');

/** GET /mitigation/rules: a page of the live rules, newest first. */
export const RuleListQuery = z.strictObject({
  limit: queryInt(1, 1000).default(100).openapi({ description: 'rules per page, 1-1000 (default 100)', example: '100' }),
  offset: queryInt(0, Number.MAX_SAFE_INTEGER).default(0).openapi({ description: 'rules to skip, newest first (default 0)', example: '0' }),
});

export const HistoryQuery = z.strictObject({
  limit: queryInt(1, 500).default(100).openapi({ description: '1-500', example: '100' }),
});
