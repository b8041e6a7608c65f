// The agent protocol: every message between a node's agent and the control plane
// (/api/v1/agent/*), as zod schemas with the types inferred from them. The API validates
// with these and generates its OpenAPI document from them (`.meta({ id })` names the
// component); the agent (agent/api-client.ts) sends and reads the same types. Pure: plain
// zod, no I/O, so both sides may import it. The agent imports types only (a value would
// bundle zod into it, ~7 MiB of its memory): it encodes with agent/wire-classification.ts.
import { z } from 'zod';
import { ATTACK_FAMILIES, EVIDENCE_KINDS, LEGACY_FAMILIES, VERDICTS, type AttackSignature, type Evidence, type Verdict } from './attack.js';
import { PROFILE_IDS } from './attack-profiles.js';
import { CT_STATES, FIREWALL_ACTIONS, FIREWALL_SUITES, ICMP_TYPES, MAX_SOURCES, TCP_FLAGS, validateRuleSet, type FirewallRuleSet } from './firewall.js';
import { Address, CidrOrIp, IfName, queryInt } from './wire.js';

// ---------- pieces ----------

const Share = z.number().min(0).max(1);
export const ProtocolMixSchema = z
  .strictObject({ tcp: Share, udp: Share, icmp: Share, other: Share })
  .partial()
  // Shares of one whole (a little slack for rounding).
  .refine((m) => Object.values(m).reduce((a, b) => a + (b ?? 0), 0) <= 1.001, 'must have shares that add up to at most 1');

/** How far from the server's clock a reported time may be: a clock years off, or a hostile agent, must not write year 1 or 9999. */
export const REPORT_WINDOW = { pastDays: 7, futureMinutes: 10 } as const;

/** A time the agent reports: ISO 8601, within REPORT_WINDOW of now. */
export const ReportedTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp' }).refine((v) => {
  const t = Date.parse(v);
  const now = Date.now();
  return t >= now - REPORT_WINDOW.pastDays * 86_400_000 && t <= now + REPORT_WINDOW.futureMinutes * 60_000;
}, `must be within the last ${REPORT_WINDOW.pastDays} days and at most ${REPORT_WINDOW.futureMinutes} minutes ahead of the server's clock`);

const Percentiles = z.strictObject({ p50: z.number().min(0), p95: z.number().min(0), p99: z.number().min(0) });

/** The agent's baseline for the current hour (agent/baseline.ts summary(), with the mode it runs in). */
export const BaselineSummarySchema = z
  .strictObject({
    mode: z.enum(['static', 'dynamic']),
    hour: z.number().int().min(0).max(23),
    samples: z.number().int().min(0),
    ready: z.boolean(),
    pps: Percentiles,
    bps: Percentiles,
    threshold: z.strictObject({ pps: z.number().min(0), bps: z.number().min(0) }).nullable(),
  })
  .meta({ id: 'AgentBaseline' });
export type BaselineSummary = z.infer<typeof BaselineSummarySchema>;
const Pps = z.number().int().min(0).max(1e12);
const Bps = z.number().int().min(0).max(1e15);

/** The agent's own id for an attack. */
export const IncidentRef = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1-100 letters, digits or _.:-');

/** What the agent says of its traffic; "offline" is the control plane's to derive. */
export const NODE_TRAFFIC_STATES = ['normal', 'elevated', 'attack'] as const;
export type NodeTrafficState = (typeof NODE_TRAFFIC_STATES)[number];

// ---------- heartbeat, config, metrics ----------

export const HeartbeatBody = z
  .strictObject({
    agent_version: z.string().max(50).optional(),
    interface: IfName.optional(),
    traffic_state: z.enum(NODE_TRAFFIC_STATES).default('normal'),
    pps: Pps.optional(),
    bps: Bps.optional(),
    protocol_mix: ProtocolMixSchema.optional(),
    baseline: BaselineSummarySchema.optional(),
  })
  .meta({ id: 'AgentHeartbeat' });
export type Heartbeat = z.input<typeof HeartbeatBody>;

export const AgentConfigSchema = z
  .object({
    node: z.object({ uuid: z.string(), name: z.string(), ip: z.string(), interface: z.string().nullable() }),
    baseline_mode: z.enum(['static', 'dynamic']),
    /** Detection starts at the lowest tier; null figures never trigger. */
    detection: z.object({ pps: z.number().nullable(), bps: z.number().nullable() }),
    tiers: z.array(z.object({ level: z.number().int(), pps: z.number().nullable(), bps: z.number().nullable() })),
    capture: z.object({ max_packets: z.number(), max_seconds: z.number(), max_bytes: z.number(), snaplen: z.number() }),
    allowlist: z.array(z.string()),
  })
  .meta({ id: 'AgentConfig' });
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

