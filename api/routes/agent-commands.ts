// Commands for agents: long poll, results. Delivering and answering commands completes
// (or heartbeats) the activities that issued them (activities/node-command.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { completeCommand, heartbeatCommand } from '../../clients/node-command.js';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { countryPrefixes } from '../../db/geoip.js';
import { loadAllowlist } from '../../db/allowlist.js';
import { agentCommands } from '../../db/schema.js';
import { GEO_LOCKDOWN_RULESET, type NodeCommand } from '../../domain/node-command.js';
import { formatPrefix } from '../../domain/prefix.js';
import type { AgentEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { CommandPollQuery, CommandResultBody, IdParam, ok } from '../schemas.js';

const CommandSchema = z.object({ id: z.number().int(), command: z.record(z.string(), z.unknown()) }).openapi('AgentCommand');

const pollRoute = createRoute({
  method: 'get',
  path: '/agent/commands',
  summary: 'Long-poll for pending commands',
  description: 'Answers at once when commands are pending, else waits up to `wait` seconds for one. Polling also tells the control plane the agent is alive for the commands it is running.',
  request: { query: CommandPollQuery },
  responses: responses('Commands', ok({ commands: z.array(CommandSchema) })),
});

const resultRoute = createRoute({
  method: 'post',
  path: '/agent/commands/{id}/result',
  summary: 'Report a command’s outcome',
  request: { params: IdParam, ...jsonBody(CommandResultBody) },
  responses: responses('Recorded', ok({ status: z.enum(['succeeded', 'failed']) }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: already answered, or abandoned by the control plane' }),
});

type Vars = AgentEnv['Variables'];

/** Heartbeats the activities behind `rows`; the ones Temporal no longer knows are failed here. */
async function keepAlive(v: Vars, rows: Array<{ id: number; taskToken: string }>): Promise<number[]> {
  const alive: number[] = [];
  for (const row of rows) {
    if (await heartbeatCommand(v.deps, row.taskToken)) alive.push(row.id);
    else {
      await v.deps.db
        .update(agentCommands)
        .set({ status: 'failed', result: { ok: false, error: 'abandoned: the control plane stopped waiting' }, completedAt: sql`now()` })
        .where(eq(agentCommands.id, row.id));
    }
  }
  return alive;
}

async function takePending(v: Vars) {
  const pending = await v.deps.db
    .select({ id: agentCommands.id, taskToken: agentCommands.taskToken })
    .from(agentCommands)
    .where(and(eq(agentCommands.nodeId, v.node.id), eq(agentCommands.status, 'pending')))
    .orderBy(asc(agentCommands.id));
  if (pending.length === 0) return [];
  const alive = new Set(await keepAlive(v, pending));
  const candidates = pending.filter((p) => alive.has(p.id));
  if (candidates.length === 0) return [];
  // Claimed atomically: a second poll racing this one gets none of them.
  const claimed = await v.deps.db
    .update(agentCommands)
    .set({ status: 'delivered', deliveredAt: sql`now()` })
    .where(and(inArray(agentCommands.id, candidates.map((d) => d.id)), eq(agentCommands.status, 'pending')))
    .returning({ id: agentCommands.id, command: agentCommands.command });
  const out = [];
  for (const d of claimed.sort((x, y) => x.id - y.id)) out.push({ id: d.id, command: (await forAgent(v, d.command)) as unknown as Record<string, unknown> });
  return out;
}

/**
 * The command as the agent runs it. geo_lockdown becomes the countries' prefixes (both
 * families, the allowlist as it is now cut out) in a rule set named `geo_lockdown`.
 */
async function forAgent(v: Vars, command: NodeCommand): Promise<NodeCommand> {
  if (command.type !== 'geo_lockdown') return command;
  const allow = (await loadAllowlist(v.deps.db, v.node.workspaceId, { nodeUuid: v.node.uuid })).map((e) => e.prefix);
  const sources = ([4, 6] as const).flatMap((family) => countryPrefixes(command.countries, family, allow).map(formatPrefix));
  return { type: 'apply_ruleset', suite: command.suite, ruleset: { name: GEO_LOCKDOWN_RULESET, rules: [{ action: 'drop', sources }] } };
}

export const agentCommandsRouter = router<AgentEnv>()
  .openapi(pollRoute, async (c) => {
    const { wait, running } = c.req.valid('query');
    // The commands this agent is running are alive as long as it polls. Delivered ones it
    // does not list never reached it or died with its last process: deliver them again.
    const delivered = await c.var.deps.db
      .select({ id: agentCommands.id, taskToken: agentCommands.taskToken })
      .from(agentCommands)
      .where(and(eq(agentCommands.nodeId, c.var.node.id), eq(agentCommands.status, 'delivered')));
    const listed = running === undefined ? null : new Set(running.split(',').filter(Boolean).map(Number));
    const lost = listed ? delivered.filter((d) => !listed.has(d.id)) : [];
    if (lost.length > 0) {
      await c.var.deps.db
        .update(agentCommands)
        .set({ status: 'pending', deliveredAt: null })
        .where(and(inArray(agentCommands.id, lost.map((d) => d.id)), eq(agentCommands.status, 'delivered')));
    }
    await keepAlive(c.var, listed ? delivered.filter((d) => listed.has(d.id)) : delivered);
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const commands = await takePending(c.var);
      if (commands.length > 0 || Date.now() >= deadline) return c.json({ ok: true as const, commands }, 200);
      await new Promise((r) => setTimeout(r, 200));
    }
  })
  .openapi(resultRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const [row] = await c.var.deps.db
      .select()
      .from(agentCommands)
      .where(and(eq(agentCommands.id, id), eq(agentCommands.nodeId, c.var.node.id)));
    if (!row) throw new ApiError('not_found', `command ${id} not found for this node`);
    if (row.status === 'succeeded' || row.status === 'failed') throw new ApiError('conflict', `command ${id} is already ${row.status}`);
    const status = body.ok ? ('succeeded' as const) : ('failed' as const);
    if (!(await completeCommand(c.var.deps, row.taskToken, body))) {
      await c.var.deps.db
        .update(agentCommands)
        .set({ status: 'failed', result: { ok: false, error: 'abandoned: the control plane stopped waiting' }, completedAt: sql`now()` })
        .where(eq(agentCommands.id, id));
      throw new ApiError('conflict', `command ${id} was abandoned by the control plane (it stopped waiting); its result is not used`);
    }
    await c.var.deps.db.update(agentCommands).set({ status, result: body, completedAt: sql`now()` }).where(eq(agentCommands.id, id));
    return c.json({ ok: true as const, status }, 200);
  });
