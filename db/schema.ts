// The whole relational schema. `npm run db:generate` turns changes here into a new
// SQL migration under migrations/ (commit it).
import { sql } from 'drizzle-orm';
import { type AnyPgColumn, bigint, bigserial, boolean, check, customType, doublePrecision, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { AdapterConfig, AdapterType, IntentType } from '../domain/adapter-types.js';
import type { NodeTrafficState } from '../domain/agent-protocol.js';
import type { AttackFamily, Evidence, Verdict } from '../domain/attack.js';
import type { EscalationPolicy, HostThreshold, Severity } from '../domain/escalation.js';
import type { RuleIntent } from '../domain/intent.js';
import type { NodeCommand, NodeCommandResult } from '../domain/node-command.js';
import type { ProfileId } from '../domain/attack-profiles.js';
import type { RolloutNodeState } from '../domain/profile-rollout.js';
import type { FirewallRule, FirewallSuite } from '../domain/firewall.js';
import type { ScrubbingStatus, ScrubbingType } from '../domain/scrubbing.js';
import type { ChannelEvent, ChannelType } from '../domain/channels.js';
import type { RunbookContext } from '../domain/runbook-context.js';
import type { RunbookStep, TriggerConditions } from '../domain/runbook-schemas.js';

/** Binary column: postgres.js hands back a Buffer, PGlite a Uint8Array; both become Buffer. */
const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (v) => Buffer.from(v),
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const ts = (name: string) => timestamp(name, { withTimezone: true });

export const SUBSCRIPTION_STATUSES = ['active', 'inactive'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const workspaces = pgTable('workspaces', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  subscriptionStatus: text('subscription_status').$type<SubscriptionStatus>().notNull().default('active'),
  /** Null: the platform default (1,000/min). */
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  createdAt: createdAt(),
});

export const deployTokens = pgTable(
  'deploy_tokens',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    /** First 8 hex characters, so an operator can name a token to revoke. */
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    revokedAt: ts('revoked_at'),
  },
  (t) => [index('deploy_tokens_prefix_idx').on(t.prefix)],
);

/** Fixed one-minute windows, shared by every API instance. UNLOGGED (migrations/0000): no fsync per request. */
export const rateLimitWindows = pgTable(
  'rate_limit_windows',
  {
    tokenId: integer('token_id').notNull().references(() => deployTokens.id, { onDelete: 'cascade' }),
    windowStart: ts('window_start').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tokenId, t.windowStart] })],
);

/** The same windows per node key, for the agent endpoints. UNLOGGED (migrations/0004). */
export const nodeRateLimitWindows = pgTable(
  'node_rate_limit_windows',
  {
    nodeId: integer('node_id').notNull().references((): AnyPgColumn => nodes.id, { onDelete: 'cascade' }),
    windowStart: ts('window_start').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.windowStart] })],
);

/**
 * The operator console's sign-ins: a deploy token exchanged for a session (the cookie
 * holds a random id, stored here hashed). Revoking the token ends its sessions.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    tokenId: integer('token_id').notNull().references(() => deployTokens.id, { onDelete: 'cascade' }),
    /** What every form and console request must carry back (CSRF). */
    csrf: text('csrf').notNull(),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);

export const mitigationAdapters = pgTable(
  'mitigation_adapters',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    adapterType: text('adapter_type').$type<AdapterType>().notNull(),
    name: text('name').notNull(),
    endpoint: text('endpoint').notNull(),
    /** AES-256-GCM ciphertext (db/secrets.ts); never returned by the API. */
    authTokenEnc: text('auth_token_enc'),
    config: jsonb('config').$type<AdapterConfig>().notNull().default({}),
    capabilities: jsonb('capabilities').$type<IntentType[]>().notNull().default(['blackhole']),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** Soft delete: rule history keeps pointing at the adapter it used. */
    deletedAt: ts('deleted_at'),
    /** The reconciler's last look at the speaker (activities/reconcile.ts), and what went wrong then. */
    reconciledAt: ts('reconciled_at'),
    reconcileError: text('reconcile_error'),
    /** The back end refused the adapter's credentials: no more looks (an appliance locks an account after repeated failed logins) until the adapter is saved. */
    reconcilePausedAt: ts('reconcile_paused_at'),
  },
  (t) => [index('mitigation_adapters_ws_idx').on(t.workspaceId)],
);

