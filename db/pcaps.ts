// Packet captures: chunked, resumable, size-capped uploads, and reading them back.
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { isRowId, type Db } from './client.js';
import { incidents, nodes, pcapChunks, pcaps } from './schema.js';

/** Per file: the agent's captures are bounded far below this (16 MiB by default). */
export const MAX_PCAP_BYTES = 64 * 1024 * 1024;
/** Per request body of an upload. */
export const MAX_CHUNK_BYTES = 1024 * 1024;

export type PcapRow = typeof pcaps.$inferSelect;

/** How much one node, and one workspace, may keep of captures (declared sizes, until retention deletes them). */
export interface PcapQuota {
  nodeBytes: number;
  workspaceBytes: number;
  /** Uploads a node may have in progress at once. */
  nodeUploading: number;
  /** Captures a node may start in an hour. */
  nodePerHour: number;
}

export const DEFAULT_PCAP_QUOTA: PcapQuota = { nodeBytes: 512 * 1024 * 1024, workspaceBytes: 4 * 1024 * 1024 * 1024, nodeUploading: 4, nodePerHour: 60 };

type NewPcap = { workspaceId: number; nodeId: number; incidentId: number; sha256: string; sizeBytes: number; capturedAt: Date };

/**
 * The capture's row: the same file (incident + SHA-256) asked for again is the same row,
 * so an upload resumes; a new file only within the quota, else why not.
 */
export async function createPcap(db: Db, v: NewPcap, quota: PcapQuota = DEFAULT_PCAP_QUOTA): Promise<{ ok: true; row: PcapRow } | { ok: false; reason: string }> {
  const existing = async () => (await db.select().from(pcaps).where(and(eq(pcaps.incidentId, v.incidentId), eq(pcaps.sha256, v.sha256))))[0];
  const resumed = await existing();
  if (resumed) return { ok: true, row: resumed };
  const [usage] = await db
    .select({
      workspaceBytes: sql<number>`coalesce(sum(${pcaps.sizeBytes}), 0)::float8`,
      nodeBytes: sql<number>`coalesce(sum(${pcaps.sizeBytes}) filter (where ${pcaps.nodeId} = ${v.nodeId}), 0)::float8`,
      nodeUploading: sql<number>`count(*) filter (where ${pcaps.nodeId} = ${v.nodeId} and ${pcaps.status} = 'uploading')::int`,
      nodeLastHour: sql<number>`count(*) filter (where ${pcaps.nodeId} = ${v.nodeId} and ${pcaps.createdAt} > now() - interval '1 hour')::int`,
    })
    .from(pcaps)
    .where(eq(pcaps.workspaceId, v.workspaceId));
  const u = usage!;
  const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;
  if (u.nodeUploading >= quota.nodeUploading) return { ok: false, reason: `this node has ${u.nodeUploading} uploads in progress, the most it may have; finish one first` };
  if (u.nodeLastHour >= quota.nodePerHour) return { ok: false, reason: `this node started ${u.nodeLastHour} captures in the last hour, the most it may` };
  if (u.nodeBytes + v.sizeBytes > quota.nodeBytes) return { ok: false, reason: `this node keeps ${mib(u.nodeBytes)} of captures; ${mib(v.sizeBytes)} more would pass its ${mib(quota.nodeBytes)} quota` };
  if (u.workspaceBytes + v.sizeBytes > quota.workspaceBytes) return { ok: false, reason: `the workspace keeps ${mib(u.workspaceBytes)} of captures; ${mib(v.sizeBytes)} more would pass its ${mib(quota.workspaceBytes)} quota` };
  await db.insert(pcaps).values(v).onConflictDoNothing();
  return { ok: true, row: (await existing())! };
}

export type AppendResult =
  | { ok: true; row: PcapRow }
  | { ok: false; reason: 'offset' | 'overflow' | 'checksum'; receivedBytes: number; message: string };

/**
 * Appends `data` at `offset`, which must be where the upload stands (`received_bytes`).
 * A chunk that was already stored (a retry after a lost answer) is accepted as is. The
 * last chunk completes the file only if the whole hashes to the declared SHA-256; if it
 * does not, the bytes are dropped and the upload starts over.
 */
