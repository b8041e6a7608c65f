// The profile roll-out's bookkeeping: which nodes it covers (fixed when it starts), each
// node's outcome, and its end. The node commands themselves are node-command workflows.
import type { Db } from '../db/client.js';
import type { RolloutOutcome } from '../domain/profile-rollout.js';
import { finishRollout, recordRolloutNode, resolveRolloutNodes } from '../db/profile-rollouts.js';

export function createProfileRolloutActivities({ db }: { db: Db }) {
  return {
    resolveRolloutNodes: (rolloutId: number) => resolveRolloutNodes(db, rolloutId),
    recordRolloutNode: (rolloutId: number, nodeId: number, outcome: RolloutOutcome) => recordRolloutNode(db, rolloutId, nodeId, outcome),
    finishRollout: (rolloutId: number) => finishRollout(db, rolloutId),
  };
}

export type ProfileRolloutActivities = ReturnType<typeof createProfileRolloutActivities>;
