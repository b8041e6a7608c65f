// Attack-profile roll-outs and what each node has installed: the rows the roll-out
// workflow's activities write (activities/profile-rollout.ts) and the API reads.
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { RolloutNodeState, RolloutOutcome, RolloutTarget } from '../domain/profile-rollout.js';
import type { Db } from './client.js';
import { nodeStatusSql } from './nodes.js';
import { nodeProfiles, nodes, profileRolloutNodes, profileRollouts } from './schema.js';

export type RolloutRow = typeof profileRollouts.$inferSelect;
export type NewRollout = Pick<typeof profileRollouts.$inferInsert, 'uuid' | 'workspaceId' | 'action' | 'profileId' | 'suite' | 'customRules' | 'target' | 'workflowId'>;

export interface RolloutNodeRow {
  nodeUuid: string;
  nodeName: string;
  state: RolloutNodeState;
  detail: string | null;
  commandWorkflowId: string | null;
  updatedAt: Date;
}

export async function createRollout(db: Db, values: NewRollout): Promise<RolloutRow> {
  const [row] = await db.insert(profileRollouts).values(values).returning();
  return row!;
}

export async function findRollout(db: Db, workspaceId: number, uuid: string): Promise<{ rollout: RolloutRow; nodes: RolloutNodeRow[] } | null> {
  const [rollout] = await db
    .select()
    .from(profileRollouts)
    .where(and(eq(profileRollouts.workspaceId, workspaceId), eq(profileRollouts.uuid, uuid)));
  if (!rollout) return null;
  return { rollout, nodes: await rolloutNodes(db, rollout.id) };
}

export async function listRollouts(db: Db, workspaceId: number, limit: number): Promise<RolloutRow[]> {
  return db.select().from(profileRollouts).where(eq(profileRollouts.workspaceId, workspaceId)).orderBy(desc(profileRollouts.id)).limit(limit);
}

async function rolloutNodes(db: Db, rolloutId: number): Promise<RolloutNodeRow[]> {
  return db
    .select({
      nodeUuid: nodes.uuid,
      nodeName: nodes.name,
      state: profileRolloutNodes.state,
      detail: profileRolloutNodes.detail,
      commandWorkflowId: profileRolloutNodes.commandWorkflowId,
      updatedAt: profileRolloutNodes.updatedAt,
    })
    .from(profileRolloutNodes)
    .innerJoin(nodes, eq(nodes.id, profileRolloutNodes.nodeId))
    .where(eq(profileRolloutNodes.rolloutId, rolloutId))
    .orderBy(asc(nodes.name));
}

/** The workspace's nodes among these UUIDs (the API checks them before starting a roll-out). */
export async function nodesByUuid(db: Db, workspaceId: number, uuids: string[]): Promise<Array<{ id: number; uuid: string }>> {
  if (uuids.length === 0) return [];
  return db.select({ id: nodes.id, uuid: nodes.uuid }).from(nodes).where(and(eq(nodes.workspaceId, workspaceId), inArray(nodes.uuid, uuids)));
}

export async function countNodes(db: Db, workspaceId: number): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(nodes).where(eq(nodes.workspaceId, workspaceId));
  return row?.n ?? 0;
}

/**
 * The roll-out's nodes, fixed once: its target resolved ("all": the workspace's nodes now),
 * each recorded pending. A retried activity finds them recorded and answers the same nodes.
 */
export async function resolveRolloutNodes(db: Db, rolloutId: number): Promise<RolloutTarget[]> {
  return db.transaction(async (tx) => {
    const [rollout] = await tx.select().from(profileRollouts).where(eq(profileRollouts.id, rolloutId)).for('update');
    if (!rollout) throw new Error(`roll-out ${rolloutId} not found`);
    const recorded = await tx.select({ nodeId: profileRolloutNodes.nodeId }).from(profileRolloutNodes).where(eq(profileRolloutNodes.rolloutId, rolloutId));
    if (recorded.length === 0) {
      const ws = eq(nodes.workspaceId, rollout.workspaceId);
      const targets = await tx
        .select({ id: nodes.id })
        .from(nodes)
        .where(rollout.target === 'all' ? ws : and(ws, inArray(nodes.uuid, rollout.target)));
      if (targets.length > 0) await tx.insert(profileRolloutNodes).values(targets.map((t) => ({ rolloutId, nodeId: t.id })));
    }
    const rows = await tx
      .select({ nodeId: nodes.id, nodeUuid: nodes.uuid, status: nodeStatusSql, profileId: nodeProfiles.profileId, suite: nodeProfiles.suite })
      .from(profileRolloutNodes)
      .innerJoin(nodes, eq(nodes.id, profileRolloutNodes.nodeId))
      .leftJoin(nodeProfiles, eq(nodeProfiles.nodeId, nodes.id))
      .where(eq(profileRolloutNodes.rolloutId, rolloutId))
      .orderBy(asc(nodes.id));
    return rows.map((r) => ({
      nodeId: r.nodeId,
      nodeUuid: r.nodeUuid,
      online: r.status !== 'offline',
      current: r.profileId && r.suite ? { profileId: r.profileId, suite: r.suite } : null,
    }));
  });
}

/** A node's outcome, and what the node has installed since. */
export async function recordRolloutNode(
  db: Db,
  rolloutId: number,
  nodeId: number,
  outcome: RolloutOutcome,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .update(profileRolloutNodes)
      .set({ state: outcome.state, detail: outcome.detail, commandWorkflowId: outcome.commandWorkflowId, updatedAt: sql`now()` })
      .where(and(eq(profileRolloutNodes.rolloutId, rolloutId), eq(profileRolloutNodes.nodeId, nodeId)));
    if (outcome.installed === null) await tx.delete(nodeProfiles).where(eq(nodeProfiles.nodeId, nodeId));
    else if (outcome.installed) {
      const values = { profileId: outcome.installed.profileId, suite: outcome.installed.suite, rolloutId, appliedAt: sql`now()` };
      await tx
        .insert(nodeProfiles)
        .values({ nodeId, ...values })
        .onConflictDoUpdate({ target: nodeProfiles.nodeId, set: values });
    }
  });
}

export async function finishRollout(db: Db, rolloutId: number): Promise<void> {
  await db.update(profileRollouts).set({ status: 'completed', finishedAt: sql`now()` }).where(eq(profileRollouts.id, rolloutId));
}
