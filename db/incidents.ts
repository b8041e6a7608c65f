// Incidents and their timelines: what agents report (open, figures, resolve), what users
// list, and the one way to write a timeline entry (idempotent per dedupe key, for
// activities that may run twice).
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gte, sql } from 'drizzle-orm';
import { evidenceOf, type ReportedClassification as Classification } from '../domain/agent-protocol.js';
import type { AttackFamily } from '../domain/attack.js';
import type { Severity } from '../domain/escalation.js';
import { isRowId, type Db } from './client.js';
import { incidentEvents, incidents, nodes, type IncidentEventKind, type IncidentStatus } from './schema.js';

export type IncidentRow = typeof incidents.$inferSelect;
export type IncidentEventRow = typeof incidentEvents.$inferSelect;
type NodeRow = typeof nodes.$inferSelect;

export async function recordIncidentEvent(
  db: Db,
  incidentId: number,
  e: { kind: IncidentEventKind; message: string; detail: Record<string, unknown> | null; dedupeKey: string },
): Promise<void> {
  await db
    .insert(incidentEvents)
    .values({ incidentId, ...e })
    .onConflictDoNothing();
}

/**
 * Opens the node's incident for the agent's `ref`, or finds the one already open for it
 * (`opened` false): a retried open is the same incident.
 */
export async function openIncident(
  db: Db,
  node: NodeRow,
  report: { ref: string; targetIp: string; startedAt: Date; pps: number; bps: number; severity: Severity; classification: Classification | null },
): Promise<{ incident: IncidentRow; opened: boolean }> {
  const cls = report.classification;
  const [inserted] = await db
    .insert(incidents)
    .values({
      workspaceId: node.workspaceId,
      nodeId: node.id,
      agentRef: report.ref,
      targetIp: report.targetIp,
      severity: report.severity,
      family: cls?.family ?? 'unknown',
      subtype: cls?.subtype ?? null,
      confidence: cls?.confidence ?? null,
      ...(cls ? evidenceOf(cls) : {}),
      classification: cls,
      currentPps: report.pps,
      currentBps: report.bps,
      peakPps: report.pps,
      peakBps: report.bps,
      startedAt: report.startedAt,
    })
    .onConflictDoNothing()
    .returning();
  if (!inserted) return { incident: (await findNodeIncident(db, node.id, report.ref))!, opened: false };
  await recordIncidentEvent(db, inserted.id, {
    kind: 'opened',
    message: `${describeClassification(inserted)} on ${report.targetIp} reported by ${node.name}: ${report.pps} pps, ${report.bps} bps`,
    detail: { pps: report.pps, bps: report.bps },
    dedupeKey: 'opened',
  });
  if (cls && inserted.evidence === 'capture') await recordClassified(db, inserted);
  await db.update(nodes).set({ trafficState: 'attack', lastSeenAt: sql`now()` }).where(eq(nodes.id, node.id));
  return { incident: inserted, opened: true };
}

/** What of an incident's classification decides its tier rules: when it changes, the escalation revises them. */
export function decisionBasis(row: Pick<IncidentRow, 'family' | 'subtype' | 'verdict' | 'evidence' | 'classification'>): string {
  return JSON.stringify([row.family, row.subtype, row.verdict, row.evidence, row.classification?.signature ?? null]);
}

/** "tcp_flood (ack), attack, from 812 captured packets" / "syn_flood guessed from the counters". */
export function describeClassification(row: Pick<IncidentRow, 'family' | 'subtype' | 'verdict' | 'evidence' | 'classification'>): string {
  const what = `${row.family}${row.subtype ? ` (${row.subtype})` : ''}`;
  if (row.evidence === 'counters') return `${what} guessed from the counters`;
  return `${what}, ${row.verdict}, from ${Number(row.classification?.packets ?? 0)} captured packets`;
}

