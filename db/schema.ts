// The whole relational schema. `npm run db:generate` turns changes here into a new
// SQL migration under migrations/ (commit it).
import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, jsonb, pgTable, primaryKey, serial, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { MitigationIntent } from '../domain/intent.js';

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

export const ADAPTER_TYPES = ['exabgp', 'gobgp', 'cloudflare', 'webhook', 'bird2', 'frr', 'radware', 'f5'] as const;
export type AdapterType = (typeof ADAPTER_TYPES)[number];
export const INTENT_TYPES = ['blackhole', 'flowspec', 'scrubbing'] as const;
export type IntentType = (typeof INTENT_TYPES)[number];

/** Adapter-specific settings, validated by the API (see api/schemas.ts). */
export interface AdapterConfig {
  local_as?: number;
  communities?: string[];
  next_hop?: string;
  next_hop_v6?: string;
  max_prefix_v4?: number;
  max_prefix_v6?: number;
  timeout_ms?: number;
  [key: string]: unknown;
}

export const mitigationAdapters = pgTable(
  'mitigation_adapters',
  {
    id: serial('id').primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    adapterType: text('adapter_type').$type<AdapterType>().notNull(),
    name: text('name').notNull(),
    endpoint: text('endpoint').notNull(),
    /** AES-256-GCM ciphertext (activities/secrets.ts); never returned by the API. */
    authTokenEnc: text('auth_token_enc'),
    config: jsonb('config').$type<AdapterConfig>().notNull().default({}),
    capabilities: jsonb('capabilities').$type<IntentType[]>().notNull().default(['blackhole']),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    /** Soft delete: rule history keeps pointing at the adapter it used. */
    deletedAt: ts('deleted_at'),
  },
  (t) => [index('mitigation_adapters_ws_idx').on(t.workspaceId)],
);

export const RULE_STATUSES = ['pending', 'active', 'withdrawing', 'withdrawn', 'expired', 'failed'] as const;
export type RuleStatus = (typeof RULE_STATUSES)[number];
/** Statuses after which the route is gone for certain. */
export const FINAL_RULE_STATUSES: readonly RuleStatus[] = ['withdrawn', 'expired', 'failed'];

export const mitigationRules = pgTable(
  'mitigation_rules',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workspaceId: integer('workspace_id').notNull().references(() => workspaces.id, { onDelete: 'cascade' }),
    adapterId: integer('adapter_id').notNull().references(() => mitigationAdapters.id),
    targetIp: text('target_ip').notNull(),
    intentType: text('intent_type').$type<IntentType>().notNull(),
    /** Exactly what the adapter is asked to announce (and later withdraw). */
    intent: jsonb('intent').$type<MitigationIntent>().notNull(),
    /** domain/intent.ts routeKey(): what the speaker keys the route by. */
    routeKey: text('route_key').notNull(),
    ttl: integer('ttl').notNull(),
    reason: text('reason'),
    status: text('status').$type<RuleStatus>().notNull().default('pending'),
    /** Why the rule ended, or the adapter's last error for a failed rule. */
    statusReason: text('status_reason'),
    createdAt: createdAt(),
    announcedAt: ts('announced_at'),
    expiresAt: ts('expires_at'),
    endedAt: ts('ended_at'),
  },
  (t) => [
    index('mitigation_rules_ws_status_idx').on(t.workspaceId, t.status),
    index('mitigation_rules_adapter_idx').on(t.adapterId),
    // Two live rules with one route key would share one route: withdrawing either would
    // pull it from under the other.
    uniqueIndex('mitigation_rules_live_route_idx')
      .on(t.adapterId, t.routeKey)
      .where(sql`${t.status} in ('pending', 'active', 'withdrawing')`),
    check('mitigation_rules_ttl_check', sql`${t.ttl} >= 0`),
  ],
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
