// Reading mitigation adapters: the live (not deleted) ones of a workspace, and the rules
// they hold.
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Db } from './client.js';
import { LIVE_RULE_STATUSES, mitigationAdapters, mitigationRules } from './schema.js';

export type AdapterRow = typeof mitigationAdapters.$inferSelect;

/** The workspace's adapter, or null when there is none by that id (or it was deleted). */
export async function findAdapter(db: Db, workspaceId: number, id: number): Promise<AdapterRow | null> {
  const [row] = await db
    .select()
    .from(mitigationAdapters)
    .where(and(eq(mitigationAdapters.id, id), eq(mitigationAdapters.workspaceId, workspaceId), isNull(mitigationAdapters.deletedAt)));
  return row ?? null;
}

/** The rules whose routes the adapter holds now (or is announcing or withdrawing). */
export async function liveRuleIds(db: Db, adapterId: number): Promise<number[]> {
  const rows = await db
    .select({ id: mitigationRules.id })
    .from(mitigationRules)
    .where(and(eq(mitigationRules.adapterId, adapterId), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])));
  return rows.map((r) => r.id);
}
