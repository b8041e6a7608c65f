// Carpet bombing with real traffic and real agents (issue 13): four hosts of one /29, each
// in a network namespace of its own running the agent, flooded at once from an attacker
// namespace at a rate no host's threshold flags while the prefix's does. The control plane
// opens one prefix incident, the agents' captures classify it, one FlowSpec rule for the
// whole prefix is announced at the lab router, and when the flood ends the incident
// resolves and the rule is withdrawn. Bounded: hping3 by packet count and seconds.
import { eq, inArray, max } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { nodeMetrics, nodes } from '../db/schema.js';
import { routerRib, startBgpLab, waitForRib, type BgpLabInfo, type RibEntry } from './support/bgp-lab.js';
import { startCarpetLab, type CarpetLab } from './support/carpet-lab.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

// 203.0.113.216/29: no other test uses these addresses.
const PREFIX = '203.0.113.216/29';
const VICTIMS = ['203.0.113.217', '203.0.113.218', '203.0.113.219', '203.0.113.220'];
/** A host's threshold (the policy's tier 1) and the prefix's own. */
const HOST_PPS = 2000;
const PREFIX_PPS = 2500;
/** hping3 every 1,000 µs: about 930 pps at each host, under HOST_PPS; about 3,700 together, over PREFIX_PPS. */
const INTERVAL_US = 1000;
const FLOOD_SECONDS = 20;
const HOLD_DOWN = 2;

let bgp: BgpLabInfo & { stop(): Promise<void> };
let stack: Stack;
let lab: CarpetLab;
let user: { call: Caller };
const nodeUuids: string[] = [];

beforeAll(async () => {
  bgp = await startBgpLab();
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  const adapter = await user.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'gobgp', name: 'lab speaker', endpoint: bgp.gobgpSpeaker.endpoint, capabilities: ['blackhole', 'flowspec'] });
  expect(adapter.status, JSON.stringify(adapter.body)).toBe(200);
  const policy = await user.call('POST', '/api/v1/mitigation/escalation', {
    thresholds: { tier1_pps: HOST_PPS, tier2_pps: 10_000_000 },
    actions: { tier1: 'flowspec', tier2: 'blackhole' },
    adapter_id: adapter.body.adapter.id,
    hold_down_seconds: HOLD_DOWN,
  });
  expect(policy.status, JSON.stringify(policy.body)).toBe(200);
  const threshold = await user.call('POST', '/api/v1/mitigation/thresholds', { target_ip: PREFIX, thresholds: { tier1_pps: PREFIX_PPS }, aggregate: true });
  expect(threshold.status, JSON.stringify(threshold.body)).toBe(200);

  lab = await startCarpetLab(stack.baseUrl, VICTIMS);
  const keys: string[] = [];
  for (const [i, ip] of VICTIMS.entries()) {
    const node = await user.call('POST', '/api/v1/nodes', { name: `carpet-${i}`, ip, interface: lab.victims[i]!.iface });
    expect(node.status, JSON.stringify(node.body)).toBe(200);
    nodeUuids.push(node.body.node.uuid);
    keys.push(node.body.api_key);
  }
  // Each agent's health endpoint is on its own namespace's loopback: one port serves all.
  for (const [i, v] of lab.victims.entries()) lab.startAgent(i, ['--api', v.apiUrl, '--key', keys[i]!, '--hold-down-s', String(HOLD_DOWN), '--health', '127.0.0.1:9733', '--config-refresh-s', '1']);
  // Each agent's first heartbeat brings its node online.
  for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 500))) {
    const statuses = await Promise.all(nodeUuids.map(async (u) => (await user.call('GET', `/api/v1/nodes/${u}`)).body.node.status));
    if (statuses.every((s) => s === 'online')) break;
    if (Date.now() > deadline) throw new Error(`the agents never all came online: ${statuses.join(', ')}`);
  }
}, 120_000);

afterAll(async () => {
  await lab?.destroy();
  await stack?.stop();
  await bgp?.stop();
});

interface IncidentView {
  id: number;
  status: string;
  scope: string;
  node: string | null;
  target_ip: string;
  family: string;
  verdict: string;
  evidence: string;
  classification: { reasons?: string[] } | null;
}
const allIncidents = async () => (await user.call('GET', '/api/v1/incidents')).body.incidents as IncidentView[];
const forPrefix = (rib: RibEntry[]) => rib.filter((e) => e.prefix.startsWith(`[destination: ${PREFIX}]`));
const forAHost = (rib: RibEntry[]) => rib.filter((e) => VICTIMS.some((v) => e.prefix.startsWith(`[destination: ${v}/32]`)));

