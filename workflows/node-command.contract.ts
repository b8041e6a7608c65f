// The node-command workflow's contract: its id and options. Pure; shared by the workflow,
// the incident workflow that starts it as a child, and its client (clients/node-command.ts).
import type { NodeCommand } from '../domain/node-command.js';
import type { WorkflowLabels } from './search-attributes.contract.js';
export type { NodeCommand, NodeCommandResult } from '../domain/node-command.js';

/** One workflow per command: `unique` is a fresh UUID (uuid4() inside a workflow). */
export const nodeCommandWorkflowId = (nodeUuid: string, unique: string) => `node-command:${nodeUuid}:${unique}`;

export interface NodeCommandOptions {
  /** How long the agent may stay silent (it long-polls, which heartbeats the command). */
  heartbeatTimeoutSeconds: number;
}

/** What the Temporal UI shows of a command: kind = its type, the node, and (from an incident) the incident. */
export function nodeCommandAbout(nodeUuid: string, command: NodeCommand, more: { workspaceId?: number; incidentId?: number } = {}): { labels: WorkflowLabels; summary: string } {
  const on = `${command.type} on node ${nodeUuid}`;
  return {
    labels: { kind: command.type, node: nodeUuid, ...more },
    summary: more.incidentId === undefined ? on : `${on}, incident ${more.incidentId}`,
  };
}
