// One mitigation rule (workflow id `rule:<id>`): announce through the adapter (or, for a
// scrubbing rule, start the integration's diversion as a child), hold until the TTL
// expires or someone withdraws it, then withdraw for certain.
// Deterministic: all I/O is in activities/rule.ts; ids and messages in rule.contract.ts.
import {
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RuleActivities } from '../activities/rule.js';
import { failureMessage, isRefusal } from './failure.js';
import type { Held } from './held.js';
import { heldDiversion } from './rule-diversion.js';
import {
  announcedUpdate,
  ENDED_RULE_PHASES,
  extendTtlUpdate,
  ruleStatusOf,
  stateQuery,
  withdrawSignal,
  withdrawUpdate,
  type RulePhase,
  type RuleState,
  type RuleWorkflowInput,
  type WithdrawRequest,
} from './rule.contract.js';
import { carriesSearchAttributes, SEARCH_ATTRIBUTES } from './search-attributes.contract.js';

const REFUSED = ['AdapterRejected', 'SafetyRefused'];

/** Rules before BulwarkStatus followed the rule replay without upserting it. */
const STATUS_ATTRIBUTE_PATCH = 'status-search-attribute';

// Announce and withdraw run as local activities: in the workflow task itself, without the
// round trips through the server's task queues that a normal activity costs (~40 ms of a
// ~50 ms budget from POST to route at the router). They appear in the history as markers.
const { announceRule } = proxyLocalActivities<RuleActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '250ms',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    maximumAttempts: 5,
    // The speaker refused the route itself, or a safety rail did: trying again cannot help.
    nonRetryableErrorTypes: REFUSED,
  },
});

const { markRuleFailed } = proxyActivities<RuleActivities>({ startToCloseTimeout: '30s' });

// Withdrawal must happen whatever it takes: retried without limit, backing off to a minute.
const { withdrawRule } = proxyLocalActivities<RuleActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '60s' },
});

// After a failed announce the route may still have reached the speaker (a timeout is not
// a refusal): try to clean up, but give up eventually; the reconciler catches the rest.
const { withdrawRule: withdrawAfterFailure } = proxyActivities<RuleActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/** A blackhole or FlowSpec rule holds its route at the adapter. */
const route = (input: RuleWorkflowInput): Held => ({
  announce: () => announceRule(input.ruleId, input.ttlSeconds),
  cleanUpAfterFailure: () => withdrawAfterFailure(input.ruleId, 'failed', null).catch(() => undefined),
  endedByItself: () => null,
  withdraw: (outcome, reason) => withdrawRule(input.ruleId, outcome, reason),
});

export async function ruleWorkflow(input: RuleWorkflowInput): Promise<RuleState> {
  const state: RuleState = { phase: 'announcing', expiresAtMs: null, error: null };
  /** The phase from now on; BulwarkStatus follows it where the workflow carries Bulwark's search attributes. */
  const enter = (phase: RulePhase) => {
    state.phase = phase;
    if (carriesSearchAttributes() && patched(STATUS_ATTRIBUTE_PATCH)) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: ruleStatusOf(phase) }]);
  };
  const held = input.scrubbingId === undefined ? route(input) : heldDiversion(input.ruleId, input.scrubbingId, input.ttlSeconds);
  let withdrawal: WithdrawRequest | null = null;
  let ttlChanges = 0;

  const requestWithdraw = (req: WithdrawRequest) => {
    withdrawal ??= { reason: req.reason };
  };
  setHandler(stateQuery, () => state);
  setHandler(announcedUpdate, async () => {
    await condition(() => state.phase !== 'announcing');
    return state;
  });
  setHandler(withdrawSignal, requestWithdraw);
  setHandler(withdrawUpdate, async (req) => {
    requestWithdraw(req);
    await condition(() => ENDED_RULE_PHASES.includes(state.phase));
    return state;
  });
  setHandler(
    extendTtlUpdate,
    ({ ttlSeconds }) => {
      state.expiresAtMs = ttlSeconds === 0 ? null : Date.now() + ttlSeconds * 1000;
      ttlChanges++;
      return state;
    },
    {
      validator: ({ ttlSeconds }) => {
        if (!Number.isInteger(ttlSeconds) || ttlSeconds < 0) throw new Error('ttlSeconds must be a whole number >= 0');
        if (state.phase !== 'active') throw new Error(`the rule is ${state.phase}, not active`);
      },
    },
  );

  try {
    const announced = await held.announce();
    state.expiresAtMs = announced.expiresAtMs;
    enter('active');
  } catch (err) {
    const error = failureMessage(err);
    await CancellationScope.nonCancellable(async () => {
      await markRuleFailed(input.ruleId, error);
      // Only now: the announced update answers the API, which then reads the row.
      state.error = error;
      enter('failed');
      if (!isRefusal(err, REFUSED)) await held.cleanUpAfterFailure();
    });
    return state;
  }

  // Hold until withdrawn or expired; a TTL change restarts the wait. Cancelling the
  // workflow counts as a withdrawal: the route must not outlive it.
  try {
    await holdUntilDone();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    withdrawal ??= { reason: 'workflow cancelled' };
  }

  const byItself = held.endedByItself();
  const outcome = withdrawal !== null || byItself !== null ? 'withdrawn' : 'expired';
  const reason = withdrawal !== null ? ((withdrawal as WithdrawRequest).reason ?? 'withdrawn') : (byItself ?? 'ttl expired');
  enter('withdrawing');
  try {
    await CancellationScope.nonCancellable(() => held.withdraw(outcome, reason));
  } catch (err) {
    // Only a diversion's end can fail (a route's withdrawal retries for ever): the row says why.
    state.error = failureMessage(err);
    enter('failed');
    return state;
  }
  enter(outcome);
  return state;

  async function holdUntilDone(): Promise<void> {
    for (;;) {
      const seen = ttlChanges;
      const remaining = state.expiresAtMs === null ? undefined : state.expiresAtMs - Date.now();
      if (remaining !== undefined && remaining <= 0) return;
      const woken = () => withdrawal !== null || ttlChanges !== seen || held.endedByItself() !== null;
      const woke = remaining === undefined ? (await condition(woken), true) : await condition(woken, remaining);
      if (withdrawal !== null || held.endedByItself() !== null || !woke) return; // withdrawn, ended, or the TTL elapsed
    }
  }
}
