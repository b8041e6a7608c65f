// Commands waiting for (or answered by) a node's agent: the rows the node-command
// activity writes (activities/node-command.ts) and the agent's poll and answers move along
// pending -> delivered -> succeeded | failed.
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { profileRuleSet } from '../domain/attack-profiles.js';
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

export type ResultOutcome =
  | { kind: 'recorded'; status: 'succeeded' | 'failed' }
  | { kind: 'not_found' }
  | { kind: 'not_delivered' }
  | { kind: 'already'; status: CommandRow['status'] }
  | { kind: 'abandoned' };

/**
 * Takes the agent's result for a command delivered to this node, exactly once: the row is
 * locked while `deliver` hands the result to the waiting activity, so a duplicate posted
 * at the same time waits and then finds it answered, and the record always says what the
 * activity (and so the user) was told. `deliver` answers false when the activity no
 * longer waits: the command is then recorded as abandoned.
 */
export async function acceptCommandResult(db: Db, nodeId: number, id: number, result: NodeCommandResult, deliver: (taskToken: string) => Promise<boolean>): Promise<ResultOutcome> {
  if (!isRowId(id)) return { kind: 'not_found' };
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(agentCommands)
      .where(and(eq(agentCommands.id, id), eq(agentCommands.nodeId, nodeId)))
      .for('update');
    if (!row) return { kind: 'not_found' };
    if (row.status === 'pending') return { kind: 'not_delivered' };
    if (row.status !== 'delivered') return { kind: 'already', status: row.status };
    const taken = await deliver(row.taskToken);
    const recorded: NodeCommandResult = taken ? result : ABANDONED;
    await tx
      .update(agentCommands)
      .set({ status: recorded.ok ? 'succeeded' : 'failed', result: recorded, completedAt: sql`now()` })
      .where(eq(agentCommands.id, id));
    return taken ? { kind: 'recorded', status: result.ok ? 'succeeded' : 'failed' } : { kind: 'abandoned' };
  });
}

const ABANDONED: NodeCommandResult = { ok: false, error: 'abandoned: the control plane stopped waiting' };

/** The control plane stopped waiting for the command (its activity is gone). */
export async function markAbandoned(db: Db, id: number): Promise<void> {
  await db.update(agentCommands).set({ status: 'failed', result: ABANDONED, completedAt: sql`now()` }).where(eq(agentCommands.id, id));
}

/**
 * The command as the agent runs it. geo_lockdown becomes the countries' prefixes (both
 * families, the node's allowlist as it is now cut out) in a rule set named `geo_lockdown`;
 * apply_profile the profile's rule set, the node's allowlist as it is now accepted first.
 */
export async function commandForAgent(db: Db, node: NodeRow, command: NodeCommand): Promise<DeliveredCommand> {
  if (command.type === 'apply_profile') {
    const allowlisted = (await loadAllowlist(db, node.workspaceId, { nodeUuid: node.uuid })).map((e) => formatPrefix(e.prefix));
    return { type: 'apply_ruleset', suite: command.suite, ruleset: profileRuleSet(command.profile_id, { allowlisted, custom: command.custom }) };
  }
  if (command.type !== 'geo_lockdown') return command;
  const allow = (await loadAllowlist(db, node.workspaceId, { nodeUuid: node.uuid })).map((e) => e.prefix);
  const sources = ([4, 6] as const).flatMap((family) => countryPrefixes(command.countries, family, allow).map(formatPrefix));
  return { type: 'apply_ruleset', suite: command.suite, ruleset: { name: GEO_LOCKDOWN_RULESET, rules: [{ action: 'drop', sources }] } };
}
