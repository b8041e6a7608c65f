// Applies an attack profile to many nodes, or removes it (workflow `profile-rollout:<uuid>`):
// one node-command child per node, ROLLOUT_CONCURRENCY at a time, each node's outcome
// recorded as it comes (applied, failed with the agent's error, skipped when offline).
// A node that had another profile gets the new one first and loses the old one after, so
// it is never left without either.
import { executeChild, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { ProfileRolloutActivities } from '../activities/profile-rollout.js';
import { profileRuleSetName } from '../domain/attack-profiles.js';
import type { NodeCommand, NodeCommandResult } from '../domain/node-command.js';
import type { InstalledProfile, RolloutOutcome, RolloutTarget } from '../domain/profile-rollout.js';
import { nodeCommandWorkflowId } from './node-command.contract.js';
import { nodeCommandWorkflow } from './node-command.js';
import { ROLLOUT_CONCURRENCY, type RolloutInput, type RolloutSummary } from './profile-rollout.contract.js';

const acts = proxyActivities<ProfileRolloutActivities>({ startToCloseTimeout: '30s', retry: { maximumInterval: '10s' } });

const label = (p: InstalledProfile) => `${p.profileId} (${p.suite})`;

export async function profileRolloutWorkflow(input: RolloutInput): Promise<RolloutSummary> {
  const targets = await acts.resolveRolloutNodes(input.rolloutId);
  const summary: RolloutSummary = { applied: 0, removed: 0, failed: 0, skipped: 0 };

  async function command(node: RolloutTarget, cmd: NodeCommand): Promise<{ result: NodeCommandResult; workflowId: string }> {
    const workflowId = nodeCommandWorkflowId(node.nodeUuid, uuid4());
    const result = await executeChild(nodeCommandWorkflow, { workflowId, args: [node.nodeId, cmd, { heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds }] }).catch(
      (err: Error): NodeCommandResult => ({ ok: false, error: `the command's workflow failed: ${err.message}` }),
    );
    return { result, workflowId };
  }

  async function roll(node: RolloutTarget): Promise<RolloutOutcome> {
    if (input.action === 'remove') {
      const current = node.current;
      if (!current || (input.profileId !== null && current.profileId !== input.profileId)) {
        return { state: 'skipped', detail: current ? `has ${label(current)}, not ${input.profileId}` : 'no profile applied', commandWorkflowId: null };
      }
      if (!node.online) return { state: 'skipped', detail: `offline: ${label(current)} stays until removed again`, commandWorkflowId: null };
      const { result, workflowId } = await command(node, { type: 'remove_ruleset', suite: current.suite, name: profileRuleSetName(current.profileId) });
      return result.ok
        ? { state: 'removed', detail: `removed ${label(current)}`, commandWorkflowId: workflowId, installed: null }
        : { state: 'failed', detail: result.error, commandWorkflowId: workflowId };
    }
    if (!node.online) return { state: 'skipped', detail: 'offline: the agent has not been heard from for a minute', commandWorkflowId: null };
    const wanted: InstalledProfile = { profileId: input.profileId, suite: input.suite };
    const applied = await command(node, { type: 'apply_profile', suite: input.suite, profile_id: input.profileId, custom: input.custom });
    if (!applied.result.ok) return { state: 'failed', detail: applied.result.error, commandWorkflowId: applied.workflowId };
    const old = node.current;
    if (!old || (old.profileId === wanted.profileId && old.suite === wanted.suite)) return { state: 'applied', detail: null, commandWorkflowId: applied.workflowId, installed: wanted };
    const removed = await command(node, { type: 'remove_ruleset', suite: old.suite, name: profileRuleSetName(old.profileId) });
    const detail = removed.result.ok ? `replaced ${label(old)}` : `${label(old)} could not be removed and still applies: ${removed.result.error}`;
    return { state: 'applied', detail, commandWorkflowId: applied.workflowId, installed: wanted };
  }

  const queue = [...targets];
  async function lane() {
    for (let node = queue.shift(); node; node = queue.shift()) {
      const outcome = await roll(node);
      summary[outcome.state]++;
      await acts.recordRolloutNode(input.rolloutId, node.nodeId, outcome);
    }
  }
  await Promise.all(Array.from({ length: Math.min(ROLLOUT_CONCURRENCY, targets.length) }, lane));
  await acts.finishRollout(input.rolloutId);
  return summary;
}
