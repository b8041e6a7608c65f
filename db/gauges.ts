// The figures Prometheus reads at scrape time (api/metrics.ts): counts across every
// workspace, never per tenant or per node, so the series stay few however many there are.
import { count, eq, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { NODE_STATUSES, nodeStatusSql, type NodeStatus } from './nodes.js';
import { incidents, mitigationRules, nodes, RULE_STATUSES, type RuleStatus } from './schema.js';
import { SEVERITIES, type Severity } from '../domain/escalation.js';

/** How long a node may have been silent to count in `silentNodes` (seconds). */
export const SILENCE_STEPS = [60, 300, 3600, 86400] as const;

export interface Gauges {
  rules: Record<RuleStatus, number>;
  openIncidents: Record<Severity, number>;
  nodes: Record<NodeStatus, number>;
  /** Nodes heard from once but not for at least that many seconds, per step of SILENCE_STEPS. */
  silentNodes: Map<number, number>;
  /** Nodes whose agent never reported. */
  neverSeenNodes: number;
}

/** Every key answers, zero included: a series that comes and goes breaks rate() and alerts. */
function counts<K extends string>(keys: readonly K[], rows: Array<{ key: K; n: number }>): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const r of rows) out[r.key] = r.n;
  return out;
}

export async function readGauges(db: Db): Promise<Gauges> {
  const silentFor = (s: number) => sql<number>`count(*) filter (where ${nodes.lastSeenAt} < now() - make_interval(secs => ${s}))`.mapWith(Number);
  const [rules, openIncidents, byStatus, silence] = await Promise.all([
    db.select({ key: mitigationRules.status, n: count() }).from(mitigationRules).groupBy(mitigationRules.status),
    db.select({ key: incidents.severity, n: count() }).from(incidents).where(eq(incidents.status, 'open')).groupBy(incidents.severity),
    // Grouped by position: the status expression carries a parameter, which PostgreSQL would not match twice.
    db.select({ key: nodeStatusSql, n: count() }).from(nodes).groupBy(sql`1`),
    db
      .select({ never: sql<number>`count(*) filter (where ${nodes.lastSeenAt} is null)`.mapWith(Number), steps: sql<number[]>`array[${sql.join(SILENCE_STEPS.map(silentFor), sql`, `)}]` })
      .from(nodes),
  ]);
  const [row] = silence;
  return {
    rules: counts(RULE_STATUSES, rules),
    openIncidents: counts(SEVERITIES, openIncidents),
    nodes: counts(NODE_STATUSES, byStatus),
    silentNodes: new Map(SILENCE_STEPS.map((s, i) => [s, Number(row?.steps[i] ?? 0)])),
    neverSeenNodes: row?.never ?? 0,
  };
}
