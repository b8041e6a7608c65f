// Request and response schemas: they validate every request AND generate the OpenAPI
// document, so the two cannot drift apart. Objects are strict: an unknown field is a
// typo the caller wants to hear about.
import { z } from '@hono/zod-openapi';
import { BASELINE_MODES, TIER_ACTIONS } from '../domain/escalation.js';
import { FIREWALL_SUITES, MAX_SOURCES, validateRuleSet } from '../domain/firewall.js';
import { PROTOCOL_NUMBERS, type NumRange } from '../domain/intent.js';
import { parseAddress, parsePrefix } from '../domain/prefix.js';
import { ADAPTER_TYPES, INTENT_TYPES } from '../domain/adapter-types.js';
import { ALLOWLIST_SCOPES, INCIDENT_STATUSES, NODE_TRAFFIC_STATES, RULE_STATUSES, SEVERITIES } from '../db/schema.js';
import { ATTACK_FAMILIES } from '../domain/attack.js';

// ---------- shared pieces ----------

export const Id = z.coerce
  .number({ error: 'must be a positive integer id' })
  .int('must be a positive integer id')
  .positive('must be a positive integer id')
  .max(Number.MAX_SAFE_INTEGER, 'must be a positive integer id');

export const IdParam = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' }, example: 42 }) });

const Timestamp = z.string().nullable().openapi({ example: '2026-05-12T14:30:00Z' });

const cidrOrIp = (what: string) =>
  z
    .string()
    .max(64)
    .superRefine((v, ctx) => {
      const r = parsePrefix(v);
      if (!r.ok) ctx.addIssue({ code: 'custom', message: `${what}: ${r.reason}` });
    });

const Community = z
  .string()
  .regex(/^\d{1,5}:\d{1,5}$/, 'communities look like "65001:666"')
  .refine((c) => c.split(':').every((n) => Number(n) <= 65535), 'both halves of a community must be 0-65535');

export const Uuid = z.string().uuid('must be a UUID');

// ---------- FlowSpec ----------

const PORT_MAX = 65535;

/** 80, "1000-2000", or a list of those. */
const RangeSpec = z.union([
  z.number().int().min(0).max(PORT_MAX),
  z.string().regex(/^\d{1,5}(-\d{1,5})?$/, 'ranges look like 53 or "1000-2000"'),
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
        if (r.to > PORT_MAX || r.from > PORT_MAX) ctx.addIssue({ code: 'custom', message: `${what} values must be 0-${PORT_MAX}` });
        else if (r.from > r.to) ctx.addIssue({ code: 'custom', message: `${what} range ${r.from}-${r.to} has its low end last` });
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
    source: cidrOrIp('match.source').optional().openapi({ description: 'source prefix', example: '198.51.100.0/24' }),
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

export const CreateRuleBody = z
  .strictObject({
    target_ip: cidrOrIp('target_ip').openapi({ description: 'IP address or prefix to mitigate', example: '203.0.113.50/32' }),
    intent_type: z.enum(INTENT_TYPES).openapi({ example: 'blackhole' }),
    adapter_id: Id.openapi({ example: 1 }),
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
  .openapi('CreateRule');

export const WithdrawRuleBody = z.strictObject({ reason: z.string().max(500).optional() }).openapi('WithdrawRule');

export const RuleSchema = z
  .object({
    id: z.number().int(),
    target_ip: z.string(),
    intent_type: z.enum(INTENT_TYPES),
    adapter_id: z.number().int(),
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

export const HistoryQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100).openapi({ description: '1-500', example: 100 }),
});

// ---------- adapters ----------

const HostPort = z
  .string()
  .max(300)
  .superRefine((v, ctx) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535 || (m[1] && parseAddress(m[1])?.family !== 6)) {
      ctx.addIssue({ code: 'custom', message: 'endpoint must be host:port (IPv6 as [addr]:port), port 1-65535' });
    }
  });

const HttpUrl = z
  .string()
  .max(2000)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'endpoint must be an http:// or https:// URL');

