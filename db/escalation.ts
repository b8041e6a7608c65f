// The workspace's escalation policy and per-host threshold overrides (API and activities).
import { and, eq, sql } from 'drizzle-orm';
import { aggregateTiers, DEFAULT_POLICY, effectiveTiers, type EscalationPolicy, type HostThreshold, type Tier } from '../domain/escalation.js';
import { INT4_MAX, isRowId, type Db } from './client.js';
import { escalationPolicies, hostThresholds } from './schema.js';

export async function loadPolicy(db: Db, workspaceId: number): Promise<{ policy: EscalationPolicy; updatedAt: Date | null }> {
  const [row] = await db.select().from(escalationPolicies).where(eq(escalationPolicies.workspaceId, workspaceId));
  if (!row) return { policy: DEFAULT_POLICY, updatedAt: null };
  // Fields added since a policy was saved take their defaults.
  const policy = { ...DEFAULT_POLICY, ...row.policy, geoLockdown: { ...DEFAULT_POLICY.geoLockdown, ...row.policy.geoLockdown } };
  return { policy, updatedAt: row.updatedAt };
}

export async function loadHostThresholds(db: Db, workspaceId: number): Promise<HostThreshold[]> {
  const rows = await db
    .select({ target: hostThresholds.targetIp, thresholds: hostThresholds.thresholds, aggregate: hostThresholds.aggregate })
    .from(hostThresholds)
    .where(eq(hostThresholds.workspaceId, workspaceId));
  return rows;
}

/**
 * The policy, and the tiers that apply to `target`: for a host, the most specific per-host
 * override's thresholds; for a prefix as a whole (`aggregate`), its aggregate threshold's
 * (no tier at all when it has none).
 */
export async function loadTiers(db: Db, workspaceId: number, target: string, opts: { aggregate?: boolean } = {}): Promise<{ policy: EscalationPolicy; tiers: Tier[] }> {
  const [{ policy }, overrides] = await Promise.all([loadPolicy(db, workspaceId), loadHostThresholds(db, workspaceId)]);
  if (!opts.aggregate) return { policy, tiers: effectiveTiers(policy, overrides, target) };
  const own = overrides.find((o) => o.aggregate && o.target === target);
  return { policy, tiers: own ? aggregateTiers(policy, own) : [] };
}

export async function savePolicy(db: Db, workspaceId: number, policy: EscalationPolicy): Promise<{ policy: EscalationPolicy; updatedAt: Date }> {
  const [row] = await db
    .insert(escalationPolicies)
    .values({ workspaceId, policy })
    .onConflictDoUpdate({ target: escalationPolicies.workspaceId, set: { policy, updatedAt: sql`now()` } })
    .returning();
  return { policy: row!.policy, updatedAt: row!.updatedAt };
}

export type ThresholdRow = typeof hostThresholds.$inferSelect;

export async function listHostThresholds(db: Db, workspaceId: number): Promise<ThresholdRow[]> {
  return db.select().from(hostThresholds).where(eq(hostThresholds.workspaceId, workspaceId)).orderBy(hostThresholds.id);
}

/** One override per target and kind (per host, aggregate): saving the same again replaces its thresholds (and its label, when given). */
export async function saveHostThreshold(
  db: Db,
  workspaceId: number,
  t: { targetIp: string; label: string | null | undefined; thresholds: HostThreshold['thresholds']; aggregate: boolean },
): Promise<ThresholdRow> {
  const [row] = await db
    .insert(hostThresholds)
    .values({ workspaceId, targetIp: t.targetIp, label: t.label ?? null, thresholds: t.thresholds, aggregate: t.aggregate })
    .onConflictDoUpdate({
      target: [hostThresholds.workspaceId, hostThresholds.targetIp, hostThresholds.aggregate],
      set: { thresholds: t.thresholds, ...(t.label !== undefined ? { label: t.label } : {}), updatedAt: sql`now()` },
    })
    .returning();
  return row!;
}

export async function deleteHostThreshold(db: Db, workspaceId: number, id: number): Promise<boolean> {
  if (!isRowId(id, INT4_MAX)) return false;
  const rows = await db
    .delete(hostThresholds)
    .where(and(eq(hostThresholds.id, id), eq(hostThresholds.workspaceId, workspaceId)))
    .returning({ id: hostThresholds.id });
  return rows.length > 0;
}