export const RULE_STATUSES = ['pending', 'active', 'withdrawing', 'withdrawn', 'expired', 'failed'] as const;
export type RuleStatus = (typeof RULE_STATUSES)[number];
/** Statuses while the adapter may hold the route (the live-route index below lists them too). */
export const LIVE_RULE_STATUSES = ['pending', 'active', 'withdrawing'] as const satisfies readonly RuleStatus[];
/** Statuses after which the route is gone for certain. */
export const FINAL_RULE_STATUSES: readonly RuleStatus[] = ['withdrawn', 'expired', 'failed'];

export const mitigationRules = pgTable(
  'mitigation_rules',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    /** The adapter a blackhole or FlowSpec rule announces through; null for a scrubbing rule. */
    adapterId: integer('adapter_id').references(() => mitigationAdapters.id),
    /** The integration a scrubbing rule diverts through; null for the others. */
    scrubbingId: integer('scrubbing_id').references((): AnyPgColumn => scrubbingIntegrations.id),
    targetIp: text('target_ip').notNull(),
    intentType: text('intent_type').$type<IntentType>().notNull(),
    /** Exactly what the adapter is asked to announce (and later withdraw), or the diversion. */
    intent: jsonb('intent').$type<RuleIntent>().notNull(),
    /** domain/intent.ts routeKey(): what the speaker keys the route by. */
    routeKey: text('route_key').notNull(),
    ttl: integer('ttl').notNull(),
    reason: text('reason'),
    /** The incident whose escalation requested the rule; null for rules made by hand. */
    incidentId: bigint('incident_id', { mode: 'number' }).references((): AnyPgColumn => incidents.id, { onDelete: 'set null' }),
    status: text('status').$type<RuleStatus>().notNull().default('pending'),
    /** Why the rule ended, or the adapter's last error for a failed rule. */
    statusReason: text('status_reason'),
    createdAt: createdAt(),
    announcedAt: ts('announced_at'),
    expiresAt: ts('expires_at'),
    endedAt: ts('ended_at'),
    /** The workflow holding the rule: a bulk request's rule batch (`rules:<uuid>`); null: its own `rule:<id>`. */
    workflowId: text('workflow_id'),
  },
  (t) => [
    index('mitigation_rules_ws_status_idx').on(t.workspaceId, t.status),
    index('mitigation_rules_adapter_idx').on(t.adapterId),
    // The history (GET /mitigation/rules/history): newest ended first, a page at a time, among 100,000s.
    index('mitigation_rules_ended_idx')
      .on(t.workspaceId, t.endedAt.desc().nullsLast(), t.id.desc())
      .where(sql`${t.status} in ('withdrawn', 'expired', 'failed')`),
    // Two live rules with one route key would share one route: withdrawing either would
    // pull it from under the other.
    uniqueIndex('mitigation_rules_live_route_idx')
      .on(t.adapterId, t.routeKey)
      .where(sql`${t.status} in ('pending', 'active', 'withdrawing')`),
    // One diversion per integration: one live rule holds it.
    uniqueIndex('mitigation_rules_live_diversion_idx')
      .on(t.scrubbingId)
      .where(sql`${t.status} in ('pending', 'active', 'withdrawing')`),
    check('mitigation_rules_through_check', sql`(${t.intentType} = 'scrubbing') = (${t.scrubbingId} is not null) and (${t.adapterId} is null) = (${t.intentType} = 'scrubbing')`),
    check('mitigation_rules_ttl_check', sql`${t.ttl} >= 0`),
  ],
);