/** Settings shared by the BGP speakers (ExaBGP, GoBGP, BIRD 2, FRR) and webhooks. */
export const BgpAdapterConfig = z
  .strictObject({
    local_as: z.number().int().min(1).max(4294967295).optional(),
    communities: z.array(Community).max(16).optional().openapi({ description: 'added to every blackhole announcement', example: ['65001:666'] }),
    next_hop: z
      .string()
      .refine((v) => parseAddress(v)?.family === 4 && !v.startsWith('127.'), 'next_hop must be an IPv4 address outside 127.0.0.0/8')
      .optional()
      .openapi({ description: 'IPv4 blackhole next hop (default 192.0.2.1)' }),
    next_hop_v6: z
      .string()
      .refine((v) => parseAddress(v)?.family === 6 && v !== '::1', 'next_hop_v6 must be an IPv6 address other than ::1')
      .optional()
      .openapi({ description: 'IPv6 blackhole next hop (default 2001:db8::1)' }),
    max_prefix_v4: z.number().int().min(16).max(32).optional().openapi({ description: 'broadest IPv4 prefix allowed (default 24)' }),
    max_prefix_v6: z.number().int().min(32).max(128).optional().openapi({ description: 'broadest IPv6 prefix allowed (default 48)' }),
    timeout_ms: z.number().int().min(100).max(60000).optional().openapi({ description: 'per-call timeout (default 5000)' }),
  })
  .openapi('AdapterConfig');

/** Adapter types whose back end speaks BGP or takes our webhook events. */
export const BGP_LIKE_TYPES = ['exabgp', 'gobgp', 'bird2', 'frr', 'webhook'] as const;

const EITHER = z.union([HttpUrl, HostPort], { error: 'endpoint must be an http(s) URL or host:port' });
/** Speakers are reached at host:port (bridge or gRPC); HTTP back ends by URL. */
const ENDPOINT_SCHEMA: Record<(typeof ADAPTER_TYPES)[number], z.ZodType<string>> = {
  exabgp: HostPort,
  gobgp: HostPort,
  bird2: EITHER,
  frr: EITHER,
  webhook: HttpUrl,
  cloudflare: EITHER,
  radware: EITHER,
  f5: EITHER,
};

export const SaveAdapterBody = z
  .strictObject({
    id: Id.optional().openapi({ description: 'update this adapter instead of creating one' }),
    adapter_type: z.enum(ADAPTER_TYPES).openapi({ example: 'exabgp' }),
    name: z.string().trim().min(1).max(100).openapi({ example: 'Core Router BGP' }),
    endpoint: z.string().min(1).max(2000).openapi({ description: 'URL or host:port', example: '10.0.0.1:5000' }),
    auth_token: z
      .string()
      .max(4096)
      .nullable()
      .optional()
      .openapi({ description: 'stored encrypted, never returned; omit to keep the current one, null to clear' }),
    config: z.record(z.string(), z.unknown()).optional(),
    capabilities: z.array(z.enum(INTENT_TYPES)).min(1).max(3).optional(),
  })
  .superRefine((body, ctx) => {
    const endpoint = ENDPOINT_SCHEMA[body.adapter_type].safeParse(body.endpoint);
    if (!endpoint.success) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: endpoint.error.issues[0]!.message });
    if ((BGP_LIKE_TYPES as readonly string[]).includes(body.adapter_type) && body.config !== undefined) {
      const r = BgpAdapterConfig.safeParse(body.config);
      for (const issue of r.error?.issues ?? []) {
        const keys = issue.code === 'unrecognized_keys' ? ` ${(issue as { keys: string[] }).keys.map((k) => `"${k}"`).join(', ')}` : '';
        ctx.addIssue({ code: 'custom', path: ['config', ...issue.path.map(String)], message: issue.message + keys });
      }
    }
    if (body.adapter_type === 'frr' && body.capabilities?.includes('flowspec')) {
      ctx.addIssue({ code: 'custom', path: ['capabilities'], message: 'FRR cannot originate FlowSpec; use exabgp, gobgp or bird2' });
    }
  })
  .openapi('SaveAdapter');

