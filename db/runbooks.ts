// Runbooks of a workspace (deletion is soft: executions keep their runbook), their
// executions and each execution's step results, as the runbook workflow writes them.
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { syntheticContext, type RunbookContext } from '../domain/runbook-context.js';
import type { RunbookStep, TriggerConditions } from '../domain/runbook-schemas.js';
import { INT4_MAX, isRowId, type Db } from './client.js';
import { incidents, nodes, runbookExecutions, runbooks, runbookStepResults, type ExecutionStatus, type ExecutionTrigger, type StepStatus } from './schema.js';

export type RunbookRow = typeof runbooks.$inferSelect;
export type ExecutionRow = typeof runbookExecutions.$inferSelect;
export type StepResultRow = typeof runbookStepResults.$inferSelect;
export type RunbookValues = { name: string; description: string | null; triggerConditions: TriggerConditions; steps: RunbookStep[]; secretsEnc: string | null };

const live = (workspaceId: number) => and(eq(runbooks.workspaceId, workspaceId), isNull(runbooks.deletedAt));

export async function findRunbook(db: Db, workspaceId: number, id: number): Promise<RunbookRow | null> {
  if (!isRowId(id, INT4_MAX)) return null;
  const [row] = await db.select().from(runbooks).where(and(eq(runbooks.id, id), live(workspaceId)));
  return row ?? null;
}

/** By id alone, deleted or not: for the worker. */
export async function loadRunbook(db: Db, id: number): Promise<RunbookRow | null> {
  const [row] = await db.select().from(runbooks).where(eq(runbooks.id, id));
  return row ?? null;
}

export interface RunbookSummary {
  runbook: RunbookRow;
  executions: number;
  last: ExecutionRow | null;
}

/** The workspace's runbooks with their execution counts; `onlyId`: that one alone. */
export async function listRunbooks(db: Db, workspaceId: number, onlyId?: number): Promise<RunbookSummary[]> {
  const rows = await db
    .select()
    .from(runbooks)
    .where(and(live(workspaceId), onlyId === undefined ? undefined : eq(runbooks.id, onlyId)))
    .orderBy(runbooks.id);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const counts = await db
    .select({ runbookId: runbookExecutions.runbookId, n: sql<number>`count(*)::int`, last: sql<number>`max(${runbookExecutions.id})` })
    .from(runbookExecutions)
    .where(inArray(runbookExecutions.runbookId, ids))
    .groupBy(runbookExecutions.runbookId);
  const lastIds = counts.map((c) => Number(c.last));
  const lasts = lastIds.length ? await db.select().from(runbookExecutions).where(inArray(runbookExecutions.id, lastIds)) : [];
  return rows.map((runbook) => {
    const c = counts.find((x) => x.runbookId === runbook.id);
    return { runbook, executions: c?.n ?? 0, last: lasts.find((e) => e.runbookId === runbook.id) ?? null };
  });
}

/** Active runbooks of a workspace, for incident triggers. */
export async function activeRunbooks(db: Db, workspaceId: number): Promise<RunbookRow[]> {
  return db.select().from(runbooks).where(and(live(workspaceId), eq(runbooks.active, true))).orderBy(runbooks.id);
}

export async function createRunbook(db: Db, workspaceId: number, values: RunbookValues): Promise<RunbookRow> {
  const [row] = await db.insert(runbooks).values({ ...values, workspaceId }).returning();
  return row!;
}

export async function updateRunbook(db: Db, id: number, values: Partial<RunbookValues & { active: boolean }>): Promise<RunbookRow> {
  const [row] = await db.update(runbooks).set({ ...values, updatedAt: sql`now()` }).where(eq(runbooks.id, id)).returning();
  return row!;
}

export async function toggleRunbook(db: Db, id: number): Promise<RunbookRow> {
  const [row] = await db.update(runbooks).set({ active: sql`not ${runbooks.active}`, updatedAt: sql`now()` }).where(eq(runbooks.id, id)).returning();
  return row!;
}

export async function deleteRunbook(db: Db, id: number): Promise<void> {
  await db.update(runbooks).set({ deletedAt: sql`now()`, active: false }).where(eq(runbooks.id, id));
}

// ------------------------------------------------------------------ executions

export interface NewExecution {
  workspaceId: number;
  runbookId: number;
  incidentId: number | null;
  trigger: ExecutionTrigger;
  simulated: boolean;
  context: RunbookContext;
  steps: RunbookStep[];
  fromStep: number;
  retryOf: number | null;
}

/**
 * Records an execution with a pending result per step; null when the incident already
 * triggered this runbook (an incident triggers each runbook once).
 */
export async function createExecution(db: Db, e: NewExecution, workflowIdFor: (id: number) => string): Promise<ExecutionRow | null> {
  return db.transaction(async (tx) => {
    const [inserted] = await tx.insert(runbookExecutions).values({ ...e, workflowId: '' }).onConflictDoNothing().returning({ id: runbookExecutions.id });
    if (!inserted) return null;
    const executionId = inserted.id;
    const [row] = await tx.update(runbookExecutions).set({ workflowId: workflowIdFor(executionId) }).where(eq(runbookExecutions.id, executionId)).returning();
    if (!row) return null;
    // A retry's earlier steps ran in its predecessor.
    const carried = (i: number) => (i < e.fromStep ? { status: 'skipped' as const, output: `ran in execution ${e.retryOf}` } : {});
    await tx.insert(runbookStepResults).values(e.steps.map((s, i) => ({ executionId, stepIndex: i, actionType: s.action_type, ...carried(i) })));
    return row;
  });
}

