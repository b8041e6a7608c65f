// The profile roll-out's contract: its id and input. Pure; shared by the workflow and its
// client (clients/profile-rollout.ts).
import type { ProfileId } from '../domain/attack-profiles.js';
import type { FirewallRule, FirewallSuite } from '../domain/firewall.js';

export const profileRolloutWorkflowId = (rolloutUuid: string) => `profile-rollout:${rolloutUuid}`;

/** Nodes commanded at once: a roll-out to hundreds of nodes neither waits on them one by one nor floods the agents' poll. */
export const ROLLOUT_CONCURRENCY = 8;

/** What the roll-out does on each node. */
export type RolloutPlan =
  | { action: 'apply'; profileId: ProfileId; suite: FirewallSuite; custom: FirewallRule[] }
  /** Removes the profile each node has (only this one, when given). */
  | { action: 'remove'; profileId: ProfileId | null };

export type RolloutInput = RolloutPlan & {
  rolloutId: number;
  /** How long an agent may stay silent while it owes a command's result. */
  heartbeatTimeoutSeconds: number;
};

export interface RolloutSummary {
  applied: number;
  removed: number;
  failed: number;
  skipped: number;
}