export const AdapterSchema = z
  .object({
    id: z.number().int(),
    adapter_type: z.enum(ADAPTER_TYPES),
    name: z.string(),
    endpoint: z.string(),
    status: z.string().openapi({ example: 'configured' }),
    auth_token_set: z.boolean().openapi({ description: 'whether a token is stored (the token itself is never returned)' }),
    config: z.record(z.string(), z.unknown()),
    capabilities: z.array(z.enum(INTENT_TYPES)),
    active_rules: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Adapter');

// ---------- allowlist ----------

export const CreateAllowlistBody = z
  .strictObject({
    ip_address: cidrOrIp('ip_address')
      .refine((v) => !v.endsWith('/0'), 'ip_address: a /0 would exempt every address from mitigation')
      .openapi({ example: '198.51.100.10' }),
    label: z.string().max(200).optional().openapi({ example: 'Monitoring Server' }),
    scope: z.enum(ALLOWLIST_SCOPES).default('workspace'),
    node: Uuid.optional().openapi({ description: 'node UUID, required when scope is node' }),
  })
  .superRefine((b, ctx) => {
    if (b.scope === 'node' && !b.node) ctx.addIssue({ code: 'custom', path: ['node'], message: 'node is required when scope is "node"' });
    if (b.scope === 'workspace' && b.node) ctx.addIssue({ code: 'custom', path: ['node'], message: 'node is only allowed when scope is "node"' });
  })
  .openapi('CreateAllowlistEntry');

export const AllowlistQuery = z.strictObject({ node: Uuid.optional() });

export const AllowlistEntrySchema = z
  .object({
    id: z.number().int(),
    ip_address: z.string(),
    label: z.string().nullable(),
    scope: z.enum(ALLOWLIST_SCOPES),
    node: z.string().nullable(),
    created_at: Timestamp,
  })
  .openapi('AllowlistEntry');

// ---------- envelopes ----------

export const ErrorEnvelope = z
  .object({
    ok: z.literal(false),
    error: z.object({ code: z.string().openapi({ example: 'invalid_parameter' }), message: z.string() }),
  })
  .openapi('Error');

export const ok = <T extends z.ZodRawShape>(shape: T) => z.object({ ok: z.literal(true), ...shape });

// ---------- escalation ----------

const Rate = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).positive(`${what} must be > 0`).max(1e15);
const TIER_KEYS = ['tier1', 'tier2', 'tier3'] as const;

/** {"tier1_bps": 1000000, "tier1_pps": 50000, "tier2_bps": ...}: each tier triggers on either figure. */
export const TierThresholdsSchema = z
  .strictObject(Object.fromEntries(TIER_KEYS.flatMap((t) => [[`${t}_bps`, Rate(`${t}_bps`).optional()], [`${t}_pps`, Rate(`${t}_pps`).optional()]])) as Record<
    `${(typeof TIER_KEYS)[number]}_${'bps' | 'pps'}`,
    z.ZodOptional<z.ZodNumber>
  >)
  .superRefine((t, ctx) => {
    // A higher tier must need a bigger attack than a lower one, per figure.
    for (const unit of ['bps', 'pps'] as const) {
      let prev: { key: string; v: number } | null = null;
      for (const tier of TIER_KEYS) {
        const key = `${tier}_${unit}` as const;
        const v = t[key];
        if (v === undefined) continue;
        if (prev && v <= prev.v) ctx.addIssue({ code: 'custom', path: [key], message: `must be greater than ${prev.key} (${prev.v})` });
        prev = { key, v };
      }
    }
  })
  .openapi('TierThresholds', { example: { tier1_bps: 1_000_000_000, tier1_pps: 500_000, tier2_bps: 5_000_000_000 } });

const TtlSeconds = z.number().int('ttl must be whole seconds').min(60, 'ttl must be at least 60 s').max(7 * 86400, 'ttl must be at most 7 days');

export const GeoLockdownSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    countries: z
      .array(z.string().regex(/^[A-Z]{2}$/, 'countries are ISO 3166-1 alpha-2 codes such as "CN"'))
      .max(250)
      .default([]),
    action: z.enum(['flowspec', 'firewall']).default('flowspec'),
    suite: z.enum(FIREWALL_SUITES).default('nftables').openapi({ description: "the agent's firewall, for action firewall" }),
  })
  .refine((g) => !g.enabled || g.countries.length > 0, { message: 'an enabled geo lockdown needs at least one country', path: ['countries'] });