export async function findExecution(db: Db, workspaceId: number, runbookId: number, id: number): Promise<ExecutionRow | null> {
  if (!isRowId(id) || !isRowId(runbookId, INT4_MAX)) return null;
  const [row] = await db
    .select()
    .from(runbookExecutions)
    .where(and(eq(runbookExecutions.id, id), eq(runbookExecutions.runbookId, runbookId), eq(runbookExecutions.workspaceId, workspaceId)));
  return row ?? null;
}

export async function loadExecution(db: Db, id: number): Promise<ExecutionRow | null> {
  const [row] = await db.select().from(runbookExecutions).where(eq(runbookExecutions.id, id));
  return row ?? null;
}

export async function listExecutions(db: Db, runbookId: number, limit: number): Promise<ExecutionRow[]> {
  return db.select().from(runbookExecutions).where(eq(runbookExecutions.runbookId, runbookId)).orderBy(desc(runbookExecutions.id)).limit(limit);
}

/** The executions an incident triggered (and their re-runs), oldest first. */
export async function listIncidentExecutions(db: Db, incidentId: number): Promise<ExecutionRow[]> {
  return db.select().from(runbookExecutions).where(eq(runbookExecutions.incidentId, incidentId)).orderBy(runbookExecutions.id);
}

export async function stepResults(db: Db, executionIds: number[]): Promise<StepResultRow[]> {
  if (executionIds.length === 0) return [];
  return db.select().from(runbookStepResults).where(inArray(runbookStepResults.executionId, executionIds)).orderBy(runbookStepResults.executionId, runbookStepResults.stepIndex);
}

/** A step's transition: `running` stamps its start; a final status its end. */
export async function setStepResult(db: Db, executionId: number, stepIndex: number, status: StepStatus, output: string | null, error: string | null): Promise<void> {
  const now = sql`now()`;
  await db
    .update(runbookStepResults)
    .set({
      status,
      output,
      error,
      ...(status === 'running' ? { startedAt: now } : { finishedAt: now, startedAt: sql`coalesce(${runbookStepResults.startedAt}, now())` }),
    })
    .where(and(eq(runbookStepResults.executionId, executionId), eq(runbookStepResults.stepIndex, stepIndex)));
}

/** The execution's end; steps never reached are recorded with `rest` (cancelled or skipped). */
export async function finishExecution(db: Db, executionId: number, status: Exclude<ExecutionStatus, 'running'>, error: string | null): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.update(runbookExecutions).set({ status, error, finishedAt: sql`now()` }).where(eq(runbookExecutions.id, executionId));
    await tx
      .update(runbookStepResults)
      .set({ status: status === 'cancelled' ? 'cancelled' : 'skipped', finishedAt: sql`now()` })
      .where(and(eq(runbookStepResults.executionId, executionId), inArray(runbookStepResults.status, ['pending', 'running'])));
  });
}

/** An incident as a runbook sees it, at `tier`. */
export async function incidentContext(db: Db, incidentId: number, tier: number): Promise<{ workspaceId: number; context: RunbookContext } | null> {
  const [row] = await db.select({ incident: incidents, node: nodes }).from(incidents).leftJoin(nodes, eq(nodes.id, incidents.nodeId)).where(eq(incidents.id, incidentId));
  if (!row) return null;
  const { incident: i, node } = row;
  return {
    workspaceId: i.workspaceId,
    context: {
      incidentId: i.id,
      family: i.family,
      subtype: i.subtype,
      severity: i.severity,
      pps: i.currentPps,
      bps: i.currentBps,
      tier,
      // A prefix incident has no node: its runbooks run simulated (nothing on a host is touched).
      nodeId: node?.id ?? null,
      nodeUuid: node?.uuid ?? null,
      nodeName: node?.name ?? null,
      target: i.targetIp,
      startedAt: i.startedAt.toISOString(),
    },
  };
}

/**
 * A manual run against a node: its open incident if it has one; otherwise the node as the
 * target of a synthetic attack (steps run for real on it).
 */
export async function nodeContext(db: Db, node: typeof nodes.$inferSelect, now: Date): Promise<RunbookContext> {
  const [open] = await db.select({ id: incidents.id, tier: incidents.tier }).from(incidents).where(and(eq(incidents.nodeId, node.id), eq(incidents.status, 'open'))).orderBy(desc(incidents.id)).limit(1);
  const fromIncident = open ? await incidentContext(db, open.id, open.tier) : null;
  if (fromIncident) return fromIncident.context;
  return { ...syntheticContext(now), nodeId: node.id, nodeUuid: node.uuid, nodeName: node.name, target: node.ip, pps: node.lastPps ?? 0, bps: node.lastBps ?? 0, tier: 0, severity: 'low' };
}
