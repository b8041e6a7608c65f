// Carpet bombing end to end: the nodes of a prefix with a threshold of its own report
// metrics no host's threshold would flag; together they cross the prefix's, the control
// plane opens one prefix incident, asks the busiest nodes to capture, and on their agreeing
// verdict announces one FlowSpec rule for the whole prefix at the lab router, withdrawn when
// the prefix falls quiet. Nodes that disagree (one key may be stolen) get no rule.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routerRib, startBgpLab, waitForRib, type BgpLabInfo, type RibEntry } from './support/bgp-lab.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let lab: BgpLabInfo & { stop(): Promise<void> };
let user: { call: Caller };

const HOLD_DOWN = 2;

beforeAll(async () => {
  lab = await startBgpLab();
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  const adapter = await user.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'gobgp', name: 'lab speaker', endpoint: lab.gobgpSpeaker.endpoint, capabilities: ['blackhole', 'flowspec'] });
  expect(adapter.status, JSON.stringify(adapter.body)).toBe(200);
  const policy = await user.call('POST', '/api/v1/mitigation/escalation', {
    thresholds: { tier1_pps: 10_000, tier2_pps: 1_000_000 },
    actions: { tier1: 'flowspec', tier2: 'blackhole' },
    adapter_id: adapter.body.adapter.id,
    hold_down_seconds: HOLD_DOWN,
  });
  expect(policy.status, JSON.stringify(policy.body)).toBe(200);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await lab?.stop();
});

type Agent = (method: string, path: string, body?: unknown) => ReturnType<typeof request>;

