// The rules of one bulk request (workflow id `rules:<uuid>`, rule.contract's sibling
// rule-batch.contract.ts): announce them all, hold each until its TTL expires or someone
// withdraws it, and withdraw every one for certain. The same guarantees as a rule's own
// workflow (workflows/rule.ts) at a fraction of the engine's cost per rule.
// Deterministic: all I/O is in activities/rule-batch.ts.
import {
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RuleBatchActivities } from '../activities/rule-batch.js';
import {
  batchStateQuery,
  withdrawRulesSignal,
  type AnnounceResult,
  type HeldRule,
  type RuleBatchCarry,
  type RuleBatchInput,
  type RuleBatchState,
  type RuleEnding,
} from './rule-batch.contract.js';
import { carriesSearchAttributes, SEARCH_ATTRIBUTES } from './search-attributes.contract.js';

/** Attempts at reaching the speaker before a rule counts as failed (as a rule's own workflow: 5). */
const ANNOUNCE_ATTEMPTS = 5;

// Local activities, as a rule's own workflow: no round trips through the server's queues.
// Each attempt reports per rule (a refusal is the rule's answer, not the activity's failure).
const { announceRules } = proxyLocalActivities<RuleBatchActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '250ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5 },
});

// Withdrawal must happen whatever it takes: retried without limit, backing off to a minute.
const { withdrawRules } = proxyLocalActivities<RuleBatchActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '60s' },
});

// After a failed announce the route may still have reached the speaker (a timeout is not
// a refusal): try to clean up, but give up eventually; the reconciler catches the rest.
const { withdrawRules: withdrawAfterFailure } = proxyLocalActivities<RuleBatchActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

export async function ruleBatchWorkflow(input: RuleBatchInput, carry?: RuleBatchCarry): Promise<RuleBatchState> {
  const held = new Map<number, number | null>((carry?.held ?? []).map((h) => [h.ruleId, h.expiresAtMs]));
  const state: RuleBatchState = { announcing: carry ? [] : [...input.ruleIds], held: [], ended: 0 };
  /** Withdrawals asked for, by rule: the reason its row keeps. */
  const requested = new Map<number, string>();
  let cancelled = false;

  setHandler(batchStateQuery, () => ({ ...state, held: heldRules() }));
  setHandler(withdrawRulesSignal, ({ ruleIds, reason }) => {
    for (const id of ruleIds) if (!requested.has(id)) requested.set(id, reason);
  });
  const status = (value: string) => {
    if (carriesSearchAttributes()) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value }]);
  };

  if (!carry) {
    const failed = await announceAll();
    state.announcing = [];
    status(held.size > 0 ? 'active' : 'failed');
    if (failed.length > 0) {
      const cleanUp = failed.map((ruleId) => ({ ruleId, outcome: 'failed' as const, reason: 'clean-up' }));
      await CancellationScope.nonCancellable(() => withdrawAfterFailure(cleanUp)).catch(() => undefined);
    }
  }

  let lastOutcome: RuleEnding['outcome'] = 'expired';
  for (;;) {
    const now = Date.now();
    const due: RuleEnding[] = [];
    for (const [ruleId, expiresAtMs] of held) {
      const reason = requested.get(ruleId);
      if (reason !== undefined || cancelled) due.push({ ruleId, outcome: 'withdrawn', reason: reason ?? 'workflow cancelled' });
      else if (expiresAtMs !== null && expiresAtMs <= now) due.push({ ruleId, outcome: 'expired', reason: 'ttl expired' });
    }
    requested.clear(); // requests for rules not held (failed, ended) have nothing to do
    if (due.length > 0) {
      await CancellationScope.nonCancellable(() => withdrawRules(due));
      for (const d of due) held.delete(d.ruleId);
      state.ended += due.length;
      lastOutcome = due[due.length - 1]!.outcome;
      continue;
    }
    if (held.size === 0) break;
    if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof ruleBatchWorkflow>(input, { held: heldRules() });

    const expiries = [...held.values()].filter((e): e is number => e !== null);
    const woken = () => requested.size > 0;
    try {
      if (expiries.length === 0) await condition(woken);
      else await condition(woken, Math.max(1, Math.min(...expiries) - now));
    } catch (err) {
      // Cancelling the workflow withdraws what it holds: no route outlives it.
      if (!isCancellation(err)) throw err;
      cancelled = true;
    }
  }
  status(lastOutcome);
  return { ...state, held: [] };

  function heldRules(): HeldRule[] {
    return [...held].map(([ruleId, expiresAtMs]) => ({ ruleId, expiresAtMs }));
  }

  /** Announces every rule, again for those whose speaker could not be reached; the ids that failed. */
  async function announceAll(): Promise<number[]> {
    let pending = [...input.ruleIds];
    const failed: number[] = [];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const results: AnnounceResult[] = await announceRules(pending, input.ttlSeconds, attempt === ANNOUNCE_ATTEMPTS);
      pending = [];
      for (const r of results) {
        if (r.outcome === 'active') held.set(r.ruleId, r.expiresAtMs);
        else if (r.outcome === 'retry') pending.push(r.ruleId);
        else failed.push(r.ruleId);
      }
      state.announcing = [...pending];
      if (pending.length > 0) await sleep(Math.min(250 * 2 ** (attempt - 1), 5000));
    }
    return failed;
  }
}
