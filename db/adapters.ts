// Mitigation adapters: the live (not deleted) ones of a workspace, the rules they hold,
// and saving them (the secret arrives sealed, db/secrets.ts).
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { INT4_MAX, isRowId, type Db } from './client.js';
import { RECONCILED_ADAPTER_TYPES } from '../domain/adapter-types.js';
import { LIVE_RULE_STATUSES, mitigationAdapters, mitigationRules, routeRepairs } from './schema.js';

export type AdapterRow = typeof mitigationAdapters.$inferSelect;

/** The workspace's adapter, or null when there is none by that id (or it was deleted). */
export async function findAdapter(db: Db, workspaceId: number, id: number): Promise<AdapterRow | null> {
  if (!isRowId(id, INT4_MAX)) return null;
  const [row] = await db
    .select()
    .from(mitigationAdapters)
    .where(and(eq(mitigationAdapters.id, id), eq(mitigationAdapters.workspaceId, workspaceId), isNull(mitigationAdapters.deletedAt)));
  return row ?? null;
}

/** Every live adapter a reconciler watches (their schedules are made at start-up). */
export async function reconciledAdapterIds(db: Db): Promise<number[]> {
  const rows = await db
    .select({ id: mitigationAdapters.id })
    .from(mitigationAdapters)
    .where(and(inArray(mitigationAdapters.adapterType, [...RECONCILED_ADAPTER_TYPES]), isNull(mitigationAdapters.deletedAt)));
  return rows.map((r) => r.id);
}

/** The rules whose routes the adapter holds now (or is announcing or withdrawing). */
export async function liveRules(db: Db, adapterId: number): Promise<Array<{ id: number; workflowId: string | null }>> {
  return db
    .select({ id: mitigationRules.id, workflowId: mitigationRules.workflowId })
    .from(mitigationRules)
    .where(and(eq(mitigationRules.adapterId, adapterId), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])));
}

/** The workspace's live adapters with how many live rules each holds, in id order. */
export async function listAdapters(db: Db, workspaceId: number): Promise<Array<{ adapter: AdapterRow; live: number }>> {
  const [adapters, counts] = await Promise.all([
    db
      .select()
      .from(mitigationAdapters)
      .where(and(eq(mitigationAdapters.workspaceId, workspaceId), isNull(mitigationAdapters.deletedAt)))
      .orderBy(mitigationAdapters.id),
    db
      .select({ adapterId: mitigationRules.adapterId, n: sql<number>`count(*)::int` })
      .from(mitigationRules)
      .where(and(eq(mitigationRules.workspaceId, workspaceId), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])))
      .groupBy(mitigationRules.adapterId),
  ]);
  const live = new Map(counts.map((c) => [c.adapterId, c.n]));
  return adapters.map((adapter) => ({ adapter, live: live.get(adapter.id) ?? 0 }));
}

export type RepairRow = Pick<typeof routeRepairs.$inferSelect, 'at' | 'kind' | 'ruleId' | 'routeKey'>;

/** What the reconciler last repaired at each adapter's speaker, newest first (a few each). */
export async function recentRepairs(db: Db, adapterIds: readonly number[], perAdapter = 5): Promise<Map<number, RepairRow[]>> {
  const lists = await Promise.all(
    adapterIds.map((id) =>
      db
        .select({ at: routeRepairs.at, kind: routeRepairs.kind, ruleId: routeRepairs.ruleId, routeKey: routeRepairs.routeKey })
        .from(routeRepairs)
        .where(eq(routeRepairs.adapterId, id))
        .orderBy(desc(routeRepairs.id))
        .limit(perAdapter),
    ),
  );
  return new Map(adapterIds.map((id, i) => [id, lists[i]!]));
}

type AdapterValues = Pick<AdapterRow, 'adapterType' | 'name' | 'endpoint' | 'config' | 'capabilities'>;

export async function createAdapter(db: Db, workspaceId: number, values: AdapterValues, authTokenEnc: string | null): Promise<AdapterRow> {
  const [row] = await db
    .insert(mitigationAdapters)
    .values({ ...values, workspaceId, authTokenEnc })
    .returning();
  return row!;
}

/**
 * `authTokenEnc` undefined: keep the stored secret; null: clear it. A new type or endpoint
 * is another back end: what the reconciler last saw of the old one no longer applies. A
 * save resumes a reconciliation paused on refused credentials.
 */
export async function updateAdapter(db: Db, current: AdapterRow, values: AdapterValues, authTokenEnc: string | null | undefined): Promise<AdapterRow> {
  const moved = current.adapterType !== values.adapterType || current.endpoint !== values.endpoint;
  const [row] = await db
    .update(mitigationAdapters)
    .set({
      ...values,
      ...(authTokenEnc !== undefined ? { authTokenEnc } : {}),
      ...(moved || current.reconcilePausedAt ? { reconciledAt: null, reconcileError: null } : {}),
      reconcilePausedAt: null,
      updatedAt: sql`now()`,
    })
    .where(eq(mitigationAdapters.id, current.id))
    .returning();
  return row!;
}

/** Soft delete: rule history keeps pointing at the adapter it used. */
export async function deleteAdapter(db: Db, id: number): Promise<void> {
  await db.update(mitigationAdapters).set({ deletedAt: sql`now()` }).where(eq(mitigationAdapters.id, id));
}