export async function appendChunk(db: Db, pcapId: number, offset: number, data: Buffer): Promise<AppendResult> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(pcaps).where(eq(pcaps.id, pcapId)).for('update');
    if (!row) throw new Error(`pcap ${pcapId} does not exist`);
    if (offset + data.length <= row.receivedBytes) return { ok: true as const, row };
    if (offset !== row.receivedBytes) {
      return { ok: false as const, reason: 'offset' as const, receivedBytes: row.receivedBytes, message: `the upload stands at byte ${row.receivedBytes}, not ${offset}` };
    }
    if (offset + data.length > row.sizeBytes) {
      return { ok: false as const, reason: 'overflow' as const, receivedBytes: row.receivedBytes, message: `${offset + data.length} bytes is more than the declared size_bytes ${row.sizeBytes}` };
    }
    await tx.insert(pcapChunks).values({ pcapId, offset, data });
    const received = offset + data.length;
    if (received < row.sizeBytes) {
      const [updated] = await tx.update(pcaps).set({ receivedBytes: received }).where(eq(pcaps.id, pcapId)).returning();
      return { ok: true as const, row: updated! };
    }
    const chunks = await tx.select({ data: pcapChunks.data }).from(pcapChunks).where(eq(pcapChunks.pcapId, pcapId)).orderBy(asc(pcapChunks.offset));
    const hash = createHash('sha256');
    for (const c of chunks) hash.update(c.data);
    if (hash.digest('hex') !== row.sha256) {
      await tx.delete(pcapChunks).where(eq(pcapChunks.pcapId, pcapId));
      await tx.update(pcaps).set({ receivedBytes: 0 }).where(eq(pcaps.id, pcapId));
      return { ok: false as const, reason: 'checksum' as const, receivedBytes: 0, message: 'the file does not hash to the declared sha256; upload it again from byte 0' };
    }
    const [done] = await tx
      .update(pcaps)
      .set({ receivedBytes: received, status: 'complete', completedAt: sql`now()` })
      .where(eq(pcaps.id, pcapId))
      .returning();
    return { ok: true as const, row: done! };
  });
}

/** The whole file (complete captures only). */
export async function readPcap(db: Db, pcapId: number): Promise<Buffer> {
  const chunks = await db.select({ data: pcapChunks.data }).from(pcapChunks).where(eq(pcapChunks.pcapId, pcapId)).orderBy(asc(pcapChunks.offset));
  return Buffer.concat(chunks.map((c) => c.data));
}

/** The node's own upload (an agent may only add to its own captures). */
export async function findNodeUpload(db: Db, nodeId: number, pcapId: number): Promise<{ id: number; incidentId: number } | null> {
  if (!isRowId(pcapId)) return null;
  const [row] = await db
    .select({ id: pcaps.id, incidentId: pcaps.incidentId })
    .from(pcaps)
    .where(and(eq(pcaps.id, pcapId), eq(pcaps.nodeId, nodeId)));
  return row ?? null;
}

/** The workspace's captures (each with its node's uuid), newest first, and how many match. */
export async function listPcaps(db: Db, workspaceId: number, q: { incident_id?: number; limit: number; offset: number }): Promise<{ rows: Array<{ pcap: PcapRow; node: string }>; total: number }> {
  const where = and(eq(pcaps.workspaceId, workspaceId), q.incident_id ? eq(pcaps.incidentId, q.incident_id) : undefined);
  const [rows, [count]] = await Promise.all([
    db.select({ pcap: pcaps, node: nodes.uuid }).from(pcaps).innerJoin(nodes, eq(nodes.id, pcaps.nodeId)).where(where).orderBy(desc(pcaps.capturedAt), desc(pcaps.id)).limit(q.limit).offset(q.offset),
    db.select({ n: sql<number>`count(*)::int` }).from(pcaps).where(where),
  ]);
  return { rows, total: count!.n };
}

/** The workspace's capture with its incident's target (what the analysis is about). */
export async function findPcap(db: Db, workspaceId: number, pcapId: number): Promise<{ pcap: PcapRow; target: string } | null> {
  if (!isRowId(pcapId)) return null;
  const [row] = await db
    .select({ pcap: pcaps, target: incidents.targetIp })
    .from(pcaps)
    .innerJoin(incidents, eq(incidents.id, pcaps.incidentId))
    .where(and(eq(pcaps.id, pcapId), eq(pcaps.workspaceId, workspaceId)));
  return row ?? null;
}

export async function savePcapAnalysis(db: Db, pcapId: number, analysis: Record<string, unknown>): Promise<void> {
  await db.update(pcaps).set({ analysis }).where(eq(pcaps.id, pcapId));
}
