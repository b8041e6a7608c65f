// Requesting mitigation rules: the one path every entry point takes (POST
// /mitigation/rules, an incident's tiers, geo lockdown): the adapter and whether it can
// announce the intent, the allowlist (network reach, db/allowlist.ts), the safety rails
// (domain/build-intent.ts), and the pending row whose workflow the caller then starts.
// Scrubbing rules take the same shape through their integration (requestDiversionRule).
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { adapterRefusal, type IntentType } from '../domain/adapter-types.js';
import { buildIntent, type IntentRequest } from '../domain/build-intent.js';
import { routeKey, type MitigationIntent, type ScrubbingIntent } from '../domain/intent.js';
import { formatPrefix, mustParsePrefix, parsePrefix, prefixContains } from '../domain/prefix.js';
import { refuseDiversion } from '../domain/scrubbing.js';
import { findAdapter, type AdapterRow } from './adapters.js';
import { loadAllowlist } from './allowlist.js';
import { isRowId, type Db } from './client.js';
import { findScrubbing, type ScrubbingRow } from './scrubbing.js';
import { LIVE_RULE_STATUSES, mitigationRules, routeRepairs, type RepairKind } from './schema.js';

export type RuleRow = typeof mitigationRules.$inferSelect;

export interface RuleRequest {
  workspaceId: number;
  adapterId: number;
  /** What to announce: one intent, or many with the same TTL and reason (geo lockdown). */
  intents: IntentRequest[];
  ttl: number;
  reason: string | null;
  /** The incident whose escalation asks: a retry finds the pending rules its first attempt made. */
  incidentId?: number;
  /** A bulk request's: the rule batch workflow that will hold the rules (rule-batch.contract.ts). */
  workflowId?: string;
  /** Check everything, insert nothing. */
  dryRun?: boolean;
}

export type RuleRefusal = {
  outcome: 'refused';
  /** busy: the integration diverts already, by hand (a rule would end what it did not start). */
  code: 'not_found' | 'unsupported' | 'unsafe' | 'busy';
  /** The request field at fault, where one is. */
  field: string | null;
  reason: string;
};

/**
 * `rules`: the pending rows whose workflows to start, in the order asked. `conflicts`: live
 * rules of others that already hold a requested route on the adapter (withdrawing either
 * would pull the route from under the other), so nothing was inserted for those.
 */
export type RulesRequested = { outcome: 'requested'; adapter: AdapterRow; rules: RuleRow[]; conflicts: RuleRow[] };

export type RuleRequestResult = RuleRefusal | { outcome: 'dry_run'; adapter: AdapterRow; intents: MitigationIntent[] } | RulesRequested;

/** Checks the whole request before inserting anything: refused as a whole, or requested. */
export async function requestRules(db: Db, req: RuleRequest & { dryRun?: false }): Promise<RuleRefusal | RulesRequested>;
export async function requestRules(db: Db, req: RuleRequest): Promise<RuleRequestResult>;
export async function requestRules(db: Db, req: RuleRequest): Promise<RuleRequestResult> {
  const refuse = (code: RuleRefusal['code'], field: string | null, reason: string): RuleRefusal => ({ outcome: 'refused', code, field, reason });
  // Both at once: one round trip fewer on every rule's POST.
  const [adapter, allowlist] = await Promise.all([findAdapter(db, req.workspaceId, req.adapterId), loadAllowlist(db, req.workspaceId, 'network')]);
  if (!adapter) return refuse('not_found', 'adapter_id', `adapter ${req.adapterId} not found`);
  const kinds = new Set<IntentType>(req.intents.map((i) => i.kind));
  for (const kind of kinds) {
    const refusal = adapterRefusal(adapter, kind);
    if (refusal) return refuse(refusal.code, refusal.code === 'unsupported' ? 'intent_type' : null, refusal.reason);
  }

  const intents: MitigationIntent[] = [];
  for (const wanted of req.intents) {
    const built = buildIntent(wanted, adapter.config, allowlist);
    if (!built.ok) return refuse('unsafe', built.field, built.reason);
    intents.push(built.intent);
  }
  if (req.dryRun) return { outcome: 'dry_run', adapter, intents };

  const rules: RuleRow[] = [];
  const conflicts: RuleRow[] = [];
  // One statement inserts every route no live rule holds (a bulk request carries 1,024);
  // the rest, one at a time, find who holds them.
  const fresh = await insertRules(db, req, adapter.id, intents);
  const asked = new Set<string>();
  for (const intent of intents) {
    // A target asked twice in one request is one rule, answered once.
    if (asked.has(routeKey(intent))) continue;
    asked.add(routeKey(intent));
    const row = fresh.get(routeKey(intent));
    if (row) {
      rules.push(row);
      continue;
    }
    // A live rule that ended between the insert and the lookup freed its route: try again.
    let inserted = await insertRule(db, req, adapter.id, intent);
    if (!inserted.ok && !inserted.live) inserted = await insertRule(db, req, adapter.id, intent);
    if (inserted.ok) rules.push(inserted.rule);
    // The incident's own: its first attempt made it (pending: the caller starts its
    // workflow), or an earlier run of its workflow did (active: the caller adopts it, so
    // it is withdrawn when the incident steps down).
    else if (req.incidentId !== undefined && inserted.live?.incidentId === req.incidentId && inserted.live.status !== 'withdrawing') rules.push(inserted.live);
    else if (inserted.live) conflicts.push(inserted.live);
  }
  return { outcome: 'requested', adapter, rules, conflicts };
}