export const REPAIR_KINDS = ['reannounced', 'withdrew_stray'] as const;
export type RepairKind = (typeof REPAIR_KINDS)[number];

/**
 * What the reconciler fixed at a speaker: a live rule's route that was missing (announced
 * again), or a route no live rule holds (withdrawn): named by the ended rule that
 * announced it, or by none when no rule of this adapter ever did.
 */
export const routeRepairs = pgTable(
  'route_repairs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    adapterId: integer('adapter_id').notNull().references(() => mitigationAdapters.id),
    ruleId: bigint('rule_id', { mode: 'number' }).references(() => mitigationRules.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<RepairKind>().notNull(),
    routeKey: text('route_key').notNull(),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('route_repairs_rule_idx').on(t.ruleId, t.id), index('route_repairs_adapter_idx').on(t.adapterId, t.id)],
);

/**
 * A cloud scrubbing integration and where its diversion stands (the `scrubbing:<id>`
 * workflow writes every transition here, with when and why).
 */
export const scrubbingIntegrations = pgTable(
  'scrubbing_integrations',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    type: text('type').$type<ScrubbingType>().notNull(),
    name: text('name').notNull(),
    config: jsonb('config').$type<Record<string, unknown> & { prefixes: string[] }>().notNull(),
    /** The provider's credentials as JSON, sealed (db/secrets.ts); never returned. */
    credentialsEnc: text('credentials_enc').notNull(),
    /** The provider's API; null: its public one. */
    baseUrl: text('base_url'),
    status: text('status').$type<ScrubbingStatus>().notNull().default('inactive'),
    statusReason: text('status_reason'),
    statusChangedAt: ts('status_changed_at'),
    /** The workflow of the diversion running now, if any. */
    workflowId: text('workflow_id'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    deletedAt: ts('deleted_at'),
  },
  (t) => [index('scrubbing_integrations_ws_idx').on(t.workspaceId)],
);

export const ALLOWLIST_SCOPES = ['workspace', 'node'] as const;
export type AllowlistScope = (typeof ALLOWLIST_SCOPES)[number];

export const allowlistEntries = pgTable(
  'allowlist_entries',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    ipAddress: text('ip_address').notNull(),
    label: text('label'),
    scope: text('scope').$type<AllowlistScope>().notNull().default('workspace'),
    nodeUuid: uuid('node_uuid'),
    createdAt: createdAt(),
  },
  (t) => [
    index('allowlist_ws_idx').on(t.workspaceId),
    uniqueIndex('allowlist_unique_idx').on(t.workspaceId, t.ipAddress, t.scope, sql`coalesce(${t.nodeUuid}, '00000000-0000-0000-0000-000000000000')`),
    check('allowlist_scope_node_check', sql`(${t.scope} = 'node') = (${t.nodeUuid} is not null)`),
  ],
);

// ---------- escalation ----------

