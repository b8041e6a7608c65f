// Nodes: their keys, the status users see, and what their agents report of them.
import { randomBytes } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { HeartbeatBody, MetricsBody } from '../domain/agent-protocol.js';
import { isUniqueViolation, type Db } from './client.js';
import { hashToken } from './workspaces.js';
import { nodeMetrics, nodes, nodeSecurityEvents, type NodeSecurityEventKind } from './schema.js';

/** A node that has not been heard from for this long is offline. */
export const OFFLINE_AFTER_SECONDS = 60;

export const NODE_STATUSES = ['online', 'offline', 'attack', 'elevated'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** The status users filter by, derived in SQL so filters and answers agree. */
export const nodeStatusSql = sql<NodeStatus>`case
  when ${nodes.lastSeenAt} is null or ${nodes.lastSeenAt} < now() - make_interval(secs => ${OFFLINE_AFTER_SECONDS}) then 'offline'
  when ${nodes.trafficState} = 'attack' then 'attack'
  when ${nodes.trafficState} = 'elevated' then 'elevated'
  else 'online' end`;

/** A new node key: shown once, stored as its SHA-256 like deploy tokens. */
export function newNodeKey(): { key: string; hash: string } {
  const key = randomBytes(32).toString('hex');
  return { key, hash: hashToken(key) };
}

export type NodeRow = typeof nodes.$inferSelect;

/** What the agent's heartbeat says; fields it leaves out keep their values. */
export async function recordHeartbeat(db: Db, nodeId: number, hb: z.infer<typeof HeartbeatBody>): Promise<void> {
  await db
    .update(nodes)
    .set({
      lastSeenAt: sql`now()`,
      trafficState: hb.traffic_state,
      ...(hb.agent_version !== undefined ? { agentVersion: hb.agent_version } : {}),
      ...(hb.interface !== undefined ? { interface: hb.interface } : {}),
      ...(hb.pps !== undefined ? { lastPps: hb.pps } : {}),
      ...(hb.bps !== undefined ? { lastBps: hb.bps } : {}),
      ...(hb.protocol_mix !== undefined ? { protocolMix: hb.protocol_mix } : {}),
      ...(hb.baseline !== undefined ? { baseline: hb.baseline } : {}),
    })
    .where(eq(nodes.id, nodeId));
}

/**
 * Stores a batch of per-second samples, one per node and second (the time truncated to
 * its second: a resent second, or a second sent twice with other milliseconds, is kept
 * once, so a node stores at most 86,400 rows a day); the newest becomes the node's figures.
 */
export async function storeMetrics(db: Db, nodeId: number, samples: z.infer<typeof MetricsBody>['samples']): Promise<number> {
  const second = (iso: string) => new Date(Math.floor(Date.parse(iso) / 1000) * 1000);
  const rows = samples.map((s) => ({ nodeId, at: second(s.at), pps: s.pps, bps: s.bps, protocolMix: s.protocol_mix ?? null }));
  const stored = await db.insert(nodeMetrics).values(rows).onConflictDoNothing().returning({ at: nodeMetrics.at });
  const last = rows.reduce((a, b) => (b.at > a.at ? b : a));
  await db
    .update(nodes)
    .set({ lastSeenAt: sql`now()`, lastPps: last.pps, lastBps: last.bps, ...(last.protocolMix ? { protocolMix: last.protocolMix } : {}) })
    .where(eq(nodes.id, nodeId));
  return stored.length;
}

const withStatus = { node: nodes, status: nodeStatusSql };
type NodeWithStatus = { node: NodeRow; status: NodeStatus };

/** Registers a node and answers its key (only here); null when the name is taken. */
export async function createNode(
  db: Db,
  workspaceId: number,
  n: Pick<NodeRow, 'name' | 'ip' | 'location' | 'os' | 'interface'> & Partial<Pick<NodeRow, 'prefixes'>>,
): Promise<{ node: NodeRow; key: string } | null> {
  const { key, hash } = newNodeKey();
  const [node] = await db
    .insert(nodes)
    .values({ workspaceId, ...n, keyHash: hash })
    .onConflictDoNothing()
    .returning();
  return node ? { node, key } : null;
}

export async function listNodes(db: Db, workspaceId: number, q: { status?: NodeStatus; limit: number; offset: number }): Promise<{ rows: NodeWithStatus[]; total: number }> {
  const where = and(eq(nodes.workspaceId, workspaceId), q.status ? sql`${nodeStatusSql} = ${q.status}` : undefined);
  const [rows, [count]] = await Promise.all([
    db.select(withStatus).from(nodes).where(where).orderBy(desc(nodes.id)).limit(q.limit).offset(q.offset),
    db.select({ n: sql<number>`count(*)::int` }).from(nodes).where(where),
  ]);
  return { rows, total: count!.n };
}

export async function findNode(db: Db, workspaceId: number, uuid: string): Promise<NodeWithStatus | null> {
  const [row] = await db
    .select(withStatus)
    .from(nodes)
    .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, workspaceId)));
  return row ?? null;
}

/** null: no such node; 'name_taken': another node of the workspace has the new name. */
export async function updateNode(
  db: Db,
  workspaceId: number,
  uuid: string,
  changes: Partial<Pick<NodeRow, 'name' | 'ip' | 'prefixes' | 'location' | 'os' | 'interface'>>,
): Promise<NodeWithStatus | 'name_taken' | null> {
  let row: NodeRow | undefined;
  try {
    [row] = await db
      .update(nodes)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, workspaceId)))
      .returning();
  } catch (err) {
    if (isUniqueViolation(err)) return 'name_taken';
    throw err;
  }
  if (!row) return null;
  const [status] = await db.select({ s: nodeStatusSql }).from(nodes).where(eq(nodes.id, row.id));
  return { node: row, status: status!.s };
}

/** Its key stops working at once; its incidents and metrics go with it. */
export async function deleteNode(db: Db, workspaceId: number, uuid: string): Promise<boolean> {
  const rows = await db
    .delete(nodes)
    .where(and(eq(nodes.uuid, uuid), eq(nodes.workspaceId, workspaceId)))
    .returning({ uuid: nodes.uuid });
  return rows.length > 0;
}

/** Something the node's key was used for and refused (shown on GET /nodes/{uuid}). */
export async function recordSecurityEvent(db: Db, nodeId: number, kind: NodeSecurityEventKind, message: string): Promise<void> {
  await db.insert(nodeSecurityEvents).values({ nodeId, kind, message });
}

/** The node's latest security events, newest first. */
export async function recentSecurityEvents(db: Db, nodeId: number, limit = 20) {
  return db
    .select({ at: nodeSecurityEvents.at, kind: nodeSecurityEvents.kind, message: nodeSecurityEvents.message })
    .from(nodeSecurityEvents)
    .where(eq(nodeSecurityEvents.nodeId, nodeId))
    .orderBy(desc(nodeSecurityEvents.id))
    .limit(limit);
}
