// Benchmark: applying an attack profile to many nodes and removing it, through the whole
// stack (API, the roll-out workflow, one node-command child per node, the agents' long
// poll), with simulated agents that answer each command as soon as they render it (the
// firewall itself is measured by the tests). Figures: the API's answer for the roll-out
// and per node (command delivered -> result posted is the agents' part, near zero here).
// Run by hand:
//   npm run bench:rollout [-- --nodes 10,50,200]
import { parseArgs } from 'node:util';
import { nftPlan } from '../domain/firewall-nftables.js';
import type { FirewallRuleSet } from '../domain/firewall.js';
import { createTestEnv } from '../test/support/env.js';
import { request, startStack, type Caller, type Stack } from '../test/support/stack.js';

const { values } = parseArgs({ options: { nodes: { type: 'string', default: '10,50,200' } } });
const SIZES = values.nodes.split(',').map(Number);

/** A node whose agent heartbeats, long-polls and answers every command at once. */
function simulatedAgent(stack: Stack, key: string) {
  let stopped = false;
  const agent = (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${key}` });
  const loop = (async () => {
    await agent('POST', '/heartbeat', { traffic_state: 'normal' });
    while (!stopped) {
      const polled = await agent('GET', '/commands?wait=2');
      for (const { id, command } of polled.body.commands ?? []) {
        if (command.type === 'apply_ruleset') nftPlan(command.ruleset as FirewallRuleSet);
        await agent('POST', `/commands/${id}/result`, { ok: true, detail: {} });
      }
    }
  })();
  return { stop: () => ((stopped = true), loop) };
}

async function round(stack: Stack, call: Caller, n: number) {
  const agents = [];
  for (let i = 0; i < n; i++) {
    const node = await call('POST', '/api/v1/nodes', { name: `bench-${n}-${i}`, ip: `203.0.113.${(i % 250) + 1}` });
    agents.push(simulatedAgent(stack, node.body.api_key));
  }
  await new Promise((r) => setTimeout(r, 500)); // heartbeats in: every node online
  let t0 = performance.now();
  const applied = await call('POST', '/api/v1/attack-profiles/apply', { profile_id: 'game_server', suite: 'nftables', node_ids: ['all'] });
  const applyMs = performance.now() - t0;
  if (applied.status !== 200 || applied.body.applied_to !== n) throw new Error(`apply: ${applied.status} ${JSON.stringify(applied.body).slice(0, 300)}`);
  t0 = performance.now();
  const removed = await call('POST', '/api/v1/attack-profiles/remove', { node_ids: ['all'] });
  const removeMs = performance.now() - t0;
  if (removed.status !== 200 || removed.body.removed_from !== n) throw new Error(`remove: ${removed.status} ${JSON.stringify(removed.body).slice(0, 300)}`);
  await Promise.all(agents.map((a) => a.stop()));
  console.log(
    `${String(n).padStart(4)} nodes: apply answered in ${applyMs.toFixed(0).padStart(6)} ms (${(applyMs / n).toFixed(1)} ms/node, ${((n * 1000) / applyMs).toFixed(1)} nodes/s); remove in ${removeMs.toFixed(0).padStart(6)} ms`,
  );
}

async function main() {
  console.log(`bench: game_server applied to and removed from ${SIZES.join(', ')} simulated nodes (roll-out concurrency 8)`);
  const { env, teardown } = await createTestEnv('bench');
  const stack = await startStack(env, { commandHeartbeatTimeoutSeconds: 30 });
  try {
    for (const n of SIZES) {
      // A workspace per size: ["all"] is that many nodes.
      const { call } = await stack.tenant({ rateLimit: 1_000_000 });
      await round(stack, call, n);
    }
  } finally {
    await stack.stop();
    await teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