/** One per workspace; absent: domain/escalation.ts DEFAULT_POLICY. */
export const escalationPolicies = pgTable('escalation_policies', {
  workspaceId: integer('workspace_id')
    .primaryKey()
    .references(() => workspaces.id, { onDelete: 'cascade' }),
  policy: jsonb('policy').$type<EscalationPolicy>().notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const hostThresholds = pgTable(
  'host_thresholds',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    /** Canonical prefix text (an address is its /32 or /128). */
    targetIp: text('target_ip').notNull(),
    label: text('label'),
    thresholds: jsonb('thresholds').$type<HostThreshold['thresholds']>().notNull(),
    /**
     * false: each host within the target takes these thresholds; true (prefixes only): the
     * prefix's nodes summed cross them together (carpet bombing), one prefix incident.
     */
    aggregate: boolean('aggregate').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('host_thresholds_target_idx').on(t.workspaceId, t.targetIp, t.aggregate)],
);

// ---------- nodes and incidents ----------

export const nodes = pgTable(
  'nodes',
  {
    id: serial('id').primaryKey(),
    uuid: uuid('uuid').notNull().unique().defaultRandom(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    ip: text('ip').notNull(),
    /** More addresses the node protects (CIDRs the user assigned): its agent may report attacks on these and on `ip`, nothing else. */
    prefixes: jsonb('prefixes').$type<string[]>().notNull().default([]),
    location: text('location'),
    os: text('os'),
    interface: text('interface'),
    /** SHA-256 of the node key; the key is shown once, at creation. */
    keyHash: text('key_hash').notNull().unique(),
    /** What the agent last said of its traffic; "offline" is derived from last_seen_at. */
    trafficState: text('traffic_state').$type<NodeTrafficState>().notNull().default('normal'),
    lastSeenAt: ts('last_seen_at'),
    lastPps: bigint('last_pps', { mode: 'number' }),
    lastBps: bigint('last_bps', { mode: 'number' }),
    protocolMix: jsonb('protocol_mix').$type<Record<string, number>>(),
    baseline: jsonb('baseline').$type<Record<string, unknown>>(),
    agentVersion: text('agent_version'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('nodes_ws_idx').on(t.workspaceId), uniqueIndex('nodes_ws_name_idx').on(t.workspaceId, t.name)],
);

export const NODE_SECURITY_EVENT_KINDS = ['target_refused'] as const;
export type NodeSecurityEventKind = (typeof NODE_SECURITY_EVENT_KINDS)[number];

/** What a node's key was used to attempt and was refused: a stolen key or a broken agent. */
export const nodeSecurityEvents = pgTable(
  'node_security_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    nodeId: integer('node_id')
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<NodeSecurityEventKind>().notNull(),
    message: text('message').notNull(),
    at: ts('at').notNull().defaultNow(),
  },
  (t) => [index('node_security_events_node_idx').on(t.nodeId, t.id)],
);

/** Per-second traffic samples, batched by the agent. */
export const nodeMetrics = pgTable(
  'node_metrics',
  {
    nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
    at: ts('at').notNull(),
    pps: bigint('pps', { mode: 'number' }).notNull(),
    bps: bigint('bps', { mode: 'number' }).notNull(),
    protocolMix: jsonb('protocol_mix').$type<Record<string, number>>(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.at] })],
);

export const INCIDENT_STATUSES = ['open', 'resolved'] as const;
export const INCIDENT_SCOPES = ['host', 'prefix'] as const;
export type IncidentScope = (typeof INCIDENT_SCOPES)[number];
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export const incidents = pgTable(
  'incidents',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    /** The reporting node; null for a prefix incident (the control plane's, over many nodes). */
    nodeId: integer('node_id').references(() => nodes.id, { onDelete: 'cascade' }),
    /** host: one node's agent reported it; prefix: the nodes of a prefix together crossed its threshold (carpet bombing). */
    scope: text('scope').$type<IncidentScope>().notNull().default('host'),
    /** The agent's own id for the attack (a repeated open finds the same incident); prefix incidents: `prefix:<cidr>:<opened ms>`. */
    agentRef: text('agent_ref').notNull(),
    targetIp: text('target_ip').notNull(),
    status: text('status').$type<IncidentStatus>().notNull().default('open'),
    severity: text('severity').$type<Severity>().notNull(),
    family: text('family').$type<AttackFamily>().notNull(),
    subtype: text('subtype'),
    confidence: doublePrecision('confidence'),
    /** What the capture said: only `attack` drives a dropping rule (domain/attack.ts). */
    verdict: text('verdict').$type<Verdict>().notNull().default('inconclusive'),
    /** capture (classified packets) or counters (the agent's guess before any). */
    evidence: text('evidence').$type<Evidence>().notNull().default('counters'),
    /** The agent's forensic summary, as sent (snake_case). */
    classification: jsonb('classification').$type<Record<string, unknown>>(),
    currentPps: bigint('current_pps', { mode: 'number' }).notNull(),
    currentBps: bigint('current_bps', { mode: 'number' }).notNull(),
    peakPps: bigint('peak_pps', { mode: 'number' }).notNull(),
    peakBps: bigint('peak_bps', { mode: 'number' }).notNull(),
    /** The escalation tier in force (0: none). */
    tier: integer('tier').notNull().default(0),
    startedAt: ts('started_at').notNull(),
    resolvedAt: ts('resolved_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('incidents_agent_ref_idx').on(t.nodeId, t.agentRef),
    // One open incident per prefix: agents' concurrent metric batches open it once.
    uniqueIndex('incidents_open_prefix_idx').on(t.workspaceId, t.targetIp).where(sql`${t.scope} = 'prefix' and ${t.status} = 'open'`),
    index('incidents_ws_started_idx').on(t.workspaceId, t.startedAt),
  ],
);