const MetricSampleSchema = z.strictObject({
  at: ReportedTime,
  pps: Pps,
  bps: Bps,
  protocol_mix: ProtocolMixSchema.optional(),
});
export type MetricSample = z.input<typeof MetricSampleSchema>;

/** At most this many samples per batch. */
export const MAX_METRIC_SAMPLES = 600;

export const MetricsBody = z
  .strictObject({ samples: z.array(MetricSampleSchema).min(1).max(MAX_METRIC_SAMPLES, `must hold at most ${MAX_METRIC_SAMPLES} samples per batch`) })
  .meta({ id: 'AgentMetrics' });

// ---------- incidents ----------

const Range = (max: number) =>
  z
    .strictObject({ from: z.number().int().min(0).max(max), to: z.number().int().min(0).max(max) })
    .refine((r) => r.from <= r.to, 'must have from <= to');

/** What the attack's packets share, as the agent measured it: the match a FlowSpec tier may use (the control plane still applies every safety rail). */
export const SignatureSchema = z
  .strictObject({
    match: z.strictObject({
      protocols: z.array(z.number().int().min(0).max(255)).min(1).max(8).optional(),
      source_ports: z.array(Range(65535)).min(1).max(8).optional(),
      destination_ports: z.array(Range(65535)).min(1).max(8).optional(),
      packet_lengths: z.array(Range(65535)).min(1).max(8).optional(),
      tcp_flags: z.array(z.enum(['fin', 'syn', 'rst', 'psh', 'ack', 'urg'])).min(1).max(6).optional(),
      fragments: z.array(z.enum(['not-a-fragment', 'dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment'])).min(1).max(5).optional(),
    }),
    coverage: Share,
    collateral: Share,
    legitimate_share: Share.optional().meta({ description: 'share of the bytes the match covers that are not the attack’s (sizes a rate limit)' }),
    why: z.string().max(300),
  })
  .meta({ id: 'AttackSignature' });

/** Agents older than the reference's vocabulary send ack_flood, rst_flood, amplification: read as today's names. */
const fromLegacyFamily = (v: unknown) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const c = v as Record<string, unknown>;
  const legacy = typeof c.family === 'string' && Object.hasOwn(LEGACY_FAMILIES, c.family) ? LEGACY_FAMILIES[c.family] : undefined;
  return legacy ? { ...c, family: legacy.family, subtype: legacy.subtype(typeof c.subtype === 'string' ? c.subtype : null) } : c;
};

const ClassificationObject = z
  .strictObject({
    family: z.enum(ATTACK_FAMILIES),
    subtype: z.string().max(100).nullable().optional(),
    confidence: Share.optional(),
    verdict: z.enum(VERDICTS).optional().meta({ description: 'attack, benign (service traffic, however much) or inconclusive; absent: attack unless the family is unknown' }),
    evidence: z.enum(EVIDENCE_KINDS).optional().meta({ description: 'capture (classified packets) or counters (a guess from the protocol mix, which never drives a dropping rule); absent: capture when packets > 0' }),
    reasons: z.array(z.string().max(300)).max(12).optional(),
    signature: SignatureSchema.nullable().optional(),
    packets: z.number().int().min(0).optional(),
    bytes: z.number().int().min(0).optional(),
    top_sources: z.array(z.strictObject({ value: z.string().max(64), packets: z.number().int().min(0) })).max(50).optional(),
    top_destination_ports: z.array(z.strictObject({ value: z.number().int().min(0).max(65535), packets: z.number().int().min(0) })).max(50).optional(),
    size_histogram: z.record(z.string().max(20), z.number().int().min(0)).optional(),
    protocol_mix: ProtocolMixSchema.optional(),
  })
  .meta({ id: 'AttackClassification' });
export const ClassificationSchema = z.preprocess(fromLegacyFamily, ClassificationObject);
export type WireClassification = z.input<typeof ClassificationObject>;
/** A classification as the control plane received (and stores) it. */
export type ReportedClassification = z.infer<typeof ClassificationObject>;

/** The verdict and the kind of evidence a reported classification carries (older agents send neither). */
export function evidenceOf(c: ReportedClassification): { verdict: Verdict; evidence: Evidence } {
  return {
    verdict: c.verdict ?? (c.family === 'unknown' ? 'inconclusive' : 'attack'),
    evidence: c.evidence ?? ((c.packets ?? 0) > 0 ? 'capture' : 'counters'),
  };
}