export const SaveEscalationBody = z
  .strictObject({
    thresholds: TierThresholdsSchema.optional(),
    ttl: z
      .union([TtlSeconds, z.strictObject({ tier1: TtlSeconds.optional(), tier2: TtlSeconds.optional(), tier3: TtlSeconds.optional() })])
      .optional()
      .openapi({ description: 'seconds, for every tier or per tier ({"tier1": 600})' }),
    actions: z
      .strictObject({ tier1: z.enum(TIER_ACTIONS).optional(), tier2: z.enum(TIER_ACTIONS).optional(), tier3: z.enum(TIER_ACTIONS).optional() })
      .optional()
      .openapi({ description: 'what each tier does; default tier1 flowspec, tier2 blackhole, tier3 scrubbing' }),
    adapter_id: Id.nullable().optional().openapi({ description: 'the adapter tiers announce through' }),
    baseline_mode: z.enum(BASELINE_MODES).optional(),
    geo_lockdown: GeoLockdownSchema.optional(),
    dry_run: z.boolean().optional(),
    hold_down_seconds: z.number().int().min(0).max(86400).optional().openapi({ description: 'time below a tier before stepping down' }),
  })
  .openapi('SaveEscalationPolicy');

export const EscalationPolicySchema = z
  .object({
    thresholds: z.record(z.string(), z.number()),
    ttl: z.record(z.string(), z.number()),
    actions: z.record(z.string(), z.enum(TIER_ACTIONS)),
    adapter_id: z.number().int().nullable(),
    baseline_mode: z.enum(BASELINE_MODES),
    geo_lockdown: z.object({ enabled: z.boolean(), countries: z.array(z.string()), action: z.enum(['flowspec', 'firewall']), suite: z.enum(FIREWALL_SUITES) }),
    dry_run: z.boolean(),
    hold_down_seconds: z.number().int(),
    updated_at: Timestamp,
  })
  .openapi('EscalationPolicy');

export const SaveThresholdBody = z
  .strictObject({
    target_ip: cidrOrIp('target_ip').openapi({ example: '203.0.113.10' }),
    label: z.string().max(200).nullable().optional(),
    thresholds: TierThresholdsSchema.refine((t) => Object.keys(t).length > 0, 'give at least one tierN_bps or tierN_pps'),
  })
  .openapi('SaveThreshold');

export const ThresholdSchema = z
  .object({
    id: z.number().int(),
    target_ip: z.string(),
    label: z.string().nullable(),
    thresholds: z.record(z.string(), z.number()),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('HostThreshold');

// ---------- nodes ----------

const NodeName = z.string().trim().min(1, 'name must not be empty').max(100);
const Address = z
  .string()
  .max(64)
  .refine((v) => parseAddress(v) !== null, 'must be an IPv4 or IPv6 address')
  .openapi({ example: '203.0.113.10' });
const IfName = z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'an interface name is 1-15 letters, digits or _.:@-');

export const CreateNodeBody = z
  .strictObject({
    name: NodeName.openapi({ example: 'game-fra-01' }),
    ip: Address,
    location: z.string().max(100).nullable().optional().openapi({ example: 'Frankfurt' }),
    os: z.string().max(100).nullable().optional().openapi({ example: 'Debian 12' }),
    interface: IfName.nullable().optional().openapi({ description: 'interface the agent watches; default: the busiest physical one', example: 'eth0' }),
  })
  .openapi('CreateNode');

export const UpdateNodeBody = z
  .strictObject({
    name: NodeName.optional(),
    ip: Address.optional(),
    location: z.string().max(100).nullable().optional(),
    os: z.string().max(100).nullable().optional(),
    interface: IfName.nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change')
  .openapi('UpdateNode');

export const NODE_STATUSES = ['online', 'offline', 'attack', 'elevated'] as const;

export const NodeListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1, 'limit must be 1-500').max(500, 'limit must be 1-500').default(100),
  offset: z.coerce.number().int().min(0, 'offset must be >= 0').default(0),
  status: z.enum(NODE_STATUSES).optional(),
});

