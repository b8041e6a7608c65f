// Benchmark: runbook executions through the whole stack (API, Temporal, worker, PostgreSQL):
// a one-step runbook from POST /run to the execution recorded succeeded (the engine's and
// the bookkeeping's floor), a ten-step one (what each step costs), a webhook step to a
// local receiver, and an incident from its open report to its triggered runbook's first
// step done. Run by hand:
//   npm run bench:runbooks [-- --runs 50]
import { parseArgs } from 'node:util';
import { dryRunNode } from '../test/support/dry-run-incidents.js';
import { createTestEnv } from '../test/support/env.js';
import { startStack, type Caller } from '../test/support/stack.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);
const line = (label: string, xs: number[]) => latencyLine(label, xs, 52);

async function create(call: Caller, name: string, steps: unknown[], trigger: Record<string, unknown> = { family: 'syn_flood', nodes: ['00000000-0000-4000-8000-000000000000'] }) {
  const res = await call('POST', '/api/v1/runbooks', { name, trigger_conditions: trigger, steps });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.runbook.id as number;
}

/** Polls (every 2 ms) until the execution is no longer running; answers the time since `t0`. */
async function done(call: Caller, runbookId: number, executionId: number, t0: number, what = (e: any) => e.status !== 'running'): Promise<number> {
  for (;;) {
    const e = (await call('GET', `/api/v1/runbooks/${runbookId}/executions/${executionId}`)).body.execution;
    if (what(e)) {
      if (e.status === 'failed') throw new Error(e.error);
      return performance.now() - t0;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function timeRuns(call: Caller, runbookId: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const res = await call('POST', `/api/v1/runbooks/${runbookId}/run`);
    out.push(await done(call, runbookId, res.body.execution.id, t0));
  }
  return out;
}

async function main() {
  console.log(`bench: ${RUNS} executions per line; stack with a dev server and PostgreSQL`);
  const { env, teardown } = await createTestEnv('bench');
  const stack = await startStack(env);
  const hooks = await startWebhookReceiver();
  try {
    const { call } = await stack.tenant({ rateLimit: 1_000_000 });
    const log = { action_type: 'log', action_config: { message: 'bench {{incident.target}}' } };
    const one = await timeRuns(call, await create(call, 'one', [log]));
    console.log(line('1 log step: POST /run -> succeeded', one));
    const ten = await timeRuns(call, await create(call, 'ten', Array.from({ length: 10 }, () => log)));
    console.log(line('10 log steps: POST /run -> succeeded', ten));
    const webhook = await timeRuns(call, await create(call, 'hook', [{ action_type: 'webhook', action_config: { url: hooks.url, body: { t: '{{incident.target}}' }, hmac_secret: 'bench-secret-0123456789' } }]));
    console.log(line('1 signed webhook step: POST /run -> succeeded', webhook));

    const node = await dryRunNode(stack.baseUrl, call, hooks.url, { name: 'bench', ip: '203.0.113.99' });
    const triggered = await create(call, 'on incident', [log], { family: 'udp_flood' });
    const toFirstStep: number[] = [];
    let previous = 0;
    for (let i = 0; i < Math.min(RUNS, 20); i++) {
      const t0 = performance.now();
      await node.agent('POST', '/incidents', { ref: `b${i}`, started_at: new Date().toISOString(), pps: 5000, bps: 4e7, classification: { family: 'udp_flood', confidence: 0.9 } });
      for (;;) {
        const [e] = (await call('GET', `/api/v1/runbooks/${triggered}/executions?limit=1`)).body.executions;
        if (e && e.id > previous && e.steps[0].status === 'succeeded') {
          previous = e.id;
          break;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      toFirstStep.push(performance.now() - t0);
      await node.agent('POST', `/incidents/b${i}/resolve`, {});
    }
    console.log(line('incident report -> its runbook’s first step done', toFirstStep));
  } finally {
    await stack.stop();
    await hooks.close();
    await teardown();
  }
}

await main();