export const INCIDENT_EVENT_KINDS = [
  'opened',
  'classified',
  'tier_changed',
  'rule_requested',
  'rule_withdrawn',
  'dry_run',
  'refused',
  'geo_lockdown',
  'pcap_uploaded',
  'runbook',
  'notified',
  'resolved',
] as const;
export type IncidentEventKind = (typeof INCIDENT_EVENT_KINDS)[number];

/** The incident's timeline: everything that was decided or done about it. */
export const incidentEvents = pgTable(
  'incident_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    incidentId: bigint('incident_id', { mode: 'number' })
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    at: ts('at').notNull().defaultNow(),
    kind: text('kind').$type<IncidentEventKind>().notNull(),
    message: text('message').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>(),
    /** Idempotency for events written by activities that may run twice. */
    dedupeKey: text('dedupe_key'),
  },
  (t) => [index('incident_events_incident_idx').on(t.incidentId, t.id), uniqueIndex('incident_events_dedupe_idx').on(t.incidentId, t.dedupeKey)],
);

// ---------- commands to agents ----------

export const COMMAND_STATUSES = ['pending', 'delivered', 'succeeded', 'failed'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

/**
 * A command waiting for (or answered by) a node's agent. The activity that issued it is
 * completed asynchronously with `task_token` when the agent posts the result.
 */
export const agentCommands = pgTable(
  'agent_commands',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
    command: jsonb('command').$type<NodeCommand>().notNull(),
    /** Base64 Temporal task token of the waiting activity. */
    taskToken: text('task_token').notNull(),
    /** Activity id + attempt: a retried activity issues a new command, never a duplicate row. */
    activityKey: text('activity_key').notNull().unique(),
    status: text('status').$type<CommandStatus>().notNull().default('pending'),
    result: jsonb('result').$type<NodeCommandResult>(),
    createdAt: createdAt(),
    deliveredAt: ts('delivered_at'),
    completedAt: ts('completed_at'),
  },
  (t) => [index('agent_commands_node_status_idx').on(t.nodeId, t.status)],
);

// ---------- attack profiles ----------

export const ROLLOUT_ACTIONS = ['apply', 'remove'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];
export const ROLLOUT_STATUSES = ['running', 'completed'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** A profile applied to (or removed from) nodes by the workflow `profile-rollout:<uuid>`. */
export const profileRollouts = pgTable(
  'profile_rollouts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    uuid: uuid('uuid').notNull().unique().defaultRandom(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    action: text('action').$type<RolloutAction>().notNull(),
    /** The profile applied; for a removal, the one removed (null: whichever each node has). */
    profileId: text('profile_id').$type<ProfileId>(),
    suite: text('suite').$type<FirewallSuite>(),
    /** The custom rules, parsed, with the commands they came from. */
    customRules: jsonb('custom_rules').$type<Array<{ cmd: string; title: string | null; rule: FirewallRule }>>().notNull().default([]),
    /** As asked: node UUIDs, or "all" (every node of the workspace when the roll-out started). */
    target: jsonb('target').$type<string[] | 'all'>().notNull(),
    status: text('status').$type<RolloutStatus>().notNull().default('running'),
    workflowId: text('workflow_id').notNull(),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('profile_rollouts_ws_idx').on(t.workspaceId, t.id)],
);

