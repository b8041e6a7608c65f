// The node-command workflow's contract: its id and options. Pure; shared by the workflow,
// the incident workflow that starts it as a child, and its client (clients/node-command.ts).
export type { NodeCommand, NodeCommandResult } from '../domain/node-command.js';

/** One workflow per command: `unique` is a fresh UUID (uuid4() inside a workflow). */
export const nodeCommandWorkflowId = (nodeUuid: string, unique: string) => `node-command:${nodeUuid}:${unique}`;

export interface NodeCommandOptions {
  /** How long the agent may stay silent (it long-polls, which heartbeats the command). */
  heartbeatTimeoutSeconds: number;
}