export interface DiversionRequest {
  workspaceId: number;
  scrubbingId: number;
  /** What the rule diverts: an address or prefix within the integration's prefixes. */
  target: string;
  ttl: number;
  reason: string | null;
  incidentId?: number;
  dryRun?: boolean;
}

/** `rule` null: `conflict`, a live rule of another, holds the integration's diversion already. */
export type DiversionRequested = { outcome: 'requested'; integration: ScrubbingRow; rule: RuleRow | null; conflict: RuleRow | null };

/**
 * A scrubbing rule: the integration's diversion, held by a rule row (and its workflow)
 * like a route. The target must lie within what the integration diverts, and nothing the
 * diversion covers may be allowlisted.
 */
export async function requestDiversionRule(db: Db, req: DiversionRequest & { dryRun?: false }): Promise<RuleRefusal | DiversionRequested>;
export async function requestDiversionRule(db: Db, req: DiversionRequest): Promise<RuleRefusal | { outcome: 'dry_run'; integration: ScrubbingRow } | DiversionRequested>;
export async function requestDiversionRule(db: Db, req: DiversionRequest): Promise<RuleRefusal | { outcome: 'dry_run'; integration: ScrubbingRow } | DiversionRequested> {
  const refuse = (code: RuleRefusal['code'], field: string | null, reason: string): RuleRefusal => ({ outcome: 'refused', code, field, reason });
  const integration = await findScrubbing(db, req.workspaceId, req.scrubbingId);
  if (!integration) return refuse('not_found', 'scrubbing_id', `scrubbing integration ${req.scrubbingId} not found`);
  const parsed = parsePrefix(req.target);
  if (!parsed.ok) return refuse('unsafe', 'target_ip', parsed.reason);
  const target = formatPrefix(parsed.prefix);
  if (!integration.config.prefixes.some((p) => prefixContains(mustParsePrefix(p), parsed.prefix))) {
    return refuse('unsafe', 'target_ip', `${target} lies outside what integration ${integration.id} diverts (${integration.config.prefixes.join(', ')})`);
  }
  const refused = refuseDiversion(integration, await loadAllowlist(db, req.workspaceId, 'network'));
  if (refused) return refuse('unsafe', 'scrubbing_id', `the diversion is refused: ${refused}`);
  if (req.dryRun) return { outcome: 'dry_run', integration };

  const intent: ScrubbingIntent = { kind: 'scrubbing', integrationId: integration.id, target };
  const values = { workspaceId: req.workspaceId, scrubbingId: integration.id, targetIp: target, intentType: 'scrubbing' as const, intent, routeKey: routeKey(intent), ttl: req.ttl, reason: req.reason, incidentId: req.incidentId ?? null };
  const [rule] = await db.insert(mitigationRules).values(values).onConflictDoNothing().returning();
  if (rule) {
    // Diverting by hand already (POST /scrubbing/{id}/announce): the rule would end a diversion it did not start.
    if (integration.status !== 'inactive' && integration.status !== 'failed') {
      await db.delete(mitigationRules).where(eq(mitigationRules.id, rule.id));
      return refuse('busy', 'scrubbing_id', `integration ${integration.id} is ${integration.status} by hand (workflow ${integration.workflowId ?? '?'}); withdraw that diversion first`);
    }
    return { outcome: 'requested', integration, rule, conflict: null };
  }
  const [live] = await db.select().from(mitigationRules).where(and(eq(mitigationRules.scrubbingId, integration.id), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])));
  // The incident's own (its first attempt, or an earlier run): adopted, as for routes.
  if (live && req.incidentId !== undefined && live.incidentId === req.incidentId && live.status !== 'withdrawing') return { outcome: 'requested', integration, rule: live, conflict: null };
  return { outcome: 'requested', integration, rule: null, conflict: live ?? null };
}

/** The workspace's rules that hold (or are announcing or withdrawing) a route, newest first. */
export async function listLiveRules(db: Db, workspaceId: number): Promise<RuleRow[]> {
  return db
    .select()
    .from(mitigationRules)
    .where(and(eq(mitigationRules.workspaceId, workspaceId), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])))
    .orderBy(desc(mitigationRules.id));
}

