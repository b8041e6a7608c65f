// The allowlist as every path reads it: one query, one meaning for node-scoped entries;
// and adding and removing entries.
//
// An entry scoped to a node protects its address wherever that node's traffic is filtered:
// in the node's own firewall, and at the routers, which carry every node's traffic. So:
// - 'network' (anything announced at a router: rules, FlowSpec sources, geo lockdown by
//   FlowSpec) honours every entry of the workspace, node-scoped ones included;
// - { nodeUuid } (that node's firewall: the agent's config, geo lockdown by firewall)
//   honours the workspace-wide entries and that node's own, not other nodes'.
import { and, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import { mustParsePrefix } from '../domain/prefix.js';
import type { AllowlistedPrefix } from '../domain/safety.js';
import { INT4_MAX, isRowId, type Db } from './client.js';
import { allowlistEntries, mitigationRules } from './schema.js';

export type AllowlistReach = 'network' | { nodeUuid: string };

export type AllowlistRow = typeof allowlistEntries.$inferSelect;

function reaching(workspaceId: number, reach: AllowlistReach): SQL {
  const ws = eq(allowlistEntries.workspaceId, workspaceId);
  return reach === 'network' ? ws : and(ws, or(isNull(allowlistEntries.nodeUuid), eq(allowlistEntries.nodeUuid, reach.nodeUuid)))!;
}

/** The entries as stored, oldest first (GET /allowlist). */
export async function listAllowlist(db: Db, workspaceId: number, reach: AllowlistReach): Promise<AllowlistRow[]> {
  return db.select().from(allowlistEntries).where(reaching(workspaceId, reach)).orderBy(allowlistEntries.id);
}

/**
 * What no route a rule announces may block: the 'network' allowlist of the rule's own
 * workspace, read in the same round trip as the rule itself can be (by the rule's id).
 */
export async function loadRuleAllowlist(db: Db, ruleId: number): Promise<AllowlistedPrefix[]> {
  const rows = await db
    .select({ ip: allowlistEntries.ipAddress, label: allowlistEntries.label })
    .from(allowlistEntries)
    .where(inArray(allowlistEntries.workspaceId, db.select({ ws: mitigationRules.workspaceId }).from(mitigationRules).where(eq(mitigationRules.id, ruleId))));
  return rows.map((r) => ({ prefix: mustParsePrefix(r.ip), label: r.label }));
}

/** The prefixes that no action with this reach may block. */
export async function loadAllowlist(db: Db, workspaceId: number, reach: AllowlistReach): Promise<AllowlistedPrefix[]> {
  const rows = await db
    .select({ ip: allowlistEntries.ipAddress, label: allowlistEntries.label })
    .from(allowlistEntries)
    .where(reaching(workspaceId, reach));
  return rows.map((r) => ({ prefix: mustParsePrefix(r.ip), label: r.label }));
}

/** Adds an entry; null when the same address is already allowlisted with this scope. */
export async function addAllowlistEntry(
  db: Db,
  workspaceId: number,
  e: Pick<AllowlistRow, 'ipAddress' | 'label' | 'scope' | 'nodeUuid'>,
): Promise<AllowlistRow | null> {
  const [row] = await db
    .insert(allowlistEntries)
    .values({ workspaceId, ...e })
    .onConflictDoNothing()
    .returning();
  return row ?? null;
}

/** Removes the workspace's entry; false when it has none by that id. */
export async function removeAllowlistEntry(db: Db, workspaceId: number, id: number): Promise<boolean> {
  if (!isRowId(id, INT4_MAX)) return false;
  const rows = await db
    .delete(allowlistEntries)
    .where(and(eq(allowlistEntries.id, id), eq(allowlistEntries.workspaceId, workspaceId)))
    .returning({ id: allowlistEntries.id });
  return rows.length > 0;
}
