// A host running the real agent against a test's own control plane: the flood lab's victim
// namespace (its agent reaching the API through the lab's proxy), a BGP lab router behind a
// GoBGP adapter, and a policy whose tier 1 (2,000 pps) announces FlowSpec, hold-down 2 s.
import { startBgpLab, type BgpLabInfo } from './bgp-lab.js';
import type { TestEnv } from './env.js';
import { startFloodLab, type FloodLab } from './flood-lab.js';
import { startStack, type Caller, type Stack } from './stack.js';

export interface AgentHost {
  stack: Stack;
  bgp: BgpLabInfo & { stop(): Promise<void> };
  lab: FloodLab;
  user: { call: Caller };
  nodeUuid: string;
  stop(): Promise<void>;
}

/** `bundle`: run that bundle of the agent (scripts/build-agent.mjs) by plain node, not its sources. */
export async function startAgentHost(env: TestEnv, opts: { victim: string; name: string; healthPort: number; agentArgs?: string[]; bundle?: string }): Promise<AgentHost> {
  const bgp = await startBgpLab();
  const stack = await startStack(env);
  const user = await stack.tenant();
  const adapter = await user.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'gobgp', name: 'lab speaker', endpoint: bgp.gobgpSpeaker.endpoint, capabilities: ['blackhole', 'flowspec'] });
  await user.call('POST', '/api/v1/mitigation/escalation', {
    thresholds: { tier1_pps: 2000, tier2_pps: 10_000_000 },
    actions: { tier1: 'flowspec', tier2: 'blackhole' },
    adapter_id: adapter.body.adapter.id,
    hold_down_seconds: 2,
  });
  const node = await user.call('POST', '/api/v1/nodes', { name: opts.name, ip: opts.victim, interface: 'veth-b' });
  const nodeUuid = node.body.node.uuid as string;
  const lab = await startFloodLab(stack.baseUrl, opts.victim);
  const stop = async () => {
    await lab.destroy();
    await stack.stop();
    await bgp.stop();
  };
  lab.startAgent(['--api', lab.apiUrl, '--key', node.body.api_key, '--hold-down-s', '2', '--health', `127.0.0.1:${opts.healthPort}`, '--config-refresh-s', '1', ...(opts.agentArgs ?? [])], { bundle: opts.bundle });
  // The agent's first heartbeat brings the node online.
  for (const deadline = Date.now() + 30_000; ; ) {
    if ((await user.call('GET', `/api/v1/nodes/${nodeUuid}`)).body.node.status === 'online') break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the agent never came online');
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { stack, bgp, lab, user, nodeUuid, stop };
}
