// Detection end to end with real traffic: an attacker namespace floods a victim namespace
// where the real agent runs, as it ships (the one-file bundle scripts/build-agent.mjs
// makes, run by plain node); the incident opens at the API with the right family, the
// incident workflow announces at the lab router per the policy, and withdraws after the
// flood stops. Floods are bounded in packets and seconds.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routerRib, waitForRib, type BgpLabInfo, type RibEntry } from './support/bgp-lab.js';
import type { FloodKind, FloodLab } from './support/flood-lab.js';
import { startAgentHost, type AgentHost } from './support/agent-host.js';
import type { Caller, Stack } from './support/stack.js';

const VICTIM = '203.0.113.200';
let stack: Stack;
let bgp: BgpLabInfo & { stop(): Promise<void> };
let lab: FloodLab;
let user: { call: Caller };
let nodeUuid: string;
let host: AgentHost;

beforeAll(async () => {
  const bundle = join(mkdtempSync(join(tmpdir(), 'bwk-agent-bundle-')), 'agent.mjs');
  execFileSync(process.execPath, ['scripts/build-agent.mjs', '--outfile', bundle], { stdio: ['ignore', 'ignore', 'inherit'] });
  host = await startAgentHost(inject('env'), { victim: VICTIM, name: 'victim', healthPort: 9731, agentArgs: ['--baseline-min-samples', '3'], bundle });
  ({ stack, bgp, lab, user, nodeUuid } = host);
});
afterAll(async () => {
  await host?.stop();
});

const incidents = async () => (await user.call('GET', `/api/v1/incidents?node=${nodeUuid}`)).body.incidents as Array<{ id: number; status: string; family: string; subtype: string | null }>;
const flowFor = (rib: RibEntry[]) => rib.some((e) => e.prefix.startsWith(`[destination: ${VICTIM}/32]`));

