// Scrubbing integrations of a workspace (live ones: deletion is soft, so a diversion's
// history keeps its integration), and the status their diversion workflow writes.
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { ScrubbingStatus } from '../domain/scrubbing.js';
import { INT4_MAX, isRowId, type Db } from './client.js';
import { scrubbingIntegrations } from './schema.js';

export type ScrubbingRow = typeof scrubbingIntegrations.$inferSelect;
type Values = Pick<ScrubbingRow, 'type' | 'name' | 'config' | 'baseUrl'>;

const live = (workspaceId: number) => and(eq(scrubbingIntegrations.workspaceId, workspaceId), isNull(scrubbingIntegrations.deletedAt));

export async function findScrubbing(db: Db, workspaceId: number, id: number): Promise<ScrubbingRow | null> {
  if (!isRowId(id, INT4_MAX)) return null;
  const [row] = await db.select().from(scrubbingIntegrations).where(and(eq(scrubbingIntegrations.id, id), live(workspaceId)));
  return row ?? null;
}

/** By id alone, deleted or not: for the worker, which acts on what a workflow was started for. */
export async function loadScrubbing(db: Db, id: number): Promise<ScrubbingRow | null> {
  const [row] = await db.select().from(scrubbingIntegrations).where(eq(scrubbingIntegrations.id, id));
  return row ?? null;
}

export async function listScrubbing(db: Db, workspaceId: number): Promise<ScrubbingRow[]> {
  return db.select().from(scrubbingIntegrations).where(live(workspaceId)).orderBy(scrubbingIntegrations.id);
}

export async function createScrubbing(db: Db, workspaceId: number, values: Values, credentialsEnc: string): Promise<ScrubbingRow> {
  const [row] = await db.insert(scrubbingIntegrations).values({ ...values, workspaceId, credentialsEnc }).returning();
  return row!;
}

/** `credentialsEnc` undefined: keep the stored credentials. */
export async function updateScrubbing(db: Db, id: number, values: Values, credentialsEnc: string | undefined): Promise<ScrubbingRow> {
  const [row] = await db
    .update(scrubbingIntegrations)
    .set({ ...values, ...(credentialsEnc !== undefined ? { credentialsEnc } : {}), updatedAt: sql`now()` })
    .where(eq(scrubbingIntegrations.id, id))
    .returning();
  return row!;
}

export async function deleteScrubbing(db: Db, id: number): Promise<void> {
  await db.update(scrubbingIntegrations).set({ deletedAt: sql`now()` }).where(eq(scrubbingIntegrations.id, id));
}

/** A transition of the diversion, with why; `workflowId` null once no diversion runs. */
export async function setScrubbingStatus(db: Db, id: number, status: ScrubbingStatus, reason: string | null, workflowId: string | null): Promise<void> {
  await db
    .update(scrubbingIntegrations)
    .set({ status, statusReason: reason, statusChangedAt: sql`now()`, workflowId })
    .where(eq(scrubbingIntegrations.id, id));
}
