// Carpet bombing: an attack spread over a prefix, no host of which crosses its own
// threshold while the prefix does. The nodes' per-second metrics are summed per prefix that
// has an aggregate threshold (host_thresholds with `aggregate`), and one incident, of the
// prefix, answers it.
import { and, eq, sql } from 'drizzle-orm';
import type { HostThreshold, Severity } from '../domain/escalation.js';
import { rowsOf, type Db } from './client.js';
import { recordIncidentEvent, type IncidentRow } from './incidents.js';
import { hostThresholds, incidents } from './schema.js';

/** How far back a node's metrics count toward its prefix: agents send a batch every 5 s. */
export const PREFIX_WINDOW_SECONDS = 10;

/** The aggregate thresholds (prefixes whose nodes are summed) of prefixes that contain `ip`. */
export async function watchedPrefixes(db: Db, workspaceId: number, ip: string): Promise<HostThreshold[]> {
  return db
    .select({ target: hostThresholds.targetIp, thresholds: hostThresholds.thresholds, aggregate: hostThresholds.aggregate })
    .from(hostThresholds)
    .where(and(eq(hostThresholds.workspaceId, workspaceId), eq(hostThresholds.aggregate, true), sql`${hostThresholds.targetIp}::inet >>= ${ip}::inet`));
}

export interface PrefixNode {
  id: number;
  uuid: string;
  name: string;
  /** The node's peak second in the window. */
  pps: number;
  bps: number;
}

/** The prefix's nodes that reported in the window, with their peak second, the busiest first. */
export async function prefixNodes(db: Db, workspaceId: number, prefix: string): Promise<PrefixNode[]> {
  const result = await db.execute(sql`
    select n.id, n.uuid, n.name, m.pps, m.bps from nodes n
    cross join lateral (
      select max(pps) as pps, max(bps) as bps from node_metrics
      where node_id = n.id and at > now() - make_interval(secs => ${PREFIX_WINDOW_SECONDS})
    ) m
    where n.workspace_id = ${workspaceId} and n.ip::inet <<= ${prefix}::inet and m.pps is not null
    order by m.pps desc, n.id`);
  type Row = { id: number | string; uuid: string; name: string; pps: number | string; bps: number | string };
  return rowsOf<Row>(result).map((r) => ({ id: Number(r.id), uuid: r.uuid, name: r.name, pps: Number(r.pps), bps: Number(r.bps) }));
}

export interface PrefixLoad {
  pps: number;
  bps: number;
  /** Nodes within the prefix that reported in the window. */
  nodes: number;
}

/** The prefix's traffic: each of its nodes' peak second in the window, summed. */
export function prefixLoad(nodes: PrefixNode[]): PrefixLoad {
  return { pps: nodes.reduce((s, n) => s + n.pps, 0), bps: nodes.reduce((s, n) => s + n.bps, 0), nodes: nodes.length };
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