export const profileRolloutNodes = pgTable(
  'profile_rollout_nodes',
  {
    rolloutId: bigint('rollout_id', { mode: 'number' }).notNull().references(() => profileRollouts.id, { onDelete: 'cascade' }),
    nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
    state: text('state').$type<RolloutNodeState>().notNull().default('pending'),
    /** The agent's error, or why the node was skipped. */
    detail: text('detail'),
    /** The node-command workflow that carried it. */
    commandWorkflowId: text('command_workflow_id'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.rolloutId, t.nodeId] })],
);

/** The profile installed on a node now (one at most: applying another replaces it). */
export const nodeProfiles = pgTable('node_profiles', {
  nodeId: integer('node_id').primaryKey().references(() => nodes.id, { onDelete: 'cascade' }),
  profileId: text('profile_id').$type<ProfileId>().notNull(),
  suite: text('suite').$type<FirewallSuite>().notNull(),
  rolloutId: bigint('rollout_id', { mode: 'number' }).references(() => profileRollouts.id, { onDelete: 'set null' }),
  appliedAt: ts('applied_at').notNull().defaultNow(),
});

// ---------- packet captures ----------

export const PCAP_STATUSES = ['uploading', 'complete'] as const;
export type PcapStatus = (typeof PCAP_STATUSES)[number];

/**
 * A capture the agent took during an incident, uploaded in chunks: `received_bytes` says
 * where a resumed upload goes on; complete once all `size_bytes` arrived and hashed to `sha256`.
 */
export const pcaps = pgTable(
  'pcaps',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    nodeId: integer('node_id').notNull().references(() => nodes.id, { onDelete: 'cascade' }),
    incidentId: bigint('incident_id', { mode: 'number' })
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    sha256: text('sha256').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    receivedBytes: bigint('received_bytes', { mode: 'number' }).notNull().default(0),
    status: text('status').$type<PcapStatus>().notNull().default('uploading'),
    capturedAt: ts('captured_at').notNull(),
    /** The forensic analysis, computed on first request (api/routes/pcaps.ts). */
    analysis: jsonb('analysis').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    completedAt: ts('completed_at'),
  },
  (t) => [uniqueIndex('pcaps_incident_sha_idx').on(t.incidentId, t.sha256), index('pcaps_ws_captured_idx').on(t.workspaceId, t.capturedAt)],
);

/** The file's bytes, in the chunks they arrived in. */
export const pcapChunks = pgTable(
  'pcap_chunks',
  {
    pcapId: bigint('pcap_id', { mode: 'number' })
      .notNull()
      .references(() => pcaps.id, { onDelete: 'cascade' }),
    offset: bigint('offset', { mode: 'number' }).notNull(),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.pcapId, t.offset] })],
);

// ---------- notification channels ----------

export const channels = pgTable(
  'channels',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    type: text('type').$type<ChannelType>().notNull(),
    name: text('name').notNull(),
    /** What the type needs that is not secret (chat id, SMTP host, base URL). */
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    /** Webhook URLs, keys, tokens, passwords as JSON, sealed (db/secrets.ts); never returned. */
    secretEnc: text('secret_enc').notNull(),
    /** The incident events this channel hears: the workspace's notification settings. */
    events: jsonb('events').$type<ChannelEvent[]>().notNull(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [index('channels_ws_idx').on(t.workspaceId)],
);

export const NOTIFICATION_STATUSES = ['sent', 'failed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** Every message a channel was asked to carry, once per key: a retry finds it sent. */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channelId: integer('channel_id').notNull().references(() => channels.id, { onDelete: 'cascade' }),
    incidentId: bigint('incident_id', { mode: 'number' }).references(() => incidents.id, { onDelete: 'cascade' }),
    dedupKey: text('dedup_key').notNull(),
    kind: text('kind').notNull(),
    status: text('status').$type<NotificationStatus>().notNull(),
    attempts: integer('attempts').notNull().default(1),
    detail: text('detail'),
    createdAt: createdAt(),
    sentAt: ts('sent_at'),
  },
  (t) => [uniqueIndex('notifications_key_idx').on(t.channelId, t.dedupKey), index('notifications_incident_idx').on(t.incidentId)],
);

