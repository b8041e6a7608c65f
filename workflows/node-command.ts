// One command to one node's agent (workflow id `node-command:<node uuid>:<uuid>`), so each
// is visible, with its outcome, in the Temporal UI.
import { ActivityFailure, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { NodeCommandActivities } from '../activities/node-command.js';
import type { NodeCommand, NodeCommandOptions, NodeCommandResult } from './node-command.contract.js';

export async function nodeCommandWorkflow(nodeId: number, command: NodeCommand, opts: NodeCommandOptions): Promise<NodeCommandResult> {
  const { sendNodeCommand } = proxyActivities<NodeCommandActivities>({
    startToCloseTimeout: '10m',
    heartbeatTimeout: opts.heartbeatTimeoutSeconds * 1000,
    // The agent answers once; a silent agent is reported, not retried behind the user's back.
    retry: { maximumAttempts: 1 },
  });
  try {
    return await sendNodeCommand(nodeId, command);
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure) {
      return { ok: false, error: `the agent did not answer within ${opts.heartbeatTimeoutSeconds} s (is it running and polling?)` };
    }
    throw err;
  }
}
