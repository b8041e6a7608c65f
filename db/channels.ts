// Notification channels of a workspace, and the ledger of what each was asked to carry
// (one row per channel and key, so a retried delivery finds it sent).
import { and, eq, sql } from 'drizzle-orm';
import type { ChannelEvent } from '../domain/channels.js';
import { INT4_MAX, isRowId, type Db } from './client.js';
import { channels, notifications, type NotificationStatus } from './schema.js';

export type ChannelRow = typeof channels.$inferSelect;
type Values = Pick<ChannelRow, 'type' | 'name' | 'config' | 'events'>;

export async function findChannel(db: Db, workspaceId: number, id: number): Promise<ChannelRow | null> {
  if (!isRowId(id, INT4_MAX)) return null;
  const [row] = await db.select().from(channels).where(and(eq(channels.id, id), eq(channels.workspaceId, workspaceId)));
  return row ?? null;
}

export async function listChannels(db: Db, workspaceId: number): Promise<ChannelRow[]> {
  return db.select().from(channels).where(eq(channels.workspaceId, workspaceId)).orderBy(channels.id);
}

/** The channels that hear `event` (the workspace's notification settings). */
export async function channelsHearing(db: Db, workspaceId: number, event: ChannelEvent): Promise<ChannelRow[]> {
  return db
    .select()
    .from(channels)
    .where(and(eq(channels.workspaceId, workspaceId), sql`${channels.events} @> ${JSON.stringify([event])}::jsonb`))
    .orderBy(channels.id);
}

export async function createChannel(db: Db, workspaceId: number, values: Values, secretEnc: string): Promise<ChannelRow> {
  const [row] = await db.insert(channels).values({ ...values, workspaceId, secretEnc }).returning();
  return row!;
}

/** `secretEnc` undefined: keep the stored secret. */
export async function updateChannel(db: Db, id: number, values: Partial<Values>, secretEnc: string | undefined): Promise<ChannelRow> {
  const [row] = await db
    .update(channels)
    .set({ ...values, ...(secretEnc !== undefined ? { secretEnc } : {}), updatedAt: sql`now()` })
    .where(eq(channels.id, id))
    .returning();
  return row!;
}

export async function deleteChannel(db: Db, id: number): Promise<void> {
  await db.delete(channels).where(eq(channels.id, id));
}

export async function notificationSent(db: Db, channelId: number, dedupKey: string): Promise<boolean> {
  const [row] = await db.select({ status: notifications.status }).from(notifications).where(and(eq(notifications.channelId, channelId), eq(notifications.dedupKey, dedupKey)));
  return row?.status === 'sent';
}

/** Records an attempt; a row already there counts one more attempt. */
export async function recordNotification(
  db: Db,
  n: { channelId: number; incidentId: number | null; dedupKey: string; kind: string; status: NotificationStatus; detail: string | null },
): Promise<void> {
  await db
    .insert(notifications)
    .values({ ...n, sentAt: n.status === 'sent' ? sql`now()` : null })
    .onConflictDoUpdate({
      target: [notifications.channelId, notifications.dedupKey],
      set: { status: n.status, detail: n.detail, attempts: sql`${notifications.attempts} + 1`, sentAt: n.status === 'sent' ? sql`now()` : null },
    });
}
