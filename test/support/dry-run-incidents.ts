// Incidents without a BGP lab: a dry-run escalation policy (tiers at 10k/100k/1M pps, a
// webhook adapter named but never called) and a node whose agent reports over the agent API.
// Plain errors, not vitest's expect: benchmarks use it too.
import { request, type Caller } from './stack.js';

export type AgentCaller = (method: string, path: string, body?: unknown) => ReturnType<typeof request>;

/** Sets the workspace's policy to dry run; answers a node registered at `ip` and its agent. */
export async function dryRunNode(baseUrl: string, call: Caller, hookUrl: string, node: { name: string; ip: string }): Promise<{ uuid: string; agent: AgentCaller }> {
  const adapter = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'hook', endpoint: hookUrl, capabilities: ['blackhole', 'flowspec'] });
  must(adapter);
  const policy = await call('POST', '/api/v1/mitigation/escalation', {
    thresholds: { tier1_pps: 10_000, tier2_pps: 100_000, tier3_pps: 1_000_000 },
    ttl: { tier1: 600, tier2: 600, tier3: 600 },
    actions: { tier1: 'flowspec', tier2: 'blackhole', tier3: 'blackhole' },
    adapter_id: adapter.body.adapter.id,
    hold_down_seconds: 1,
    dry_run: true,
  });
  must(policy);
  const made = await call('POST', '/api/v1/nodes', node);
  must(made);
  return { uuid: made.body.node.uuid, agent: (method, path, body) => request(baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${made.body.api_key}` }) };
}

function must(res: { status: number; body: unknown }): void {
  if (res.status !== 200) throw new Error(`setting up a dry-run incident: HTTP ${res.status} ${JSON.stringify(res.body)}`);
}