async function recordClassified(db: Db, row: IncidentRow): Promise<void> {
  const reasons = (row.classification?.reasons as string[] | undefined) ?? [];
  const signature = row.classification?.signature as { why?: string } | null | undefined;
  await recordIncidentEvent(db, row.id, {
    kind: 'classified',
    message: `classified: ${describeClassification(row)}${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
    detail: { family: row.family, subtype: row.subtype, verdict: row.verdict, evidence: row.evidence, confidence: row.confidence, reasons, signature: signature ?? null },
    // One entry per distinct classification per second: an agent's retried update adds none.
    dedupeKey: `classified:${createHash('sha256').update(decisionBasis(row)).digest('hex').slice(0, 16)}:${Math.floor(Date.now() / 1000)}`,
  });
}

/**
 * The agent's latest figures (peaks kept) and, when it has one, its classification;
 * `reclassified` when the classification changed what decides the tier rules (the timeline
 * says how).
 */
export async function updateIncidentFigures(
  db: Db,
  current: IncidentRow,
  figures: { pps: number; bps: number },
  cls: Classification | null,
): Promise<{ row: IncidentRow; reclassified: boolean }> {
  const [row] = await db
    .update(incidents)
    .set({
      currentPps: figures.pps,
      currentBps: figures.bps,
      peakPps: sql`greatest(${incidents.peakPps}, ${figures.pps})`,
      peakBps: sql`greatest(${incidents.peakBps}, ${figures.bps})`,
      ...(cls ? { family: cls.family, subtype: cls.subtype ?? null, confidence: cls.confidence ?? null, ...evidenceOf(cls), classification: cls } : {}),
    })
    .where(eq(incidents.id, current.id))
    .returning();
  const reclassified = cls !== null && decisionBasis(row!) !== decisionBasis(current);
  if (reclassified) await recordClassified(db, row!);
  return { row: row!, reclassified };
}

/** The agent reports the attack ended: the row says so now; the workflow steps down later. */
export async function resolveIncident(
  db: Db,
  incident: IncidentRow,
  endedAt: Date | null,
  why = 'the agent reports the attack ended; mitigation steps down after the hold-down',
): Promise<IncidentRow> {
  const [row] = await db
    .update(incidents)
    .set({ status: 'resolved', resolvedAt: endedAt ?? sql`now()`, currentPps: 0, currentBps: 0 })
    .where(eq(incidents.id, incident.id))
    .returning();
  await recordIncidentEvent(db, incident.id, {
    kind: 'resolved',
    message: why,
    detail: null,
    dedupeKey: 'resolved',
  });
  if (incident.nodeId !== null) await db.update(nodes).set({ trafficState: 'normal' }).where(eq(nodes.id, incident.nodeId));
  return row!;
}

/** The node's incident by its id. */
export async function findIncidentOfNode(db: Db, nodeId: number, id: number): Promise<IncidentRow | null> {
  if (!isRowId(id)) return null;
  const [row] = await db
    .select()
    .from(incidents)
    .where(and(eq(incidents.id, id), eq(incidents.nodeId, nodeId)));
  return row ?? null;
}

/** One of the node's open incidents, if it has any (its escalation may still hold rules). */
export async function openIncidentOf(db: Db, workspaceId: number, nodeUuid: string): Promise<{ id: number } | null> {
  const [open] = await db
    .select({ id: incidents.id })
    .from(incidents)
    .innerJoin(nodes, eq(nodes.id, incidents.nodeId))
    .where(and(eq(nodes.uuid, nodeUuid), eq(nodes.workspaceId, workspaceId), eq(incidents.status, 'open')))
    .limit(1);
  return open ?? null;
}

/** The node's incident by the agent's ref. */
export async function findNodeIncident(db: Db, nodeId: number, ref: string): Promise<IncidentRow | null> {
  const [row] = await db
    .select()
    .from(incidents)
    .where(and(eq(incidents.nodeId, nodeId), eq(incidents.agentRef, ref)));
  return row ?? null;
}

export interface IncidentFilter {
  node?: string;
  status?: IncidentStatus;
  severity?: Severity;
  family?: AttackFamily;
  since?: Date;
  limit: number;
  offset: number;
}

/** The workspace's incidents (each with its node's uuid), newest first, and how many match. */
export async function listIncidents(db: Db, workspaceId: number, f: IncidentFilter): Promise<{ rows: Array<{ incident: IncidentRow; node: string | null }>; total: number }> {
  const where = and(
    eq(incidents.workspaceId, workspaceId),
    f.node ? eq(nodes.uuid, f.node) : undefined,
    f.status ? eq(incidents.status, f.status) : undefined,
    f.severity ? eq(incidents.severity, f.severity) : undefined,
    f.family ? eq(incidents.family, f.family) : undefined,
    f.since ? gte(incidents.startedAt, f.since) : undefined,
  );
  const [rows, [count]] = await Promise.all([
    db
      .select({ incident: incidents, node: nodes.uuid })
      .from(incidents)
      .leftJoin(nodes, eq(nodes.id, incidents.nodeId))
      .where(where)
      .orderBy(desc(incidents.startedAt), desc(incidents.id))
      .limit(f.limit)
      .offset(f.offset),
    db.select({ n: sql<number>`count(*)::int` }).from(incidents).leftJoin(nodes, eq(nodes.id, incidents.nodeId)).where(where),
  ]);
  return { rows, total: count!.n };
}

/** The workspace's incident with its node's uuid. */
export async function findIncident(db: Db, workspaceId: number, id: number): Promise<{ incident: IncidentRow; node: string | null } | null> {
  if (!isRowId(id)) return null;
  const [row] = await db
    .select({ incident: incidents, node: nodes.uuid })
    .from(incidents)
    .leftJoin(nodes, eq(nodes.id, incidents.nodeId))
    .where(and(eq(incidents.id, id), eq(incidents.workspaceId, workspaceId)));
  return row ?? null;
}

/** Everything decided or done about the incident, in order. */
export async function incidentTimeline(db: Db, incidentId: number): Promise<IncidentEventRow[]> {
  return db.select().from(incidentEvents).where(eq(incidentEvents.incidentId, incidentId)).orderBy(asc(incidentEvents.at), asc(incidentEvents.id));
}