describe('carpet bombing of a /29, four hosts running the agent', () => {
  it('one prefix incident classified by the agents’ captures, one FlowSpec rule for the prefix, withdrawn after the flood', async () => {
    let flooding = true;
    const flood = lab.flood('udp', { packets: (FLOOD_SECONDS * 1_000_000) / INTERVAL_US, intervalUs: INTERVAL_US, maxSeconds: FLOOD_SECONDS + 5 }).finally(() => (flooding = false));
    try {
      // Detection waits for the agents' next metrics batch (every 5 s), the rule for their captures.
      await expect.poll(async () => (await allIncidents()).length, { timeout: 15_000, interval: 250 }).toBeGreaterThan(0);
      const [incident] = await allIncidents();
      expect(incident).toMatchObject({ scope: 'prefix', node: null, target_ip: PREFIX, status: 'open' });

      await waitForRib(bgp, 'ipv4-flowspec', (rib) => forPrefix(rib).length > 0, 20_000).catch(async (err: Error) => {
        const { timeline } = (await user.call('GET', `/api/v1/incidents/${incident!.id}`)).body;
        throw new Error(`${err.message}; the incident's timeline: ${JSON.stringify(timeline.map((e: { kind: string; message: string }) => `${e.kind}: ${e.message}`))}`);
      });
      expect(flooding, 'the rule came after the flood ended: lengthen FLOOD_SECONDS').toBe(true);
      const rib = await routerRib(bgp, 'ipv4-flowspec');
      expect(forPrefix(rib), JSON.stringify(rib.map((e) => e.prefix))).toHaveLength(1);
      expect(forAHost(rib)).toEqual([]);
      const route = forPrefix(rib)[0]!.prefix;
      expect(route).toContain('[protocol: ==udp]');
      expect(route).toContain('[destination-port: ==9999]');

      const detail = (await user.call('GET', `/api/v1/incidents/${incident!.id}`)).body;
      expect(detail.incident, JSON.stringify(detail.incident.classification?.reasons)).toMatchObject({ family: 'udp_flood', verdict: 'attack', evidence: 'capture' });
      expect(detail.rules).toHaveLength(1);
      expect(detail.rules[0]).toMatchObject({ intent_type: 'flowspec', target_ip: PREFIX });
      // Most of the nodes that captured, and at least two, name the family.
      const classified = detail.timeline.find((e: { kind: string }) => e.kind === 'classified');
      const [, agreeing, captured] = /(\d) of (\d) nodes that captured name udp_flood/.exec(classified?.message ?? '') ?? [];
      expect(Number(agreeing), JSON.stringify(detail.timeline)).toBeGreaterThanOrEqual(Math.max(2, Math.ceil(Number(captured) / 2)));

      // While the flood lasts: still the one incident, and no host opened one of its own.
      const all = await allIncidents();
      expect(all.map((i) => ({ scope: i.scope, target_ip: i.target_ip, status: i.status }))).toEqual([{ scope: 'prefix', target_ip: PREFIX, status: 'open' }]);
      for (const uuid of nodeUuids) expect((await user.call('GET', `/api/v1/incidents?node=${uuid}`)).body.incidents).toEqual([]);
    } finally {
      await flood;
    }

    // The premise, as the agents measured it: each host's peak second under a host's threshold, their sum over the prefix's.
    const peaks = (
      await stack.db.db
        .select({ node: nodeMetrics.nodeId, pps: max(nodeMetrics.pps) })
        .from(nodeMetrics)
        .innerJoin(nodes, eq(nodes.id, nodeMetrics.nodeId))
        .where(inArray(nodes.uuid, nodeUuids))
        .groupBy(nodeMetrics.nodeId)
    ).map((p) => Number(p.pps));
    expect(peaks).toHaveLength(VICTIMS.length);
    for (const pps of peaks) expect(pps).toBeLessThan(HOST_PPS);
    expect(peaks.reduce((a, b) => a + b, 0)).toBeGreaterThan(PREFIX_PPS);

    // The flood is over: once the prefix's window (10 s) holds only quiet seconds, it resolves; the rule goes after the hold-down.
    await expect.poll(async () => (await allIncidents()).map((i) => i.status), { timeout: 25_000, interval: 500 }).toEqual(['resolved']);
    await waitForRib(bgp, 'ipv4-flowspec', (rib) => forPrefix(rib).length === 0, (HOLD_DOWN + 15) * 1000);
    expect(forAHost(await routerRib(bgp, 'ipv4-flowspec'))).toEqual([]);
    for (const uuid of nodeUuids) expect((await user.call('GET', `/api/v1/incidents?node=${uuid}`)).body.incidents).toEqual([]);
  }, 90_000);
});