describe('floods against a host running the agent', () => {
  it('opens nothing for a benign burst below the threshold', async () => {
    await lab.flood('udp', { packets: 300, intervalUs: 5000 });
    await new Promise((r) => setTimeout(r, 2000));
    expect(await incidents()).toEqual([]);
  });

  const cases: Array<[FloodKind, string, string | null]> = [
    ['udp', 'udp_flood', null],
    ['syn', 'syn_flood', null],
    ['icmp', 'icmp_flood', null],
    ['dns_amplification', 'udp_flood', 'dns_amplification'],
  ];
  it.each(cases)('%s flood: an incident with the right family, a FlowSpec rule at the router, withdrawn after the flood', async (kind, family, subtype) => {
    const before = (await incidents()).length;
    const flood = lab.flood(kind, { packets: 40_000, intervalUs: 100, maxSeconds: 8 });
    await expect.poll(async () => (await incidents()).length, { timeout: 10_000, interval: 100 }).toBe(before + 1);
    await waitForRib(bgp, 'ipv4-flowspec', flowFor, 10_000);
    await flood;
    // The capture's classification refines what the counters first said.
    await expect.poll(async () => (await incidents())[0]!.family, { timeout: 15_000, interval: 250 }).toBe(family);
    expect((await incidents())[0]!.subtype).toBe(subtype);
    // The agent resolves after its hold-down; the workflow withdraws after the policy's.
    await expect.poll(async () => (await incidents())[0]!.status, { timeout: 20_000, interval: 250 }).toBe('resolved');
    await waitForRib(bgp, 'ipv4-flowspec', (r) => !flowFor(r), 15_000);
    expect(flowFor(await routerRib(bgp, 'ipv4-flowspec'))).toBe(false);
    // The capture reached the incident, whole, and tells the same story.
    const id = (await incidents())[0]!.id;
    await expect.poll(async () => (await user.call('GET', `/api/v1/pcaps?incident_id=${id}`)).body.pcaps[0]?.status, { timeout: 15_000, interval: 250 }).toBe('complete');
    const pcap = (await user.call('GET', `/api/v1/pcaps?incident_id=${id}`)).body.pcaps[0];
    expect((await user.call('GET', `/api/v1/pcaps/${pcap.id}/analysis`)).body.analysis).toMatchObject({ family, subtype, target_ip: VICTIM });
  });

  it('dynamic baseline: detects by what is normal for the host, not by the static thresholds', async () => {
    // A static threshold no flood here reaches: only the learned baseline can trigger.
    await user.call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 1_000_000_000 }, baseline_mode: 'dynamic' });
    await expect
      .poll(async () => (await user.call('GET', `/api/v1/nodes/${nodeUuid}`)).body.node.baseline, { timeout: 15_000, interval: 500 })
      .toMatchObject({ mode: 'dynamic', ready: true });
    const before = (await incidents()).length;
    await lab.flood('udp', { packets: 20_000, intervalUs: 100, maxSeconds: 8 });
    await expect.poll(async () => (await incidents()).length, { timeout: 10_000, interval: 200 }).toBe(before + 1);
    const newest = (await incidents())[0]!;
    await expect.poll(async () => (await incidents())[0]!.status, { timeout: 20_000, interval: 250 }).toBe('resolved');
    // Detected, but below every tier: nothing announced.
    expect((await user.call('GET', `/api/v1/incidents/${newest.id}`)).body.rules).toEqual([]);
  });

  it('runs a capture beside other commands, and stop_capture ends it early', async () => {
    const command = (body: unknown) => user.call('POST', `/api/v1/nodes/${nodeUuid}/commands`, body);
    // Taken for the newest incident (the floods above), so it is uploaded to it.
    const incident = (await incidents())[0]!;
    const pcapsOf = async () => (await user.call('GET', `/api/v1/pcaps?incident_id=${incident.id}`)).body.pcaps as Array<{ id: number; status: string }>;
    // Its own capture is uploaded first.
    await expect.poll(async () => (await pcapsOf()).map((p) => p.status), { timeout: 15_000, interval: 250 }).toEqual(['complete']);
    const before = 1;
    let done = false;
    const capturing = command({ type: 'capture', seconds: 25, max_packets: 1_000_000, incident_id: incident.id }).then((r) => {
      done = true;
      return r;
    });
    // While the capture runs, a firewall command is not held up behind it.
    await new Promise((r) => setTimeout(r, 1000));
    const blocked = await command({ type: 'block_source', suite: 'nftables', source: '198.51.100.66' });
    expect(blocked.status, JSON.stringify(blocked.body)).toBe(200);
    expect(blocked.body.command.status).toBe('succeeded');
    expect(done).toBe(false);
    await lab.flood('icmp', { packets: 200, intervalUs: 1000 });
    const stopped = await command({ type: 'stop_capture' });
    expect(stopped.body.command).toMatchObject({ status: 'succeeded', result: { stopped: 1 } });
    const captured = await capturing;
    expect(captured.body.command).toMatchObject({ status: 'succeeded', result: { stopped_early: true, family: 'icmp_flood' } });
    expect(captured.body.command.result.packets).toBeGreaterThanOrEqual(200);
    expect(captured.body.command.result.uploading).toBe(true);
    await expect.poll(async () => (await pcapsOf()).filter((p) => p.status === 'complete').length, { timeout: 15_000, interval: 250 }).toBe(before + 1);
    const newest = (await pcapsOf())[0]!;
    expect((await user.call('GET', `/api/v1/pcaps/${newest.id}/analysis`)).body.analysis).toMatchObject({ family: 'icmp_flood' });
    await command({ type: 'unblock_source', suite: 'nftables', source: '198.51.100.66' });
  });

  it('geo lockdown in the node firewall: the countries dropped while the attack lasts, the allowlist spared, removed after', async () => {
    const run = promisify(execFile);
    const inVictim = (...args: string[]) => run('ip', ['netns', 'exec', lab.pair.b.ns, ...args], { encoding: 'utf8' }).then((r) => r.stdout);
    const geoChain = () => inVictim('nft', 'list', 'chain', 'inet', 'bulwark', 'rs_geo_lockdown').catch(() => '');
    await user.call('POST', '/api/v1/allowlist', { ip_address: '175.45.176.7', label: 'partner in KP' });
    const saved = await user.call('POST', '/api/v1/mitigation/escalation', {
      thresholds: { tier1_pps: 2000, tier2_pps: 10_000_000 },
      baseline_mode: 'static',
      geo_lockdown: { enabled: true, countries: ['KP'], action: 'firewall', suite: 'nftables' },
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    await new Promise((r) => setTimeout(r, 1500)); // the agent takes the static thresholds back

    const before = (await incidents()).length;
    const flood = lab.flood('udp', { packets: 40_000, intervalUs: 100, maxSeconds: 8 });
    await expect.poll(async () => (await incidents()).length, { timeout: 10_000, interval: 100 }).toBe(before + 1);
    // nft lists the set's adjacent prefixes merged into ranges: KP's 175.45.176.0/22 shows
    // around the allowlisted address.
    await expect.poll(geoChain, { timeout: 15_000, interval: 250 }).toContain('175.45.176.8-175.45.179.255');
    const chain = await geoChain();
    expect(chain).toContain('175.45.176.0-175.45.176.6');
    expect(chain).toContain('31.6.16.15');
    expect(chain).toMatch(/ip6 saddr \{ .*2001:4b28:6d00::\/40/);

    // Real packets: from a KP address they are dropped, from the allowlisted one they pass.
    // (The countries' rule: the chain starts with the agent's accepts of its API server and allowlist.)
    const dropped = async () => Number(/ip saddr \{[^}]*\} counter packets (\d+) bytes \d+ drop/.exec(await geoChain())?.[1] ?? NaN);
    const spoof = (source: string) => run('ip', ['netns', 'exec', lab.pair.a.ns, 'hping3', '--udp', '-p', '7777', '-a', source, '-c', '20', '-i', 'u2000', VICTIM]).catch(() => undefined);
    const d0 = await dropped();
    await spoof('175.45.176.9');
    expect((await dropped()) - d0).toBe(20);
    await spoof('175.45.176.7');
    expect((await dropped()) - d0).toBe(20);
    await flood;

    // The agent resolves after its hold-down, the incident steps down after the policy's: the rule set goes.
    await expect.poll(async () => (await incidents())[0]!.status, { timeout: 20_000, interval: 250 }).toBe('resolved');
    await expect.poll(geoChain, { timeout: 20_000, interval: 250 }).toBe('');
    const id = (await incidents())[0]!.id;
    await stack.temporal.workflow.getHandle(`incident:${id}`).result();
    const timeline = (await user.call('GET', `/api/v1/incidents/${id}`)).body.timeline as Array<{ kind: string; message: string }>;
    expect(timeline.filter((e) => e.kind === 'geo_lockdown').map((e) => e.message)).toEqual([
      'geo lockdown: drop traffic from KP to 203.0.113.200: sent to the node\'s agent (nftables)',
      'geo lockdown applied in the node firewall',
      'geo lockdown removed from the node firewall',
    ]);
  });
});
