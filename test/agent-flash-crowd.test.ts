// A flash crowd is not an attack (issue 13): real downloads by 40 clients and an ACK flood
// both cross the tier-1 threshold of a host running the real agent; the incident opens at
// once with the rolling capture's classification (captured evidence, not the counters'
// guess): benign for the crowd, whose tier announces nothing at the router, tcp_flood/ack
// A flash crowd is not an attack (issue 13): real HTTPS downloads by 40 clients and an ACK flood
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routerRib, waitForRib, type BgpLabInfo, type RibEntry } from './support/bgp-lab.js';
import type { FloodLab } from './support/flood-lab.js';
import { startAgentHost, type AgentHost } from './support/agent-host.js';
import type { Caller } from './support/stack.js';

const VICTIM = '203.0.113.201';
let bgp: BgpLabInfo & { stop(): Promise<void> };
let lab: FloodLab;
let user: { call: Caller };
let nodeUuid: string;
let host: AgentHost;

beforeAll(async () => {
  host = await startAgentHost(inject('env'), { victim: VICTIM, name: 'web', healthPort: 9732 });
  ({ bgp, lab, user, nodeUuid } = host);
});
afterAll(async () => {
  await host?.stop();
});

interface IncidentView {
  id: number;
  status: string;
  family: string;
  subtype: string | null;
  verdict: string;
  evidence: string;
  classification: { reasons?: string[]; packets?: number } | null;
}
const incidents = async () => (await user.call('GET', `/api/v1/incidents?node=${nodeUuid}`)).body.incidents as IncidentView[];
const flowFor = (rib: RibEntry[]) => rib.some((e) => e.prefix.startsWith(`[destination: ${VICTIM}/32]`));

/** The incident that opens next, as first seen (within `timeoutMs`). */
async function nextIncident(before: number, timeoutMs = 10_000): Promise<IncidentView> {
  await expect.poll(async () => (await incidents()).length, { timeout: timeoutMs, interval: 50 }).toBe(before + 1);
  return (await incidents())[0]!;
}

describe('a flash crowd and an ACK flood against a web server running the agent', () => {
  it('flash crowd of real HTTPS downloads: benign from the first moment, nothing announced', async () => {
    const before = (await incidents()).length;
    let announced = false;
    let crowdDone = false;
    const crowd = lab.flashCrowd({ clients: 40, seconds: 6 }).finally(() => (crowdDone = true));
    const opened = await nextIncident(before);
    // Opened with what the rolling capture held, not with a guess from the counters.
    expect(opened.evidence, JSON.stringify(opened)).toBe('capture');
    expect(opened.verdict, JSON.stringify(opened.classification?.reasons)).toBe('benign');
    // Watched at the router for as long as the crowd lasts: never a FlowSpec rule for the host.
    while (!crowdDone) {
      announced ||= flowFor(await routerRib(bgp, 'ipv4-flowspec'));
      await new Promise((r) => setTimeout(r, 250));
    }
    const { downloads, bytes } = await crowd;
    expect(downloads).toBeGreaterThan(40);
    expect(bytes).toBeGreaterThan(500 * 1024 * 1024);
    expect(announced).toBe(false);
    // The bounded capture (both directions) says the same.
    await expect.poll(async () => (await incidents())[0]!.status, { timeout: 20_000, interval: 250 }).toBe('resolved');
    expect((await incidents())[0]).toMatchObject({ id: opened.id, verdict: 'benign', evidence: 'capture' });
    expect((await user.call('GET', `/api/v1/incidents/${opened.id}`)).body.rules).toEqual([]);
    expect(flowFor(await routerRib(bgp, 'ipv4-flowspec'))).toBe(false);
  });

  it('ACK flood: tcp_flood/ack from the first moment, a FlowSpec rule at the router, withdrawn after', async () => {
    const before = (await incidents()).length;
    const flood = lab.flood('ack', { packets: 40_000, intervalUs: 100, maxSeconds: 8 });
    const opened = await nextIncident(before);
    expect(opened, JSON.stringify(opened.classification?.reasons)).toMatchObject({ evidence: 'capture', verdict: 'attack', family: 'tcp_flood', subtype: 'ack' });
    await waitForRib(bgp, 'ipv4-flowspec', flowFor, 10_000);
    await flood;
    expect((await incidents())[0]).toMatchObject({ id: opened.id, verdict: 'attack', family: 'tcp_flood', subtype: 'ack' });
    await expect.poll(async () => (await incidents())[0]!.status, { timeout: 20_000, interval: 250 }).toBe('resolved');
    await waitForRib(bgp, 'ipv4-flowspec', (r) => !flowFor(r), 15_000);
  });
});
