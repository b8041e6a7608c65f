// Carpet bombing: an attack spread over a prefix, no host of which crosses its own
// threshold while the prefix does. The nodes' per-second metrics are summed per prefix that
// has a threshold of its own (host_thresholds with a prefix target), and one incident, of
// the prefix, answers it.
import { and, eq, sql } from 'drizzle-orm';
import type { Severity } from '../domain/escalation.js';
import { rowsOf, type Db } from './client.js';
import { recordIncidentEvent, type IncidentRow } from './incidents.js';
import { hostThresholds, incidents } from './schema.js';

/** How far back a node's metrics count toward its prefix: agents send a batch every 5 s. */
export const PREFIX_WINDOW_SECONDS = 10;

/** The prefixes with aggregate thresholds (their nodes summed) that contain `ip`. */
export async function watchedPrefixes(db: Db, workspaceId: number, ip: string): Promise<string[]> {
  const rows = await db
    .select({ target: hostThresholds.targetIp })
    .from(hostThresholds)
    .where(
      and(
        eq(hostThresholds.workspaceId, workspaceId),
        eq(hostThresholds.aggregate, true),
        sql`${hostThresholds.targetIp}::inet >>= ${ip}::inet`,
      ),
    );
  return rows.map((r) => r.target);
}

export interface PrefixLoad {
  pps: number;
  bps: number;
  /** Nodes within the prefix that reported in the window. */
  nodes: number;
}

/** The prefix's traffic: each of its nodes' peak second in the window, summed. */
export async function prefixLoad(db: Db, workspaceId: number, prefix: string): Promise<PrefixLoad> {
  const result = await db.execute(sql`
    select coalesce(sum(m.pps), 0) as pps, coalesce(sum(m.bps), 0) as bps, count(m.pps) as nodes
    from nodes n
    cross join lateral (
      select max(pps) as pps, max(bps) as bps from node_metrics
      where node_id = n.id and at > now() - make_interval(secs => ${PREFIX_WINDOW_SECONDS})
    ) m
    where n.workspace_id = ${workspaceId} and n.ip::inet <<= ${prefix}::inet and m.pps is not null`);
  const [row] = rowsOf<{ pps: string | number; bps: string | number; nodes: string | number }>(result);
  return { pps: Number(row?.pps ?? 0), bps: Number(row?.bps ?? 0), nodes: Number(row?.nodes ?? 0) };
}

export async function findOpenPrefixIncident(db: Db, workspaceId: number, prefix: string): Promise<IncidentRow | null> {
  const [row] = await db
    .select()
    .from(incidents)
    .where(and(eq(incidents.workspaceId, workspaceId), eq(incidents.targetIp, prefix), eq(incidents.scope, 'prefix'), eq(incidents.status, 'open')));
  return row ?? null;
}

/** Opens the prefix's incident, or finds the one a concurrent batch opened (`opened` false). */
export async function openPrefixIncident(db: Db, workspaceId: number, prefix: string, load: PrefixLoad, severity: Severity): Promise<{ incident: IncidentRow; opened: boolean }> {
  const now = new Date();
  const [inserted] = await db
    .insert(incidents)
    .values({
      workspaceId,
      nodeId: null,
      scope: 'prefix',
      agentRef: `prefix:${prefix}:${now.getTime()}`,
      targetIp: prefix,
      severity,
      family: 'unknown',
      currentPps: load.pps,
      currentBps: load.bps,
      peakPps: load.pps,
      peakBps: load.bps,
      startedAt: now,
    })
    .onConflictDoNothing()
    .returning();
  if (!inserted) return { incident: (await findOpenPrefixIncident(db, workspaceId, prefix))!, opened: false };
  await recordIncidentEvent(db, inserted.id, {
    kind: 'opened',
    message: `carpet bombing of ${prefix}: ${load.nodes} nodes together at ${load.pps} pps, ${load.bps} bps, over the prefix's threshold`,
    detail: { ...load },
    dedupeKey: 'opened',
  });
  return { incident: inserted, opened: true };
}

/** The prefix's nodes that reported in the window, the busiest first: where its captures run. */
export async function busiestPrefixNodes(db: Db, workspaceId: number, prefix: string, limit: number): Promise<Array<{ id: number; uuid: string; name: string }>> {
  const result = await db.execute(sql`
    select n.id, n.uuid, n.name from nodes n
    cross join lateral (
      select max(pps) as pps from node_metrics
      where node_id = n.id and at > now() - make_interval(secs => ${PREFIX_WINDOW_SECONDS})
    ) m
    where n.workspace_id = ${workspaceId} and n.ip::inet <<= ${prefix}::inet and m.pps is not null
    order by m.pps desc, n.id
    limit ${limit}`);
  return rowsOf<{ id: number | string; uuid: string; name: string }>(result).map((r) => ({ id: Number(r.id), uuid: r.uuid, name: r.name }));
}