/** The signature as the domain holds it (camelCase match). */
export function signatureFromWire(s: z.infer<typeof SignatureSchema>): AttackSignature {
  const m = s.match;
  return {
    match: {
      ...(m.protocols ? { protocols: m.protocols } : {}),
      ...(m.source_ports ? { sourcePorts: m.source_ports } : {}),
      ...(m.destination_ports ? { destinationPorts: m.destination_ports } : {}),
      ...(m.packet_lengths ? { packetLengths: m.packet_lengths } : {}),
      ...(m.tcp_flags ? { tcpFlags: m.tcp_flags } : {}),
      ...(m.fragments ? { fragments: m.fragments } : {}),
    },
    coverage: s.coverage,
    collateral: s.collateral,
    ...(s.legitimate_share !== undefined ? { legitimateShare: s.legitimate_share } : {}),
    why: s.why,
  };
}

export const OpenIncidentBody = z
  .strictObject({
    ref: IncidentRef.meta({ description: 'the agent’s id for this attack; opening again with it finds the same incident' }),
    target_ip: Address.optional().meta({ description: 'the attacked address: the node’s ip (the default) or one within the prefixes assigned to the node' }),
    started_at: ReportedTime,
    pps: Pps,
    bps: Bps,
    classification: ClassificationSchema.optional(),
  })
  .meta({ id: 'AgentOpenIncident' });
export type OpenIncident = z.input<typeof OpenIncidentBody>;

export const UpdateIncidentBody = z
  .strictObject({ pps: Pps, bps: Bps, classification: ClassificationSchema.optional() })
  .meta({ id: 'AgentUpdateIncident' });
export type UpdateIncident = z.input<typeof UpdateIncidentBody>;

export const ResolveIncidentBody = z
  .strictObject({ ended_at: ReportedTime.optional().meta({ description: 'default: now; not before the incident’s started_at' }) })
  .meta({ id: 'AgentResolveIncident' });
export type ResolveIncident = z.input<typeof ResolveIncidentBody>;

// ---------- captures ----------

export const StartPcapUploadBody = z
  .strictObject({
    size_bytes: z.number().int().min(24, 'must be at least a pcap header (24 bytes)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters'),
    captured_at: ReportedTime,
  })
  .meta({ id: 'StartPcapUpload' });
export type StartPcapUpload = z.input<typeof StartPcapUploadBody>;

export const PcapChunkQuery = z.strictObject({
  offset: queryInt(0, Number.MAX_SAFE_INTEGER, ' bytes'),
});

export const PcapUploadSchema = z
  .object({
    id: z.number().int(),
    size_bytes: z.number().int(),
    received_bytes: z.number().int(),
    status: z.enum(['uploading', 'complete']),
  })
  .meta({ id: 'AgentPcapUpload' });
export type PcapUpload = z.infer<typeof PcapUploadSchema>;

// ---------- commands ----------

export const Suite = z.enum(FIREWALL_SUITES).default('nftables');
const PortRange = z.strictObject({ from: z.number().int().min(0).max(65535), to: z.number().int().min(0).max(65535) });

/** One firewall rule (domain/firewall.ts); validateRuleSet checks the meaning. */
export const FirewallRuleSchema = z.strictObject({
    action: z.enum(FIREWALL_ACTIONS),
    title: z.string().max(160).optional(),
    reason: z.string().max(160).optional(),
    protocol: z.enum(['tcp', 'udp', 'icmp']).optional(),
    source: z.string().max(64).optional(),
    sources: z.array(z.string().max(64)).max(MAX_SOURCES).optional(),
    destination: z.string().max(64).optional(),
    sourcePorts: z.array(PortRange).max(16).optional(),
    destinationPorts: z.array(PortRange).max(16).optional(),
    state: z.array(z.enum(CT_STATES)).max(CT_STATES.length).optional(),
    tcpFlags: z.strictObject({ mask: z.array(z.enum(TCP_FLAGS)).max(TCP_FLAGS.length), set: z.array(z.enum(TCP_FLAGS)).max(TCP_FLAGS.length) }).optional(),
    fragment: z.literal(true).optional(),
    length: PortRange.optional(),
    icmpTypes: z.array(z.enum(ICMP_TYPES)).max(ICMP_TYPES.length).optional(),
    ratePps: z.number().int().optional(),
    burst: z.number().int().optional(),
    perSource: z.boolean().optional(),
  });

