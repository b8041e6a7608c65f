// The node-command family's way in: run a command on a node's agent as its own workflow,
// and complete or heartbeat the activity that waits for the agent's answer (the activity
// records the command with its task token and completes asynchronously).
import { randomUUID } from 'node:crypto';
import { ActivityNotFoundError } from '@temporalio/client';
import { nodeCommandAbout, nodeCommandWorkflowId, type NodeCommand, type NodeCommandOptions, type NodeCommandResult } from '../workflows/node-command.contract.js';
import { nodeCommandWorkflow } from '../workflows/node-command.js';
import { describedAs, withDeadline, type TemporalDeps } from './temporal.js';

/**
 * Starts the command's workflow and waits up to `waitMs` for its outcome (null: still
 * running, followed in the Temporal UI by `workflowId`).
 */
export async function runNodeCommand(
  t: TemporalDeps,
  node: { id: number; uuid: string; workspaceId?: number },
  command: NodeCommand,
  opts: NodeCommandOptions,
  waitMs: number,
): Promise<{ workflowId: string; outcome: NodeCommandResult | null }> {
  const workflowId = nodeCommandWorkflowId(node.uuid, randomUUID());
  const about = nodeCommandAbout(node.uuid, command, { workspaceId: node.workspaceId });
  const handle = await t.temporal.workflow.start(nodeCommandWorkflow, { workflowId, taskQueue: t.taskQueue, args: [node.id, command, opts], ...(await describedAs(t, about.labels, about.summary)) });
  const outcome = await withDeadline(
    handle.result().catch((err: Error): NodeCommandResult => ({ ok: false, error: `the command's workflow failed: ${err.cause instanceof Error ? err.cause.message : err.message}` })),
    waitMs,
  );
  return { workflowId, outcome };
}

/** Tells Temporal the agent is alive for this command; false when Temporal stopped waiting for it. */
export async function heartbeatCommand(t: TemporalDeps, taskToken: string): Promise<boolean> {
  return stillWaiting(() => t.temporal.activity.heartbeat(Buffer.from(taskToken, 'base64')));
}

/** Hands the agent's answer to the waiting activity; false when Temporal stopped waiting for it. */
export async function completeCommand(t: TemporalDeps, taskToken: string, result: NodeCommandResult): Promise<boolean> {
  return stillWaiting(() => t.temporal.activity.complete(Buffer.from(taskToken, 'base64'), result));
}

async function stillWaiting(call: () => Promise<void>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (err instanceof ActivityNotFoundError) return false;
    throw err;
  }
}
