// The profile roll-out family's way in: start a roll-out and wait (a while) for it to end.
import { profileRolloutWorkflowId, type RolloutInput, type RolloutSummary } from '../workflows/profile-rollout.contract.js';
import { profileRolloutWorkflow } from '../workflows/profile-rollout.js';
import { withDeadline, type TemporalDeps } from './temporal.js';

/** Starts the roll-out and answers its summary once every node is done, or null after `waitMs` (it goes on). */
export async function runRollout(t: TemporalDeps, rolloutUuid: string, input: RolloutInput, waitMs: number): Promise<RolloutSummary | null> {
  const handle = await t.temporal.workflow.start(profileRolloutWorkflow, { workflowId: profileRolloutWorkflowId(rolloutUuid), taskQueue: t.taskQueue, args: [input] });
  return withDeadline(handle.result(), waitMs);
}