/** A firewall rule set (domain/firewall.ts), checked by validateRuleSet. */
export const RuleSetSchema = z
  .strictObject({
    name: z.string(),
    rules: z
      .array(FirewallRuleSchema)
      .max(500),
  })
  .superRefine((set, ctx) => {
    const v = validateRuleSet(set);
    if (!v.ok) ctx.addIssue({ code: 'custom', message: v.reason });
  })
  .meta({ id: 'FirewallRuleSet' }) satisfies z.ZodType<FirewallRuleSet>;

export const RuleSetName = z.string().regex(/^[a-z0-9_]{1,24}$/, 'must be 1-24 lower-case letters, digits or _');

/** The commands that change the node's firewall (run one at a time, in order). */
export const FIREWALL_COMMANDS = [
  z.strictObject({ type: z.literal('apply_ruleset'), suite: Suite, ruleset: RuleSetSchema }),
  z.strictObject({ type: z.literal('remove_ruleset'), suite: Suite, name: RuleSetName }),
  z.strictObject({ type: z.literal('block_source'), suite: Suite, source: CidrOrIp }),
  z.strictObject({ type: z.literal('unblock_source'), suite: Suite, source: CidrOrIp }),
] as const;
/** Ends the captures that capture commands are running (each still reports what it caught). */
export const stopCaptureCommand = z.strictObject({ type: z.literal('stop_capture') });
/** A bounded capture; with `incident_ref` (one of the node's incidents) it is uploaded to it. */
export const captureCommand = z.strictObject({
  type: z.literal('capture'),
  seconds: z.number().int().min(1).max(60),
  max_packets: z.number().int().min(1).max(1_000_000),
  incident_ref: IncidentRef.optional(),
});

/** A command as the agent receives and runs it. */
export const DeliveredCommandSchema = z
  .discriminatedUnion('type', [...FIREWALL_COMMANDS, captureCommand, stopCaptureCommand])
  .meta({ id: 'AgentDeliveredCommand' });
export type DeliveredCommand = z.infer<typeof DeliveredCommandSchema>;

/** Custom rules a profile takes on top of its own. */
export const MAX_CUSTOM_RULES = 50;

/**
 * A command as the control plane issues and stores it: the delivered ones, plus attack
 * profiles and geo lockdown, which the API expands on delivery into an apply_ruleset of the countries'
 * prefixes (they change with the allowlist, so they are computed as late as possible).
 */
export const NodeCommandSchema = z.discriminatedUnion('type', [
  ...DeliveredCommandSchema.options,
  z.strictObject({ type: z.literal('geo_lockdown'), suite: Suite, countries: z.array(z.string().regex(/^[A-Z]{2}$/)).min(1).max(250) }),
  // An attack profile, expanded on delivery into the profile's rule set with the node's allowlist as it is then.
  z.strictObject({ type: z.literal('apply_profile'), suite: Suite, profile_id: z.enum(PROFILE_IDS), custom: z.array(FirewallRuleSchema).max(MAX_CUSTOM_RULES) }),
]);
export type NodeCommand = z.infer<typeof NodeCommandSchema>;

export const CommandPollQuery = z.strictObject({
  wait: queryInt(0, 30, ' seconds').default(0),
  running: z
    .string()
    .regex(/^(\d+(,\d+){0,99})?$/, 'must be a comma-separated list of at most 100 command ids')
    .optional()
    .meta({ description: 'ids of the commands the agent is running (received, result not yet posted); delivered commands not listed are delivered again' }),
});

export const PolledCommandSchema = z.object({ id: z.number().int(), command: DeliveredCommandSchema }).meta({ id: 'AgentCommand' });
export type PolledCommand = z.infer<typeof PolledCommandSchema>;

/** A command result's detail is a summary (counts, a capture's figures), not a data dump. */
export const MAX_RESULT_DETAIL_BYTES = 16 * 1024;

export const CommandResultBody = z
  .discriminatedUnion('ok', [
    z.strictObject({
      ok: z.literal(true),
      detail: z
        .record(z.string(), z.unknown())
        .refine((d) => JSON.stringify(d).length <= MAX_RESULT_DETAIL_BYTES, `must be at most ${MAX_RESULT_DETAIL_BYTES} bytes as JSON`)
        .optional(),
    }),
    z.strictObject({ ok: z.literal(false), error: z.string().min(1).max(2000) }),
  ])
  .meta({ id: 'AgentCommandResult' });
/** What the agent reports of a command. */
export type NodeCommandResult = z.infer<typeof CommandResultBody>;