async function nodes(prefix: string, hosts: number[], tenant = user): Promise<Agent[]> {
  // The prefix's aggregate threshold: 3x a host's, so no host alone reaches it.
  const t = await tenant.call('POST', '/api/v1/mitigation/thresholds', { target_ip: prefix, thresholds: { tier1_pps: 30_000 }, aggregate: true });
  expect(t.status, JSON.stringify(t.body)).toBe(200);
  const base = prefix.split('/')[0]!.split('.').slice(0, 3).join('.');
  const out: Agent[] = [];
  for (const h of hosts) {
    const res = await tenant.call('POST', '/api/v1/nodes', { name: `cb-${base}.${h}`, ip: `${base}.${h}` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const key = res.body.api_key as string;
    out.push((method, path, body) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${key}` }));
  }
  return out;
}

/** One metrics batch of the last 3 seconds at `pps` (what an agent sends every 5 s). */
const report = (agent: Agent, pps: number) => {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return agent('POST', '/metrics', { samples: [0, 1, 2].map((i) => ({ at: new Date(now - i * 1000).toISOString(), pps, bps: pps * 800 })) });
};

/** Answers the node's capture command, as its agent would, with `classification`. */
async function answerCapture(agent: Agent, classification: Record<string, unknown>) {
  const polled = await agent('GET', '/commands?wait=15');
  const cmd = polled.body.commands.find((c: { command: { type: string } }) => c.command.type === 'capture');
  expect(cmd, JSON.stringify(polled.body)).toBeDefined();
  expect(cmd.command).toMatchObject({ type: 'capture', seconds: 2 });
  const posted = await agent('POST', `/commands/${cmd.id}/result`, { ok: true, detail: { packets: 1500, classification } });
  expect(posted.status, JSON.stringify(posted.body)).toBe(200);
}

async function prefixIncident(prefix: string) {
  const res = await user.call('GET', '/api/v1/incidents?status=open');
  return (res.body.incidents as Array<{ id: number; scope: string; target_ip: string; node: string | null }>).filter((i) => i.target_ip === prefix);
}

const udpFlood = {
  family: 'udp_flood',
  verdict: 'attack',
  evidence: 'capture',
  packets: 1500,
  confidence: 0.95,
  signature: { match: { protocols: [17], destination_ports: [{ from: 27015, to: 27015 }], packet_lengths: [{ from: 28, to: 60 }] }, coverage: 0.97, collateral: 0, why: 'UDP to 27015 of 28-60 bytes' },
};
const benign = { family: 'unknown', verdict: 'benign', evidence: 'capture', packets: 1500, reasons: ['flows the host answers'] };
const forPrefix = (prefix: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix.startsWith(`[destination: ${prefix}]`));

describe('carpet bombing', () => {
  it('opens one prefix incident, and announces one FlowSpec rule for the prefix on the nodes’ agreeing verdict', async () => {
    const prefix = '203.0.113.96/28';
    const agents = await nodes(prefix, [97, 98, 99, 100]);
    // Each host at 8,000 pps: under a host's 10,000; together 32,000, over the prefix's 30,000.
    for (const a of agents.slice(0, 3)) expect((await report(a, 8000)).status).toBe(200);
    expect(await prefixIncident(prefix)).toEqual([]);
    await report(agents[3]!, 8000);
    const [incident] = await prefixIncident(prefix);
    expect(incident).toMatchObject({ scope: 'prefix', node: null, target_ip: prefix });

    // The incident asks the busiest nodes for captures; each agent answers with its verdict.
    await Promise.all(agents.map((a) => answerCapture(a, udpFlood)));
    const rib = await waitForRib(lab, 'ipv4-flowspec', forPrefix(prefix), 15_000);
    const route = rib.find((e) => e.prefix.startsWith(`[destination: ${prefix}]`))!.prefix;
    expect(route).toContain('[destination-port: ==27015]');
    const detail = (await user.call('GET', `/api/v1/incidents/${incident!.id}`)).body;
    expect(detail.rules).toHaveLength(1);
    expect(detail.rules[0]).toMatchObject({ intent_type: 'flowspec', target_ip: prefix });
    expect(detail.incident).toMatchObject({ family: 'udp_flood', verdict: 'attack', evidence: 'capture' });
    // Decided as soon as two nodes agreed, without waiting for the rest.
    expect(detail.timeline.find((e: { kind: string }) => e.kind === 'classified').message).toMatch(/: ([2-4]) of \1 nodes that captured name udp_flood/);

    // Another batch while it lasts: still one incident.
    await report(agents[0]!, 9000);
    expect(await prefixIncident(prefix)).toHaveLength(1);

    // The prefix falls quiet: resolved, and after the hold-down the rule is withdrawn.
    await new Promise((r) => setTimeout(r, 10_500));
    for (const a of agents) await report(a, 100);
    expect(await prefixIncident(prefix)).toEqual([]);
    await waitForRib(lab, 'ipv4-flowspec', (r) => !forPrefix(prefix)(r), (HOLD_DOWN + 15) * 1000);
  }, 90_000);

  it('announces nothing when the nodes disagree, and opens nothing for one busy host', async () => {
    const prefix = '203.0.113.112/28';
    const agents = await nodes(prefix, [113, 114, 115, 116]);
    // One host alone over the prefix's threshold is that host's attack, not carpet bombing.
    await report(agents[0]!, 40_000);
    expect(await prefixIncident(prefix)).toEqual([]);
    await new Promise((r) => setTimeout(r, 10_500));

    for (const a of agents) await report(a, 8000);
    const [incident] = await prefixIncident(prefix);
    expect(incident).toBeDefined();
    // One node (its key may be stolen) says attack; the others see benign traffic.
    await Promise.all(agents.map((a, i) => answerCapture(a, i === 0 ? udpFlood : benign)));
    await expect
      .poll(async () => (await user.call('GET', `/api/v1/incidents/${incident!.id}`)).body.incident.verdict, { timeout: 15_000 })
      .toBe('benign');
    const detail = (await user.call('GET', `/api/v1/incidents/${incident!.id}`)).body;
    expect(detail.rules).toEqual([]);
    expect(forPrefix(prefix)(await routerRib(lab, 'ipv4-flowspec'))).toBe(false);
    for (const a of agents) await report(a, 0);
  }, 90_000);

  it('acts on two agreeing nodes without waiting for a silent third', async () => {
    const prefix = '203.0.113.128/28';
    const agents = await nodes(prefix, [129, 130, 131]);
    for (const a of agents) await report(a, 12_000);
    const [incident] = await prefixIncident(prefix);
    expect(incident).toBeDefined();
    // The third node's agent never answers (dead, say): its command would time out only after a minute.
    await Promise.all(agents.slice(0, 2).map((a) => answerCapture(a, udpFlood)));
    await waitForRib(lab, 'ipv4-flowspec', forPrefix(prefix), 15_000);
    for (const a of agents) await report(a, 0);
  }, 90_000);

  it('sums only the workspace’s own nodes: another tenant’s nodes in the same addresses add nothing', async () => {
    const prefix = '203.0.113.144/28';
    const ours = await nodes(prefix, [145]);
    const theirs = await nodes(prefix, [146, 147], await stack.tenant());
    for (const a of theirs) await report(a, 20_000);
    await report(ours[0]!, 8000);
    // Ours: 8,000 of 30,000; theirs: 40,000 of their own 30,000, so theirs alone opens one.
    expect(await prefixIncident(prefix)).toEqual([]);
    for (const a of [...ours, ...theirs]) await report(a, 0);
  }, 60_000);
});
