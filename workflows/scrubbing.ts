// A scrubbing diversion (workflow id `scrubbing:<integration id>`): ask the provider to
// divert, wait until it confirms, hold until withdrawn or the TTL, watching for drift
// (turned off in the provider's console), then turn it off for certain. Every transition is
// written to the integration's row. Deterministic: all I/O is in activities/scrubbing.ts.
// A connectivity/status check (`scrubbing-check:...`) is a workflow too, so the API never
// talks to a provider itself.
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { ScrubbingActivities } from '../activities/scrubbing.js';
import {
  activeUpdate,
  CONFIRM_POLL_SECONDS,
  CONFIRM_TIMEOUT_SECONDS,
  diversionPhaseSignal,
  diversionStateQuery,
  DRIFT_POLL_SECONDS,
  endDiversionSignal,
  withdrawUpdate,
  type DiversionInput,
  type DiversionState,
  type ScrubbingCheck,
} from './scrubbing.contract.js';
import { failureMessage, isRefusal } from './failure.js';

const REFUSED = ['ProviderRejected'];

// Turning a diversion on: a few tries, then it failed (the attack needs another answer).
const on = proxyActivities<ScrubbingActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s', maximumAttempts: 5, nonRetryableErrorTypes: REFUSED },
});
// Turning it off: whatever it takes, short of a refusal (retrying bad credentials would lock us out).
const off = proxyActivities<ScrubbingActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s', nonRetryableErrorTypes: REFUSED },
});
// After a failed start the provider may divert all the same (a timeout is not a refusal):
// undo it, but give up eventually rather than hold the workflow open for ever.
const undo = proxyActivities<ScrubbingActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5, nonRetryableErrorTypes: REFUSED },
});
// Looking (drift watch, confirmation polls): one try each; the next poll is the retry.
// (Short: a look a dead worker left behind holds the workflow until this timeout.)
const look = proxyActivities<ScrubbingActivities>({ startToCloseTimeout: '15s', retry: { maximumAttempts: 1 } });
const check = proxyActivities<ScrubbingActivities>({ startToCloseTimeout: '45s', retry: { maximumAttempts: 1 } });

export async function scrubbingWorkflow(input: DiversionInput): Promise<DiversionState> {
  const state = await divert(input);
  // The announce and withdraw updates answer from the final state: let them, before the run ends.
  await condition(allHandlersFinished);
  return state;
}

async function divert(input: DiversionInput): Promise<DiversionState> {
  const id = input.integrationId;
  const workflowId = workflowInfo().workflowId;
  const state: DiversionState = { phase: 'activating', expiresAtMs: null, error: null };
  let withdrawal: string | null = null;
  setHandler(diversionStateQuery, () => state);
  setHandler(activeUpdate, async () => {
    await condition(() => state.phase !== 'activating');
    return state;
  });
  setHandler(withdrawUpdate, async ({ reason }) => {
    withdrawal ??= reason ?? 'withdrawn';
    await condition(() => state.phase === 'inactive' || state.phase === 'failed');
    return state;
  });
  setHandler(endDiversionSignal, ({ reason }) => {
    withdrawal ??= reason ?? 'withdrawn';
  });

  /** Polls the provider until the diversion is all on (or all off), or the timeout; throws then. */
  async function confirm(want: 'on' | 'off') {
    const deadline = Date.now() + CONFIRM_TIMEOUT_SECONDS * 1000;
    for (;;) {
      const seen = await look.providerStatus(id).catch((err: unknown) => ({ state: 'unknown', detail: failureMessage(err) }));
      if (seen.state === want) return;
      if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`the provider did not confirm the diversion ${want} within ${CONFIRM_TIMEOUT_SECONDS} s (${seen.detail})`);
      await sleep(CONFIRM_POLL_SECONDS * 1000);
    }
  }

  // The row first, then the state the updates answer from: what the API answers, the row already says.
  async function fail(error: string) {
    await off.recordScrubbingStatus(id, 'failed', error, null);
    state.error = error;
    state.phase = 'failed';
    await tellParent(state);
  }

  try {
    await on.recordScrubbingStatus(id, 'activating', input.reason, workflowId);
    await on.enableDiversion(id);
    await confirm('on');
  } catch (err) {
    await CancellationScope.nonCancellable(async () => {
      // Failed first (so the API answers now), then the undo.
      await fail(failureMessage(err));
      if (!isRefusal(err, REFUSED)) await undo.disableDiversion(id).catch(() => undefined);
    });
    return state;
  }
  await on.recordScrubbingStatus(id, 'active', input.reason ?? 'the provider confirmed the diversion', workflowId);
  state.phase = 'active';
  state.expiresAtMs = input.ttlSeconds > 0 ? Date.now() + input.ttlSeconds * 1000 : null;
  await tellParent(state);

  try {
    await holdWatchingDrift();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    withdrawal ??= 'workflow cancelled';
  }

  // Off for certain, whatever happened above: a diversion must not outlive its reason.
  await CancellationScope.nonCancellable(async () => {
    state.phase = 'deactivating';
    const reason = withdrawal ?? 'ttl expired';
    try {
      await off.recordScrubbingStatus(id, 'deactivating', reason, workflowId);
      await off.disableDiversion(id);
      await confirm('off');
    } catch (err) {
      await fail(`turning the diversion off failed: ${failureMessage(err)}`);
      return;
    }
    await off.recordScrubbingStatus(id, 'inactive', reason, null);
    state.phase = 'inactive';
    await tellParent(state);
  });
  return state;

  async function holdWatchingDrift() {
    let drifted = false;
    for (;;) {
      const remaining = state.expiresAtMs === null ? Infinity : state.expiresAtMs - Date.now();
      if (remaining <= 0) return;
      if (await condition(() => withdrawal !== null, Math.min(remaining, (input.watchSeconds ?? DRIFT_POLL_SECONDS) * 1000))) return;
      const seen = await look.providerStatus(id).catch(() => null);
      if (seen && (seen.state !== 'on') !== drifted) {
        // Turned off (or back on) outside Bulwark: say so on the integration.
        drifted = seen.state !== 'on';
        await look.recordScrubbingStatus(id, 'active', drifted ? `drift: the provider reports the diversion ${seen.state} (${seen.detail}); changed outside Bulwark?` : 'the provider reports the diversion on again', workflowId).catch(() => undefined);
      }
    }
  }
}

/** A scrubbing rule holding the diversion (its parent) learns of each settled phase; one that has ended does not need to. */
async function tellParent(state: DiversionState) {
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(diversionPhaseSignal, { ...state }).catch(() => undefined);
}

/** One look at the provider: credentials, reachability, whether it diverts now. */
export async function scrubbingCheckWorkflow(integrationId: number): Promise<ScrubbingCheck> {
  return check.checkScrubbing(integrationId);
}
