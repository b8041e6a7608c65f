// Commands to a node's agent, as activities completed asynchronously: the activity
// records the command with its task token and returns without a result; the API completes
// it when the agent posts the outcome (api/routes/agent-commands.ts), and heartbeats it
// while the agent is alive, so a dead agent fails the activity by its heartbeat timeout.
import { activityInfo, CompleteAsyncError } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { agentCommands, nodes } from '../db/schema.js';
import type { NodeCommand, NodeCommandResult } from '../domain/node-command.js';

export function createNodeCommandActivities({ db }: { db: Db }) {
  return {
    async sendNodeCommand(nodeId: number, command: NodeCommand): Promise<NodeCommandResult> {
      const info = activityInfo();
      const [node] = await db.select({ workspaceId: nodes.workspaceId }).from(nodes).where(eq(nodes.id, nodeId));
      if (!node) return { ok: false, error: `node ${nodeId} no longer exists` };
      await db
        .insert(agentCommands)
        .values({
          workspaceId: node.workspaceId,
          nodeId,
          command,
          taskToken: Buffer.from(info.taskToken).toString('base64'),
          activityKey: `${info.workflowExecution?.workflowId}/${info.workflowExecution?.runId}/${info.activityId}/${info.attempt}`,
        })
        .onConflictDoNothing();
      throw new CompleteAsyncError();
    },
  };
}

export type NodeCommandActivities = ReturnType<typeof createNodeCommandActivities>;
