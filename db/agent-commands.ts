// Commands waiting for (or answered by) a node's agent: the rows the node-command
// activity writes (activities/node-command.ts) and the agent's poll and answers move along
// pending -> delivered -> succeeded | failed.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { DeliveredCommand, NodeCommand, NodeCommandResult } from '../domain/agent-protocol.js';
import { GEO_LOCKDOWN_RULESET } from '../domain/node-command.js';
import { formatPrefix } from '../domain/prefix.js';
import { loadAllowlist } from './allowlist.js';
import { isRowId, type Db } from './client.js';
import { countryPrefixes } from './geoip.js';
import { agentCommands, nodes } from './schema.js';

type NodeRow = typeof nodes.$inferSelect;
export type CommandRow = typeof agentCommands.$inferSelect;
export type CommandHandle = Pick<CommandRow, 'id' | 'taskToken'>;

/** The node's commands in one status, oldest first. */
export async function commandsIn(db: Db, nodeId: number, status: 'pending' | 'delivered'): Promise<CommandHandle[]> {
  return db
    .select({ id: agentCommands.id, taskToken: agentCommands.taskToken })
    .from(agentCommands)
    .where(and(eq(agentCommands.nodeId, nodeId), eq(agentCommands.status, status)))
    .orderBy(asc(agentCommands.id));
}

/** Delivered commands the agent lost (restart, lost answer) go back to pending. */
export async function redeliver(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(agentCommands)
    .set({ status: 'pending', deliveredAt: null })
    .where(and(inArray(agentCommands.id, ids), eq(agentCommands.status, 'delivered')));
}

/** Claims pending commands atomically (a second poll racing this one gets none of them), oldest first. */
export async function claimCommands(db: Db, ids: number[]): Promise<Array<{ id: number; command: NodeCommand }>> {
  const claimed = await db
    .update(agentCommands)
    .set({ status: 'delivered', deliveredAt: sql`now()` })
    .where(and(inArray(agentCommands.id, ids), eq(agentCommands.status, 'pending')))
    .returning({ id: agentCommands.id, command: agentCommands.command });
  return claimed.sort((x, y) => x.id - y.id);
}

export async function findNodeCommand(db: Db, nodeId: number, id: number): Promise<CommandRow | null> {
  if (!isRowId(id)) return null;
  const [row] = await db
    .select()
    .from(agentCommands)
    .where(and(eq(agentCommands.id, id), eq(agentCommands.nodeId, nodeId)));
  return row ?? null;
}

export async function recordCommandResult(db: Db, id: number, result: NodeCommandResult): Promise<void> {
  await db
    .update(agentCommands)
    .set({ status: result.ok ? 'succeeded' : 'failed', result, completedAt: sql`now()` })
    .where(eq(agentCommands.id, id));
}

/** The control plane stopped waiting for the command (its activity is gone). */
export const markAbandoned = (db: Db, id: number) => recordCommandResult(db, id, { ok: false, error: 'abandoned: the control plane stopped waiting' });

/**
 * The command as the agent runs it. geo_lockdown becomes the countries' prefixes (both
 * families, the node's allowlist as it is now cut out) in a rule set named `geo_lockdown`.
 */
export async function commandForAgent(db: Db, node: NodeRow, command: NodeCommand): Promise<DeliveredCommand> {
  if (command.type !== 'geo_lockdown') return command;
  const allow = (await loadAllowlist(db, node.workspaceId, { nodeUuid: node.uuid })).map((e) => e.prefix);
  const sources = ([4, 6] as const).flatMap((family) => countryPrefixes(command.countries, family, allow).map(formatPrefix));
  return { type: 'apply_ruleset', suite: command.suite, ruleset: { name: GEO_LOCKDOWN_RULESET, rules: [{ action: 'drop', sources }] } };
}