/**
 * A page of the workspace's live rules, newest first, and how many there are (the count is
 * an index-only scan of `mitigation_rules_ws_status_idx`; bench/rules-list.ts measures both).
 */
export async function listLiveRulesPage(db: Db, workspaceId: number, page: { limit: number; offset: number }): Promise<{ rows: RuleRow[]; total: number }> {
  const where = and(eq(mitigationRules.workspaceId, workspaceId), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES]));
  const [rows, [count]] = await Promise.all([
    db.select().from(mitigationRules).where(where).orderBy(desc(mitigationRules.id)).limit(page.limit).offset(page.offset),
    db.select({ n: sql<number>`count(*)::int` }).from(mitigationRules).where(where),
  ]);
  return { rows, total: count!.n };
}

/** The workspace's ended rules, the most recently ended first. */
export async function listEndedRules(db: Db, workspaceId: number, limit: number): Promise<RuleRow[]> {
  return db
    .select()
    .from(mitigationRules)
    // Spelled as the partial index mitigation_rules_ended_idx is, so that the planner uses it.
    .where(and(eq(mitigationRules.workspaceId, workspaceId), sql`${mitigationRules.status} in ('withdrawn', 'expired', 'failed')`))
    .orderBy(sql`${mitigationRules.endedAt} desc nulls last`, desc(mitigationRules.id))
    .limit(limit);
}

/** The rules an incident's escalation requested, oldest first. */
export async function listIncidentRules(db: Db, incidentId: number): Promise<RuleRow[]> {
  return db.select().from(mitigationRules).where(eq(mitigationRules.incidentId, incidentId)).orderBy(asc(mitigationRules.id));
}

/** What the reconciler repaired of the rule's route, oldest first. */
export async function listRuleRepairs(db: Db, ruleId: number): Promise<Array<{ at: Date; kind: RepairKind }>> {
  return db.select({ at: routeRepairs.at, kind: routeRepairs.kind }).from(routeRepairs).where(eq(routeRepairs.ruleId, ruleId)).orderBy(asc(routeRepairs.id));
}

/** The rule's row, in its workspace. */
export async function findRule(db: Db, workspaceId: number, id: number): Promise<RuleRow | null> {
  if (!isRowId(id)) return null;
  const [row] = await db
    .select()
    .from(mitigationRules)
    .where(and(eq(mitigationRules.id, id), eq(mitigationRules.workspaceId, workspaceId)));
  return row ?? null;
}

/** The workspace's rules of these ids, in the order of `ids`. */
export async function findRules(db: Db, workspaceId: number, ids: number[]): Promise<RuleRow[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select()
    .from(mitigationRules)
    .where(and(inArray(mitigationRules.id, ids), eq(mitigationRules.workspaceId, workspaceId)));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

const ruleValues = (req: RuleRequest, adapterId: number, intent: MitigationIntent) => ({
  workspaceId: req.workspaceId,
  adapterId,
  targetIp: intent.kind === 'blackhole' ? intent.prefix : intent.destination,
  intentType: intent.kind,
  intent,
  routeKey: routeKey(intent),
  ttl: req.ttl,
  reason: req.reason,
  incidentId: req.incidentId ?? null,
  workflowId: req.workflowId ?? null,
});

/** Inserts pending rules for the routes no live rule holds on the adapter: the new rows by route key. */
async function insertRules(db: Db, req: RuleRequest, adapterId: number, intents: MitigationIntent[]): Promise<Map<string, RuleRow>> {
  const fresh = new Map<string, RuleRow>();
  // Well under PostgreSQL's 65,535 parameters per statement (nine per row).
  for (let from = 0; from < intents.length; from += 2000) {
    const values = intents.slice(from, from + 2000).map((intent) => ruleValues(req, adapterId, intent));
    for (const row of await db.insert(mitigationRules).values(values).onConflictDoNothing().returning()) fresh.set(row.routeKey, row);
  }
  return fresh;
}

/** Inserts a pending rule, or names the live rule that holds the same route on the adapter. */
async function insertRule(db: Db, req: RuleRequest, adapterId: number, intent: MitigationIntent): Promise<{ ok: true; rule: RuleRow } | { ok: false; live: RuleRow | null }> {
  const key = routeKey(intent);
  const [rule] = await db.insert(mitigationRules).values(ruleValues(req, adapterId, intent)).onConflictDoNothing().returning();
  if (rule) return { ok: true, rule };
  const [live] = await db
    .select()
    .from(mitigationRules)
    .where(and(eq(mitigationRules.adapterId, adapterId), eq(mitigationRules.routeKey, key), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])));
  return { ok: false, live: live ?? null };
}