// ---------- runbooks ----------

export const runbooks = pgTable(
  'runbooks',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    triggerConditions: jsonb('trigger_conditions').$type<TriggerConditions>().notNull(),
    /** The steps without their secrets (those are in `secrets_enc`). */
    steps: jsonb('steps').$type<RunbookStep[]>().notNull(),
    /** Per step index, the secrets of webhook steps (HMAC secret, headers), sealed JSON. */
    secretsEnc: text('secrets_enc'),
    active: boolean('active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** Deleted runbooks keep their executions' history; nothing new starts. */
    deletedAt: ts('deleted_at'),
  },
  (t) => [index('runbooks_ws_idx').on(t.workspaceId)],
);

export const EXECUTION_TRIGGERS = ['manual', 'incident', 'retry'] as const;
export type ExecutionTrigger = (typeof EXECUTION_TRIGGERS)[number];
export const EXECUTION_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const STEP_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'simulated', 'cancelled'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** One run of a runbook: the workflow `runbook-exec:<id>`. */
export const runbookExecutions = pgTable(
  'runbook_executions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    runbookId: integer('runbook_id').notNull().references(() => runbooks.id, { onDelete: 'cascade' }),
    incidentId: bigint('incident_id', { mode: 'number' }).references(() => incidents.id, { onDelete: 'set null' }),
    trigger: text('trigger').$type<ExecutionTrigger>().notNull(),
    status: text('status').$type<ExecutionStatus>().notNull().default('running'),
    /** No node: steps that would touch a host, zone or provider are simulated. */
    simulated: boolean('simulated').notNull().default(false),
    context: jsonb('context').$type<RunbookContext>().notNull(),
    /** The steps as this execution runs them. */
    steps: jsonb('steps').$type<RunbookStep[]>().notNull(),
    /** A retry starts here; the steps before it ran in `retry_of`. */
    fromStep: integer('from_step').notNull().default(0),
    retryOf: bigint('retry_of', { mode: 'number' }).references((): AnyPgColumn => runbookExecutions.id, { onDelete: 'set null' }),
    workflowId: text('workflow_id').notNull(),
    error: text('error'),
    /** What the execution did after its steps (a restored security level, a diversion ended). */
    notes: jsonb('notes').$type<string[]>().notNull().default([]),
    startedAt: ts('started_at').notNull().defaultNow(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('runbook_executions_rb_idx').on(t.runbookId, t.id),
    // An incident's executions (GET /incidents/{id}).
    index('runbook_executions_by_incident_idx').on(t.incidentId),
    // An incident triggers a runbook once.
    uniqueIndex('runbook_executions_incident_idx').on(t.runbookId, t.incidentId).where(sql`trigger = 'incident'`),
  ],
);

export const runbookStepResults = pgTable(
  'runbook_step_results',
  {
    executionId: bigint('execution_id', { mode: 'number' }).notNull().references(() => runbookExecutions.id, { onDelete: 'cascade' }),
    stepIndex: integer('step_index').notNull(),
    actionType: text('action_type').notNull(),
    status: text('status').$type<StepStatus>().notNull().default('pending'),
    output: text('output'),
    error: text('error'),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [primaryKey({ columns: [t.executionId, t.stepIndex] })],
);
