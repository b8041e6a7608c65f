// What a scrubbing rule holds: its integration's diversion, the workflow
// `scrubbing:<integration id>` started as the rule's child. The child tells the rule when
// the provider confirmed (or refused) and when it ended; the rule keeps the TTL, and ends
// the diversion by a signal (workflows cannot update their children). Deterministic.
import { ApplicationFailure, condition, ParentClosePolicy, proxyActivities, setHandler, startChild, type ChildWorkflowHandle } from '@temporalio/workflow';
import type { RuleActivities } from '../activities/rule.js';
import { failureMessage } from './failure.js';
import type { Held } from './held.js';
import { diversionPhaseSignal, endDiversionSignal, scrubbingWorkflowId, type DiversionState } from './scrubbing.contract.js';
import { scrubbingWorkflow } from './scrubbing.js';

const rows = proxyActivities<RuleActivities>({ startToCloseTimeout: '30s', retry: { initialInterval: '1s', maximumInterval: '30s' } });

export function heldDiversion(ruleId: number, integrationId: number, ttlSeconds: number): Held {
  /** The diversion's last settled phase, as it told us; its result once it ended. */
  let told: DiversionState | null = null;
  let ended: DiversionState | null = null;
  let child: ChildWorkflowHandle<typeof scrubbingWorkflow> | null = null;
  setHandler(diversionPhaseSignal, (state) => {
    told = state;
  });
  const settled = () => ended ?? (told && told.phase !== 'activating' ? told : null);

  return {
    async announce() {
      try {
        child = await startChild(scrubbingWorkflow, {
          workflowId: scrubbingWorkflowId(integrationId),
          args: [{ integrationId, ttlSeconds: 0, reason: `rule ${ruleId}` }],
          // The rule ending in any way ends the diversion: cancelled, it turns the provider off.
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        });
      } catch (err) {
        // (The error class is @temporalio/common's, which workflow code does not import.)
        if (err instanceof Error && err.name === 'WorkflowExecutionAlreadyStartedError') {
          throw ApplicationFailure.nonRetryable(`scrubbing integration ${integrationId} diverts already (workflow ${scrubbingWorkflowId(integrationId)}); withdraw that diversion first`, 'AdapterRejected');
        }
        throw err;
      }
      child.result().then(
        (state) => void (ended = state),
        (err: unknown) => void (ended = { phase: 'failed', expiresAtMs: null, error: failureMessage(err) }),
      );
      await condition(() => settled() !== null);
      const state = settled()!;
      if (state.phase !== 'active') throw ApplicationFailure.nonRetryable(state.error ?? `the diversion ended ${state.phase} before it was active`, 'AdapterRejected');
      return rows.markRuleActive(ruleId, ttlSeconds);
    },
    // A diversion that failed to start has turned itself off (or given up trying): nothing to undo.
    cleanUpAfterFailure: async () => undefined,
    endedByItself: () => (ended === null ? null : `the diversion ended outside the rule (${ended.phase}${ended.error ? `: ${ended.error}` : ''})`),
    async withdraw(outcome, reason) {
      await rows.markRuleWithdrawing(ruleId);
      if (ended === null) {
        await child!.signal(endDiversionSignal, { reason: `rule ${ruleId}: ${reason}` });
        await condition(() => ended !== null);
      }
      const state = ended!;
      if (state.phase === 'failed') {
        await rows.markRuleEnded(ruleId, 'failed', state.error ?? 'the diversion failed');
        throw ApplicationFailure.nonRetryable(state.error ?? 'the diversion failed');
      }
      await rows.markRuleEnded(ruleId, outcome, reason);
    },
  };
}
