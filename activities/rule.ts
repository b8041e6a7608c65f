// The side effects of a mitigation rule's life: announce through the adapter, withdraw,
// and keep the rule's row true to what happened (a scrubbing rule's diversion is its
// child workflow's; the row follows it here).
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { loadRuleAllowlist } from '../db/allowlist.js';
import { rowsOf, type Db } from '../db/client.js';
import { notifyRuleStatusSql } from '../db/rule-settled.js';
import { mitigationAdapters, mitigationRules } from '../db/schema.js';
import type { SecretBox } from '../db/secrets.js';
import { routeIntent, type MitigationIntent } from '../domain/intent.js';
import { prefixLimits, refuseIntent } from '../domain/safety.js';
import type { AdapterRegistry } from './adapters/index.js';
import { AdapterError } from './adapters/types.js';
import { timeAdapterCall, type AdapterOutcome } from '../metrics/registry.js';
import type { RuleOutcome } from '../workflows/rule.contract.js';

export interface RuleActivityDeps {
  db: Db;
  secrets: SecretBox;
  adapters: AdapterRegistry;
  logger: Logger;
}

/** How an adapter call failed, for bulwark_adapter_call_seconds. */
export const outcomeOf = (err: unknown): AdapterOutcome => (err instanceof AdapterError ? (err.retryable ? 'unavailable' : 'rejected') : 'error');

export function createRuleActivities({ db, secrets, adapters, logger }: RuleActivityDeps) {
  async function load(ruleId: number) {
    const [row] = await db
      .select({ rule: mitigationRules, adapter: mitigationAdapters })
      .from(mitigationRules)
      .innerJoin(mitigationAdapters, eq(mitigationAdapters.id, mitigationRules.adapterId))
      .where(eq(mitigationRules.id, ruleId));
    if (!row) throw ApplicationFailure.nonRetryable(`rule ${ruleId} does not exist`, 'RuleMissing');
    const adapter = adapters.get(row.adapter, () => (row.adapter.authTokenEnc ? secrets.open(row.adapter.authTokenEnc) : null));
    return { ...row, intent: routeIntent(row.rule.intent), impl: adapter };
  }

  /** Marks the rule active and notifies the listening APIs in the same statement (one round trip on every rule's path). */
  async function markActive(ruleId: number, ttlSeconds: number): Promise<{ expiresAtMs: number | null }> {
    const expiresAt = ttlSeconds > 0 ? sql`now() + make_interval(secs => ${ttlSeconds})` : sql`null`;
    const result = await db.execute(sql`
      with updated as (
        update ${mitigationRules} set status = 'active', announced_at = now(), expires_at = ${expiresAt}
        where ${mitigationRules.id} = ${ruleId} and ${mitigationRules.status} in ('pending', 'active')
        returning id, expires_at
      )
      select expires_at, ${notifyRuleStatusSql(sql`id`, 'active')} from updated`);
    const [row] = rowsOf<{ expires_at: Date | string | null }>(result);
    return { expiresAtMs: row?.expires_at ? new Date(row.expires_at).getTime() : null };
  }
  async function markWithdrawing(ruleId: number): Promise<void> {
    await db
      .update(mitigationRules)
      .set({ status: 'withdrawing' })
      .where(and(eq(mitigationRules.id, ruleId), inArray(mitigationRules.status, ['pending', 'active'])));
  }
  async function markEnded(ruleId: number, outcome: RuleOutcome, reason: string | null): Promise<void> {
    await db.execute(sql`
      with updated as (
        update ${mitigationRules} set status = ${outcome}, status_reason = ${reason}, ended_at = now()
        where ${mitigationRules.id} = ${ruleId}
        returning id
      )
      select ${notifyRuleStatusSql(sql`id`, outcome)} from updated`);
  }

  /** Maps an adapter failure onto Temporal's retry semantics. */
  function asFailure(err: unknown, action: string, intent: MitigationIntent): never {
    if (err instanceof AdapterError) {
      if (!err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'AdapterRejected');
      throw ApplicationFailure.retryable(err.message, 'AdapterUnavailable');
    }
    logger.error({ err, action, intent }, 'adapter threw an unexpected error');
    throw err;
  }

  return {
    /**
     * Announces the rule's intent and marks it active. Re-checks the safety rails at the
     * last moment: the allowlist may have changed since the rule was requested, and every
     * automated path comes through here.
     */
    async announceRule(ruleId: number, ttlSeconds: number): Promise<{ expiresAtMs: number | null }> {
      // Both at once (the allowlist found by the rule's id): one round trip fewer on every rule's path.
      const [{ rule, intent, adapter, impl }, allowlist] = await Promise.all([load(ruleId), loadRuleAllowlist(db, ruleId)]);
      // Checked again here, not only when the rule was requested: the allowlist may have grown since.
      const refused = refuseIntent(intent, prefixLimits(adapter.config), allowlist);
      if (refused) throw ApplicationFailure.nonRetryable(refused, 'SafetyRefused');
      if (adapter.deletedAt) throw ApplicationFailure.nonRetryable(`adapter ${adapter.id} was deleted`, 'AdapterRejected');

      try {
        await timeAdapterCall(adapter.adapterType, 'announce', () => impl.announce(intent), outcomeOf);
      } catch (err) {
        asFailure(err, 'announce', intent);
      }
      logger.info({ ruleId, target: rule.targetIp, kind: rule.intentType, adapter: adapter.id }, 'rule announced');
      return markActive(ruleId, ttlSeconds);
    },

    /**
     * Withdraws the rule's intent and records how it ended. Idempotent: a retry after the
     * adapter call succeeded withdraws again, which speakers treat as a no-op.
     * `outcome` failed: clean-up after a failed announce; the row keeps its error.
     */
    async withdrawRule(ruleId: number, outcome: RuleOutcome, reason: string | null): Promise<void> {
      const { rule, intent, adapter, impl } = await load(ruleId);
      try {
        // The row says `withdrawing` while the speaker works (both at once: the row is ended after both).
        await Promise.all([outcome !== 'failed' ? markWithdrawing(ruleId) : null, timeAdapterCall(adapter.adapterType, 'withdraw', () => impl.withdraw(intent), outcomeOf)]);
      } catch (err) {
        if (err instanceof AdapterError) throw ApplicationFailure.retryable(err.message, 'AdapterUnavailable');
        throw err;
      }
      if (outcome !== 'failed') await markEnded(ruleId, outcome, reason);
      logger.info({ ruleId, target: rule.targetIp, outcome, reason }, 'rule withdrawn');
    },

    // A scrubbing rule's row, as its diversion (a child workflow) settles.
    /** The diversion is confirmed: the rule is active, its TTL counted from now. */
    markRuleActive: (ruleId: number, ttlSeconds: number) => markActive(ruleId, ttlSeconds),
    markRuleWithdrawing: (ruleId: number) => markWithdrawing(ruleId),
    /** How the rule ended: `failed` when its diversion could not be turned off (the reason says why). */
    markRuleEnded: (ruleId: number, outcome: RuleOutcome, reason: string) => markEnded(ruleId, outcome, reason),

    async markRuleFailed(ruleId: number, error: string): Promise<void> {
      await markEnded(ruleId, 'failed', error);
      logger.warn({ ruleId, error }, 'rule failed');
    },
  };
}

export type RuleActivities = ReturnType<typeof createRuleActivities>;
