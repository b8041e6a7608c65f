// Commands for agents: long poll, results. Delivering and answering commands completes
// (or heartbeats) the activities that issued them (activities/node-command.ts).
import { z } from '@hono/zod-openapi';
import { completeCommand, heartbeatCommand } from '../../clients/node-command.js';
import { acceptCommandResult, claimCommands, commandForAgent, commandsIn, markAbandoned, redeliver, type CommandHandle } from '../../db/agent-commands.js';
import { CommandPollQuery, CommandResultBody, PolledCommandSchema, type PolledCommand } from '../../domain/agent-protocol.js';
import type { AgentEnv } from '../context.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { IdParam, ok } from '../schemas/common.js';

const pollRoute = defineRoute({
  method: 'get',
  path: '/agent/commands',
  summary: 'Long-poll for pending commands',
  description: 'Answers at once when commands are pending, else waits up to `wait` seconds for one. Polling also tells the control plane the agent is alive for the commands it is running.',
  request: { query: CommandPollQuery },
  responses: responses('Commands', ok({ commands: z.array(PolledCommandSchema) })),
});

const resultRoute = defineRoute({
  method: 'post',
  path: '/agent/commands/{id}/result',
  summary: 'Report a command’s outcome',
  request: { params: IdParam, ...jsonBody(CommandResultBody) },
  responses: responses('Recorded', ok({ status: z.enum(['succeeded', 'failed']) }), { ...WRITE_ERRORS, 404: 'not_found', 409: 'conflict: already answered, or abandoned by the control plane' }),
});

type Vars = AgentEnv['Variables'];

/** Heartbeats the activities behind `rows`; the ones Temporal no longer knows are failed here. */
async function keepAlive(v: Vars, rows: CommandHandle[]): Promise<number[]> {
  const alive: number[] = [];
  for (const row of rows) {
    if (await heartbeatCommand(v.deps, row.taskToken)) alive.push(row.id);
    else await markAbandoned(v.deps.db, row.id);
  }
  return alive;
}

async function takePending(v: Vars): Promise<PolledCommand[]> {
  const pending = await commandsIn(v.deps.db, v.node.id, 'pending');
  if (pending.length === 0) return [];
  const alive = await keepAlive(v, pending);
  if (alive.length === 0) return [];
  const out: PolledCommand[] = [];
  for (const d of await claimCommands(v.deps.db, alive)) out.push({ id: d.id, command: await commandForAgent(v.deps.db, v.node, d.command) });
  return out;
}

export const agentCommandsRouter = router<AgentEnv>()
  .openapi(pollRoute, async (c) => {
    const { wait, running } = c.req.valid('query');
    // The commands this agent is running are alive as long as it polls. Delivered ones it
    // does not list never reached it or died with its last process: deliver them again.
    const delivered = await commandsIn(c.var.deps.db, c.var.node.id, 'delivered');
    const listed = running === undefined ? null : new Set(running.split(',').filter(Boolean).map(Number));
    if (listed) await redeliver(c.var.deps.db, delivered.filter((d) => !listed.has(d.id)).map((d) => d.id));
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
    const outcome = await acceptCommandResult(c.var.deps.db, c.var.node.id, id, body, (taskToken) => completeCommand(c.var.deps, taskToken, body));
    switch (outcome.kind) {
      case 'not_found':
        throw new ApiError('not_found', `command ${id} not found for this node`);
      case 'not_delivered':
        throw new ApiError('conflict', `command ${id} was never delivered to this node; poll for it first`);
      case 'already':
        throw new ApiError('conflict', `command ${id} is already ${outcome.status}`);
      case 'abandoned':
        throw new ApiError('conflict', `command ${id} was abandoned by the control plane (it stopped waiting); its result is not used`);
      case 'recorded':
        return c.json({ ok: true as const, status: outcome.status }, 200);
    }
  });
