// The side effects of a rule batch (workflows/rule-batch.ts): announce the rules of one
// bulk request through their adapter a few at a time, withdraw them, and keep their rows
// true to what happened, marking and notifying many rows in one statement each.
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { loadAllowlist } from '../db/allowlist.js';
import { notifyRuleStatuses } from '../db/rule-settled.js';
import { FINAL_RULE_STATUSES, mitigationAdapters, mitigationRules, type RuleStatus } from '../db/schema.js';
import { forEachLimited } from '../domain/concurrency.js';
import { routeIntent } from '../domain/intent.js';
import { prefixLimits, refuseIntent } from '../domain/safety.js';
import { timeAdapterCall } from '../metrics/registry.js';
import type { AnnounceResult, RuleEnding } from '../workflows/rule-batch.contract.js';
import { AdapterError } from './adapters/types.js';
import { outcomeOf, type RuleActivityDeps } from './rule.js';

/** Adapter calls in flight at once: enough to hide a speaker's round trip, few enough not to flood it. */
const CONCURRENCY = 16;

export function createRuleBatchActivities({ db, secrets, adapters, logger }: RuleActivityDeps) {
  async function load(ruleIds: number[]) {
    const rows = await db
      .select({ rule: mitigationRules, adapter: mitigationAdapters })
      .from(mitigationRules)
      .innerJoin(mitigationAdapters, eq(mitigationAdapters.id, mitigationRules.adapterId))
      .where(inArray(mitigationRules.id, ruleIds));
    return rows.map((row) => ({
      ...row,
      intent: routeIntent(row.rule.intent),
      impl: adapters.get(row.adapter, () => (row.adapter.authTokenEnc ? secrets.open(row.adapter.authTokenEnc) : null)),
    }));
  }

  /** Records how rules ended (grouped by their words: one statement per distinct reason) and tells the listening APIs. */
  async function markEnded(ended: Array<{ ruleId: number; outcome: RuleStatus; reason: string }>) {
    const groups = new Map<string, { outcome: RuleStatus; reason: string; ids: number[] }>();
    for (const e of ended) {
      const k = `${e.outcome} ${e.reason}`;
      if (!groups.has(k)) groups.set(k, { outcome: e.outcome, reason: e.reason, ids: [] });
      groups.get(k)!.ids.push(e.ruleId);
    }
    for (const g of groups.values()) {
      const marked = await db
        .update(mitigationRules)
        .set({ status: g.outcome, statusReason: g.reason, endedAt: sql`now()` })
        .where(and(inArray(mitigationRules.id, g.ids), inArray(mitigationRules.status, ['pending', 'active', 'withdrawing'])))
        .returning({ id: mitigationRules.id });
      await notifyRuleStatuses(
        db,
        marked.map((r) => r.id),
        g.outcome,
      );
    }
  }

  return {
    /**
     * Announces the batch's pending rules and marks each active or failed, re-checking the
     * safety rails as a single rule does. A speaker that could not be reached answers
     * `retry` for its rules (their rows stay pending), unless this is the last attempt.
     */
    async announceRules(ruleIds: number[], ttlSeconds: number, lastAttempt: boolean): Promise<AnnounceResult[]> {
      const rows = await load(ruleIds);
      const results: AnnounceResult[] = [];
      const found = new Set(rows.map((r) => r.rule.id));
      for (const id of ruleIds) if (!found.has(id)) results.push({ ruleId: id, outcome: 'failed', error: `rule ${id} does not exist` });
      // A batch is one request's: one workspace.
      const allowlist = rows.length > 0 ? await loadAllowlist(db, rows[0]!.rule.workspaceId, 'network') : [];
      const announced: number[] = [];
      const failed: Array<{ ruleId: number; outcome: RuleStatus; reason: string }> = [];

      await forEachLimited(rows, CONCURRENCY, async ({ rule, adapter, intent, impl }) => {
        // Ended already (an earlier attempt's refusal): its row says why.
        if (FINAL_RULE_STATUSES.includes(rule.status)) return void results.push({ ruleId: rule.id, outcome: 'failed', error: rule.statusReason ?? rule.status });
        const refused = refuseIntent(intent, prefixLimits(adapter.config), allowlist) ?? (adapter.deletedAt ? `adapter ${adapter.id} was deleted` : null);
        if (refused) return void failed.push({ ruleId: rule.id, outcome: 'failed', reason: refused });
        try {
          await timeAdapterCall(adapter.adapterType, 'announce', () => impl.announce(intent), outcomeOf);
          announced.push(rule.id);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (!(err instanceof AdapterError)) logger.error({ err, ruleId: rule.id }, 'adapter threw an unexpected error');
          const refusal = err instanceof AdapterError && !err.retryable;
          if (refusal || lastAttempt) failed.push({ ruleId: rule.id, outcome: 'failed', reason: message });
          else results.push({ ruleId: rule.id, outcome: 'retry', error: message });
        }
      });

      if (announced.length > 0) {
        const active = await db
          .update(mitigationRules)
          .set({ status: 'active', announcedAt: sql`now()`, expiresAt: ttlSeconds > 0 ? sql`now() + make_interval(secs => ${ttlSeconds})` : null })
          .where(and(inArray(mitigationRules.id, announced), inArray(mitigationRules.status, ['pending', 'active'])))
          .returning({ id: mitigationRules.id, expiresAt: mitigationRules.expiresAt });
        await notifyRuleStatuses(
          db,
          active.map((r) => r.id),
          'active',
        );
        for (const r of active) results.push({ ruleId: r.id, outcome: 'active', expiresAtMs: r.expiresAt ? r.expiresAt.getTime() : null });
        logger.info({ rules: active.length, adapter: rows[0]?.adapter.id }, 'rule batch announced');
      }
      await markEnded(failed);
      for (const f of failed) results.push({ ruleId: f.ruleId, outcome: 'failed', error: f.reason });
      if (failed.length > 0) logger.warn({ rules: failed.length, first: failed[0]!.reason }, 'rules of a batch failed');
      return results;
    },

    /**
     * Withdraws rules and records how each ended. Idempotent: rules whose rows ended already
     * are left alone, so a retry after a partial failure withdraws only the rest.
     * `failed`: the clean-up after a failed announce; the rows keep their error.
     */
    async withdrawRules(endings: Array<RuleEnding | { ruleId: number; outcome: 'failed'; reason: string }>): Promise<void> {
      const byId = new Map(endings.map((e) => [e.ruleId, e]));
      const rows = (await load([...byId.keys()])).filter((r) => byId.get(r.rule.id)!.outcome === 'failed' || !FINAL_RULE_STATUSES.includes(r.rule.status));
      const live = rows.filter((r) => byId.get(r.rule.id)!.outcome !== 'failed').map((r) => r.rule.id);
      if (live.length > 0) {
        await db
          .update(mitigationRules)
          .set({ status: 'withdrawing' })
          .where(and(inArray(mitigationRules.id, live), inArray(mitigationRules.status, ['pending', 'active'])));
      }
      const done: Array<{ ruleId: number; outcome: RuleStatus; reason: string }> = [];
      const errors: string[] = [];
      await forEachLimited(rows, CONCURRENCY, async ({ rule, adapter, intent, impl }) => {
        try {
          await timeAdapterCall(adapter.adapterType, 'withdraw', () => impl.withdraw(intent), outcomeOf);
          const ending = byId.get(rule.id)!;
          if (ending.outcome !== 'failed') done.push(ending);
        } catch (err) {
          errors.push(err instanceof Error ? err.message : String(err));
        }
      });
      await markEnded(done);
      if (done.length > 0) logger.info({ rules: done.length, outcome: done[0]!.outcome }, 'rules of a batch withdrawn');
      // The rest again, until the speaker answers (the workflow retries without limit).
      if (errors.length > 0) throw ApplicationFailure.retryable(`${errors.length} of ${rows.length} withdrawals failed: ${errors[0]}`, 'AdapterUnavailable');
    },
  };
}

export type RuleBatchActivities = ReturnType<typeof createRuleBatchActivities>;