export const NodeUuidParam = z.object({ uuid: Uuid.openapi({ param: { name: 'uuid', in: 'path' }, example: 'a1b2c3d4-0000-4000-8000-000000000000' }) });

export const NodeSchema = z
  .object({
    uuid: z.string(),
    name: z.string(),
    ip: z.string(),
    location: z.string().nullable(),
    os: z.string().nullable(),
    interface: z.string().nullable(),
    status: z.enum(NODE_STATUSES),
    last_seen_at: Timestamp,
    last_pps: z.number().nullable(),
    last_bps: z.number().nullable(),
    protocol_mix: z.record(z.string(), z.number()).nullable(),
    baseline: z.record(z.string(), z.unknown()).nullable(),
    agent_version: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Node');

// ---------- agent protocol ----------

const Share = z.number().min(0).max(1);
export const ProtocolMixSchema = z.strictObject({ tcp: Share, udp: Share, icmp: Share, other: Share }).partial();
const Pps = z.number().int().min(0).max(1e12);
const Bps = z.number().int().min(0).max(1e15);

export const HeartbeatBody = z
  .strictObject({
    agent_version: z.string().max(50).optional(),
    interface: IfName.optional(),
    traffic_state: z.enum(NODE_TRAFFIC_STATES).default('normal'),
    pps: Pps.optional(),
    bps: Bps.optional(),
    protocol_mix: ProtocolMixSchema.optional(),
    baseline: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('AgentHeartbeat');

export const MetricsBody = z
  .strictObject({
    samples: z
      .array(
        z.strictObject({
          at: z.iso.datetime({ offset: true, error: 'at must be an ISO 8601 timestamp' }),
          pps: Pps,
          bps: Bps,
          protocol_mix: ProtocolMixSchema.optional(),
        }),
      )
      .min(1)
      .max(600, 'send at most 600 samples per batch'),
  })
  .openapi('AgentMetrics');

const IncidentRef = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'ref is 1-100 letters, digits or _.:-');

const ClassificationSchema = z
  .strictObject({
    family: z.enum(ATTACK_FAMILIES),
    subtype: z.string().max(100).nullable().optional(),
    confidence: Share.optional(),
    packets: z.number().int().min(0).optional(),
    bytes: z.number().int().min(0).optional(),
    top_sources: z.array(z.strictObject({ value: z.string().max(64), packets: z.number().int().min(0) })).max(50).optional(),
    top_destination_ports: z.array(z.strictObject({ value: z.number().int().min(0).max(65535), packets: z.number().int().min(0) })).max(50).optional(),
    size_histogram: z.record(z.string().max(20), z.number().int().min(0)).optional(),
    protocol_mix: ProtocolMixSchema.optional(),
  })
  .openapi('AttackClassification');

export const OpenIncidentBody = z
  .strictObject({
    ref: IncidentRef.openapi({ description: 'the agent’s id for this attack; opening again with it finds the same incident' }),
    target_ip: Address.optional().openapi({ description: 'the attacked address; default: the node’s ip' }),
    started_at: z.iso.datetime({ offset: true }),
    pps: Pps,
    bps: Bps,
    classification: ClassificationSchema.optional(),
  })
  .openapi('AgentOpenIncident');

export const UpdateIncidentBody = z
  .strictObject({ pps: Pps, bps: Bps, classification: ClassificationSchema.optional() })
  .openapi('AgentUpdateIncident');

export const ResolveIncidentBody = z.strictObject({ ended_at: z.iso.datetime({ offset: true }).optional() }).openapi('AgentResolveIncident');

export const IncidentRefParam = z.object({ ref: IncidentRef.openapi({ param: { name: 'ref', in: 'path' } }) });

// ---------- incidents ----------

export const IncidentListQuery = z.strictObject({
  node: Uuid.optional(),
  status: z.enum(INCIDENT_STATUSES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  family: z.enum(ATTACK_FAMILIES).optional(),
  since: z.iso.datetime({ offset: true, error: 'since must be an ISO 8601 timestamp' }).optional(),
  limit: z.coerce.number().int().min(1, 'limit must be 1-500').max(500, 'limit must be 1-500').default(100),
  offset: z.coerce.number().int().min(0, 'offset must be >= 0').default(0),
});

export const IncidentSchema = z
  .object({
    id: z.number().int(),
    node: z.string(),
    target_ip: z.string(),
    status: z.enum(INCIDENT_STATUSES),
    severity: z.enum(SEVERITIES),
    family: z.enum(ATTACK_FAMILIES),
    subtype: z.string().nullable(),
    confidence: z.number().nullable(),
    tier: z.number().int(),
    current_pps: z.number(),
    current_bps: z.number(),
    peak_pps: z.number(),
    peak_bps: z.number(),
    classification: z.record(z.string(), z.unknown()).nullable(),
    workflow_id: z.string(),
    started_at: z.string(),
    resolved_at: Timestamp,
  })
  .openapi('Incident');

export const IncidentEventSchema = z
  .object({ at: z.string(), kind: z.string(), message: z.string(), detail: z.record(z.string(), z.unknown()).nullable() })
  .openapi('IncidentEvent');

// ---------- node commands ----------

const Suite = z.enum(FIREWALL_SUITES).default('nftables');
const PortRange = z.strictObject({ from: z.number().int().min(0).max(65535), to: z.number().int().min(0).max(65535) });
const RuleSetSchema = z
  .strictObject({
    name: z.string(),
    rules: z
      .array(
        z.strictObject({
          action: z.enum(['drop', 'accept', 'rate_limit']),
          protocol: z.enum(['tcp', 'udp', 'icmp']).optional(),
          source: z.string().max(64).optional(),
          sources: z.array(z.string().max(64)).max(MAX_SOURCES).optional(),
          sourcePorts: z.array(PortRange).max(16).optional(),
          destinationPorts: z.array(PortRange).max(16).optional(),
          ratePps: z.number().int().optional(),
        }),
      )
      .max(500),
  })
  .superRefine((set, ctx) => {
    const v = validateRuleSet(set);
    if (!v.ok) ctx.addIssue({ code: 'custom', message: v.reason });
  });

export const NodeCommandBody = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('apply_ruleset'), suite: Suite, ruleset: RuleSetSchema }),
    z.strictObject({ type: z.literal('remove_ruleset'), suite: Suite, name: z.string().regex(/^[a-z0-9_]{1,24}$/, 'name is 1-24 lower-case letters, digits or _') }),
    z.strictObject({ type: z.literal('block_source'), suite: Suite, source: cidrOrIp('source') }),
    z.strictObject({ type: z.literal('unblock_source'), suite: Suite, source: cidrOrIp('source') }),
    z.strictObject({
      type: z.literal('capture'),
      seconds: z.number().int().min(1).max(60),
      max_packets: z.number().int().min(1).max(1_000_000),
      incident_id: Id.optional().openapi({ description: "upload the capture to this incident of the node's (GET /pcaps)" }),
    }),
    z.strictObject({ type: z.literal('stop_capture') }),
  ])
  .openapi('NodeCommand');

export const NodeCommandOutcome = z
  .object({
    workflow_id: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    result: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
  })
  .openapi('NodeCommandOutcome');

export const CommandPollQuery = z.strictObject({
  wait: z.coerce.number().int().min(0, 'wait must be 0-30 seconds').max(30, 'wait must be 0-30 seconds').default(0),
  running: z
    .string()
    .regex(/^(\d+(,\d+){0,99})?$/, 'running is a comma-separated list of at most 100 command ids')
    .optional()
    .openapi({ description: 'ids of the commands the agent is running (received, result not yet posted); delivered commands not listed are delivered again' }),
});

export const CommandResultBody = z
  .discriminatedUnion('ok', [
    z.strictObject({ ok: z.literal(true), detail: z.record(z.string(), z.unknown()).optional() }),
    z.strictObject({ ok: z.literal(false), error: z.string().min(1).max(2000) }),
  ])
  .openapi('AgentCommandResult');
