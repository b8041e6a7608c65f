// What a profile roll-out knows of each node, and what it records of it: shared by the
// workflow, its activities and db/. Pure.
import type { ProfileId } from './attack-profiles.js';
import type { FirewallSuite } from './firewall.js';

/** A node's part in a roll-out: waiting, done (applied or removed), the agent's error, or not attempted (offline, nothing to remove). */
export const ROLLOUT_NODE_STATES = ['pending', 'applied', 'removed', 'failed', 'skipped'] as const;
export type RolloutNodeState = (typeof ROLLOUT_NODE_STATES)[number];

export interface InstalledProfile {
  profileId: ProfileId;
  suite: FirewallSuite;
}

/** A node as the roll-out sees it when it starts. */
export interface RolloutTarget {
  nodeId: number;
  nodeUuid: string;
  online: boolean;
  /** The profile installed now, if any. */
  current: InstalledProfile | null;
}

export interface RolloutOutcome {
  state: Exclude<RolloutNodeState, 'pending'>;
  /** The agent's error, why the node was skipped, or what was replaced. */
  detail: string | null;
  commandWorkflowId: string | null;
  /** What the node has installed since (null: none; absent: unchanged). */
  installed?: InstalledProfile | null;
}
