// Incidents end to end: the agent's reports -> the incident workflow -> tier rules as
// child rule workflows -> real routes at the lab router, and back down; dry run and the
// allowlist; the incident API's filters, timeline and isolation.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { routerRib, startBgpLab, waitForRib, type BgpLabInfo, type RibEntry } from './support/bgp-lab.js';
import { mustParsePrefix, prefixesOverlap } from '../domain/prefix.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startVultrApi, type VultrApi } from './support/vultr-api.js';

let stack: Stack;
let lab: BgpLabInfo & { stop(): Promise<void> };
let user: { call: Caller };
let other: { call: Caller };
let adapterId: number;
let vultr: VultrApi;
let scrubbing: { id: number; config: Record<string, unknown> };

beforeAll(async () => {
  lab = await startBgpLab();
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  other = await stack.tenant();
  const adapter = await user.call('POST', '/api/v1/mitigation/adapters', {
    adapter_type: 'gobgp',
    name: 'lab speaker',
    endpoint: lab.gobgpSpeaker.endpoint,
    capabilities: ['blackhole', 'flowspec'],
    config: { communities: ['65002:666'] },
  });
  expect(adapter.status, JSON.stringify(adapter.body)).toBe(200);
  adapterId = adapter.body.adapter.id;
  // Tier 3 diverts the victim's traffic through a scrubbing integration (a local stand-in of Vultr's API).
  vultr = await startVultrApi();
  const made = vultr.integration();
  const config = { ...made.config, prefixes: ['203.0.113.80/32'] };
  const integration = await user.call('POST', '/api/v1/scrubbing', { type: 'vultr', name: 'victim scrubbing', config, credentials: made.credentials, base_url: vultr.baseUrl });
  expect(integration.status, JSON.stringify(integration.body)).toBe(200);
  scrubbing = { id: integration.body.integration.id, config };
});
afterAll(async () => {
  await stack?.stop();
  await lab?.stop();
  await vultr?.close();
});

const HOLD_DOWN = 2;

/** What an agent sends once it captured and classified the attack's packets. */
function captured(family: string, match: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    family,
    verdict: 'attack',
    evidence: 'capture',
    packets: 1000,
    confidence: 0.97,
    signature: { match, coverage: 0.98, collateral: 0, why: `${JSON.stringify(match)}: 98 % of the attack's packets, none of the rest` },
    ...extra,
  };
}
const UDP_BIG = { protocols: [17], packet_lengths: [{ from: 1000, to: 1500 }] };

async function policy(extra: Record<string, unknown> = {}) {
  const res = await user.call('POST', '/api/v1/mitigation/escalation', {
    thresholds: { tier1_pps: 10_000, tier2_pps: 100_000, tier3_pps: 1_000_000 },
    ttl: { tier1: 600, tier2: 600, tier3: 600 },
    actions: { tier1: 'flowspec', tier2: 'blackhole', tier3: 'scrubbing' },
    adapter_id: adapterId,
    scrubbing_id: scrubbing.id,
    hold_down_seconds: HOLD_DOWN,
    dry_run: false,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

async function node(name: string, ip: string) {
  const res = await user.call('POST', '/api/v1/nodes', { name, ip });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const key = res.body.api_key as string;
  return {
    uuid: res.body.node.uuid as string,
    agent: (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${key}` }),
  };
}

async function incident(id: number) {
  const res = await user.call('GET', `/api/v1/incidents/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { incident: any; timeline: Array<{ kind: string; message: string }>; rules: Array<{ id: number; status: string; intent_type: string }> };
}

const flowFor = (dest: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix.startsWith(`[destination: ${dest}/32]`));
const routeFor = (prefix: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix === prefix);
const not = (p: (rib: RibEntry[]) => boolean) => (rib: RibEntry[]) => !p(rib);

describe('escalation', () => {
  it('walks up the tiers as the attack grows, steps down after the hold-down, and withdraws at the end', async () => {
    await policy();
    const host = await node('victim-1', '203.0.113.80');
    const started = new Date().toISOString();

    // Tier 1: a UDP flood gets a FlowSpec discard for UDP to the target.
    const opened = await host.agent('POST', '/incidents', {
      ref: 'atk-1',
      started_at: started,
      pps: 20_000,
      bps: 160_000_000,
      classification: captured('udp_flood', UDP_BIG, { top_sources: [{ value: '198.51.100.9', packets: 900 }] }),
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    const id = opened.body.incident.id as number;
    expect(opened.body.incident).toMatchObject({ status: 'open', family: 'udp_flood', severity: 'medium', workflow_id: `incident:${id}` });
    // A retried open is the same incident.
    expect((await host.agent('POST', '/incidents', { ref: 'atk-1', started_at: started, pps: 20_000, bps: 1 })).body.incident.id).toBe(id);

    const flows = await waitForRib(lab, 'ipv4-flowspec', flowFor('203.0.113.80'), 10_000);
    expect(flows.find((e) => e.prefix.startsWith('[destination: 203.0.113.80/32]'))!.prefix).toContain('[protocol: ==udp]');
    await expect.poll(async () => (await incident(id)).incident.tier, { timeout: 10_000 }).toBe(1);

    // Tier 2: the attack grows past the blackhole threshold.
    await host.agent('POST', '/incidents/atk-1/update', { pps: 250_000, bps: 2e9 });
    const rib = await waitForRib(lab, 'ipv4', routeFor('203.0.113.80/32'), 10_000);
    expect(rib.find((e) => e.prefix === '203.0.113.80/32')!.communities).toEqual(expect.arrayContaining(['65535:666', '65002:666']));
    await expect.poll(async () => (await incident(id)).incident.tier, { timeout: 10_000 }).toBe(2);
    expect((await incident(id)).incident).toMatchObject({ severity: 'high', peak_pps: 250_000 });

    // Tier 3: past FlowSpec and blackholing, the traffic is diverted through the scrubbing integration.
    expect(vultr.diverting(scrubbing.config)).toBe('off');
    await host.agent('POST', '/incidents/atk-1/update', { pps: 2_000_000, bps: 2e10 });
    await expect.poll(async () => (await incident(id)).incident.tier, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => vultr.diverting(scrubbing.config), { timeout: 15_000 }).toBe('on');
    await expect.poll(async () => (await incident(id)).rules.find((r) => r.intent_type === 'scrubbing')?.status, { timeout: 10_000 }).toBe('active');

    // Falling back to tier 1 figures: after the hold-down, the diversion and the blackhole go, the FlowSpec stays.
    await host.agent('POST', '/incidents/atk-1/update', { pps: 20_000, bps: 1.6e8 });
    await waitForRib(lab, 'ipv4', not(routeFor('203.0.113.80/32')), (HOLD_DOWN + 10) * 1000);
    await expect.poll(() => vultr.diverting(scrubbing.config), { timeout: 15_000 }).toBe('off');
    expect(flowFor('203.0.113.80')(await routerRib(lab, 'ipv4-flowspec'))).toBe(true);
    await expect.poll(async () => (await incident(id)).incident.tier, { timeout: 10_000 }).toBe(1);

    // The agent resolves it: after one more hold-down, the FlowSpec rule goes too.
    const resolved = await host.agent('POST', '/incidents/atk-1/resolve', {});
    expect(resolved.body.incident.status).toBe('resolved');
    await waitForRib(lab, 'ipv4-flowspec', not(flowFor('203.0.113.80')), (HOLD_DOWN + 10) * 1000);
    await stack.temporal.workflow.getHandle(`incident:${id}`).result();

    const { incident: final, timeline, rules } = await incident(id);
    expect(final).toMatchObject({ status: 'resolved', tier: 0, severity: 'critical', peak_pps: 2_000_000 });
    expect(rules.map((r) => [r.intent_type, r.status])).toEqual([
      ['flowspec', 'withdrawn'],
      ['blackhole', 'withdrawn'],
      ['scrubbing', 'withdrawn'],
    ]);
    const kinds = timeline.map((e) => e.kind);
    expect(kinds[0]).toBe('opened');
    expect(kinds.filter((k) => k === 'rule_requested')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'rule_withdrawn')).toHaveLength(3);
    expect(kinds).toContain('resolved');
    expect(kinds).not.toContain('refused');
    expect(timeline.find((e) => e.message.includes('tier 3 scrubbing'))!.message).toContain(`through scrubbing integration ${scrubbing.id} (vultr)`);
    expect((await user.call('GET', '/api/v1/scrubbing')).body.integrations.find((i: { id: number }) => i.id === scrubbing.id)).toMatchObject({ status: 'inactive' });
    expect(timeline.filter((e) => e.kind === 'tier_changed').map((e) => e.message.split(' at ')[0])).toEqual([
      'escalated from tier 0 to tier 1',
      'escalated from tier 1 to tier 2',
      'escalated from tier 2 to tier 3',
      'stepped down from tier 3 to tier 1',
      'stepped down from tier 1 to tier 0',
    ]);
  });

  it('dry run records what it would do and announces nothing', async () => {
    await policy({ dry_run: true });
    const host = await node('victim-2', '203.0.113.81');
    const opened = await host.agent('POST', '/incidents', { ref: 'atk-2', started_at: new Date().toISOString(), pps: 500_000, bps: 4e9, classification: captured('syn_flood', { protocols: [6], tcp_flags: ['syn'], packet_lengths: [{ from: 40, to: 40 }] }) });
    const id = opened.body.incident.id;
    await expect.poll(async () => (await incident(id)).timeline.filter((e) => e.kind === 'dry_run').length, { timeout: 10_000 }).toBe(1);
    const { timeline, rules } = await incident(id);
    expect(timeline.find((e) => e.kind === 'dry_run')!.message).toContain('would announce tier 2 blackhole for 203.0.113.81 ');
    expect(rules).toEqual([]);
    expect(routeFor('203.0.113.81/32')(await routerRib(lab, 'ipv4'))).toBe(false);
    await host.agent('POST', '/incidents/atk-2/resolve', {});
  });

  it('never mitigates an allowlisted target, whatever the policy says', async () => {
    await policy();
    await user.call('POST', '/api/v1/allowlist', { ip_address: '203.0.113.82', label: 'customer router' });
    const host = await node('victim-3', '203.0.113.82');
    const opened = await host.agent('POST', '/incidents', { ref: 'atk-3', started_at: new Date().toISOString(), pps: 500_000, bps: 4e9, classification: captured('icmp_flood', { protocols: [1] }) });
    const id = opened.body.incident.id;
    await expect.poll(async () => (await incident(id)).timeline.filter((e) => e.kind === 'refused').length, { timeout: 10_000 }).toBe(1);
    const { timeline, rules } = await incident(id);
    expect(timeline.find((e) => e.kind === 'refused')!.message).toContain('allowlist');
    expect(rules).toEqual([]);
    expect(routeFor('203.0.113.82/32')(await routerRib(lab, 'ipv4'))).toBe(false);
    await host.agent('POST', '/incidents/atk-3/resolve', {});
  });
});

describe('acting on evidence', () => {
  const timeline = async (id: number) => (await incident(id)).timeline;

  it('drops nothing on the counters’ guess; the capture’s verdict brings the tier’s rule, and a new verdict replaces it', async () => {
    await policy();
    const host = await node('victim-guess', '203.0.113.86');
    // Opened on the counters' guess alone (what an agent sends before any packet was classified).
    const opened = await host.agent('POST', '/incidents', { ref: 'ev-1', started_at: new Date().toISOString(), pps: 20_000, bps: 1.6e8, classification: { family: 'syn_flood', confidence: 0.5, evidence: 'counters', verdict: 'inconclusive' } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    const id = opened.body.incident.id as number;
    expect(opened.body.incident).toMatchObject({ verdict: 'inconclusive', evidence: 'counters' });
    await expect.poll(async () => (await timeline(id)).find((e) => e.kind === 'refused')?.message, { timeout: 10_000 }).toContain('a guess from the counters never drives a dropping rule');
    expect((await incident(id)).incident.tier).toBe(1);
    expect((await incident(id)).rules).toEqual([]);
    expect(flowFor('203.0.113.86')(await routerRib(lab, 'ipv4-flowspec'))).toBe(false);

    // The capture's verdict: an ACK flood of 60-byte packets. The tier's rule follows it.
    await host.agent('POST', '/incidents/ev-1/update', { pps: 20_000, bps: 1.6e8, classification: captured('tcp_flood', { protocols: [6], tcp_flags: ['ack'], packet_lengths: [{ from: 60, to: 60 }] }, { subtype: 'ack' }) });
    const flows = await waitForRib(lab, 'ipv4-flowspec', flowFor('203.0.113.86'), 10_000);
    const first = flows.find((e) => e.prefix.startsWith('[destination: 203.0.113.86/32]'))!.prefix;
    expect(first).toContain('[protocol: ==tcp]');
    expect(first).toContain('[packet-length: ==60]');
    const { timeline: t1, rules: r1 } = await incident(id);
    expect(t1.find((e) => e.kind === 'classified')!.message).toContain('tcp_flood (ack), attack, from 1000 captured packets');
    expect(r1.map((r) => r.status)).toEqual(['active']);

    // The same match, measured again (another coverage, another why): the rule in place stays.
    const workflow = stack.temporal.workflow.getHandle(`incident:${id}`);
    const seq = (await workflow.query<{ seq: number }>('state')).seq;
    const again = captured('tcp_flood', { protocols: [6], tcp_flags: ['ack'], packet_lengths: [{ from: 60, to: 60 }] }, { subtype: 'ack' });
    await host.agent('POST', '/incidents/ev-1/update', { pps: 20_000, bps: 1.6e8, classification: { ...again, signature: { ...again.signature, coverage: 0.91, why: 'measured again' } } });
    // The workflow revised its tier (a timeline key per revision) and kept the rule.
    await expect.poll(async () => (await workflow.query<{ seq: number }>('state')).seq, { timeout: 10_000 }).toBeGreaterThan(seq);
    expect((await incident(id)).rules.map((r) => r.status)).toEqual(['active']);

    // A new verdict mid-attack (the flood changed vector): the new rule goes up, then the old one down.
    await host.agent('POST', '/incidents/ev-1/update', { pps: 20_000, bps: 1.6e8, classification: captured('udp_flood', UDP_BIG) });
    await waitForRib(lab, 'ipv4-flowspec', (rib) => rib.some((e) => e.prefix.startsWith('[destination: 203.0.113.86/32]') && e.prefix.includes('==udp')) && !rib.some((e) => e.prefix === first), 10_000);
    await expect.poll(async () => (await incident(id)).rules.map((r) => r.status), { timeout: 10_000 }).toEqual(['withdrawn', 'active']);
    expect((await timeline(id)).find((e) => e.kind === 'rule_withdrawn')!.message).toMatch(/withdrawn: replaced by rule \d+: the classification is now udp_flood, attack/);

    // The capture now says benign (a flash crowd): the dropping rule goes, nothing replaces it.
    await host.agent('POST', '/incidents/ev-1/update', { pps: 20_000, bps: 1.6e8, classification: { family: 'unknown', verdict: 'benign', evidence: 'capture', packets: 1000, reasons: ['94 % of inbound TCP belongs to flows the host answers'] } });
    await waitForRib(lab, 'ipv4-flowspec', not(flowFor('203.0.113.86')), 10_000);
    await expect.poll(async () => (await incident(id)).rules.map((r) => r.status), { timeout: 10_000 }).toEqual(['withdrawn', 'withdrawn']);
    expect((await timeline(id)).filter((e) => e.kind === 'rule_withdrawn').at(-1)!.message).toContain('no attack signature (benign: 94 % of inbound TCP belongs to flows the host answers)');
    await host.agent('POST', '/incidents/ev-1/resolve', {});
  });

  it('blackholes a benign-looking flood only when the policy says so explicitly', async () => {
    await policy();
    const host = await node('victim-crowd', '203.0.113.87');
    const benign = { family: 'unknown', verdict: 'benign', evidence: 'capture', packets: 2000, reasons: ['downloads: the host sends 40x the bytes it receives'] };
    const opened = await host.agent('POST', '/incidents', { ref: 'ev-2', started_at: new Date().toISOString(), pps: 500_000, bps: 4e9, classification: benign });
    const id = opened.body.incident.id as number;
    await expect.poll(async () => (await timeline(id)).filter((e) => e.kind === 'refused').length, { timeout: 10_000 }).toBe(1);
    expect((await timeline(id)).find((e) => e.kind === 'refused')!.message).toMatch(
      /^tier 2 blackhole for 203\.0\.113\.87 .*no attack signature \(benign: downloads: the host sends 40x the bytes it receives\); nothing dropped, the incident is notified$/,
    );
    expect((await incident(id)).rules).toEqual([]);
    await host.agent('POST', '/incidents/ev-2/resolve', {});

    // The operator's explicit choice: volume that fills the uplink is blackholed whatever it is.
    await policy({ act_without_signature: true });
    expect((await user.call('GET', '/api/v1/mitigation/escalation')).body.policy.act_without_signature).toBe(true);
    const again = await host.agent('POST', '/incidents', { ref: 'ev-3', started_at: new Date().toISOString(), pps: 500_000, bps: 4e9, classification: benign });
    await waitForRib(lab, 'ipv4', routeFor('203.0.113.87/32'), 10_000);
    const { timeline: t, rules } = await incident(again.body.incident.id);
    expect(rules.map((r) => r.intent_type)).toEqual(['blackhole']);
    expect(t.find((e) => e.kind === 'rule_requested')!.message).toContain('the policy acts without an attack signature');
    await host.agent('POST', '/incidents/ev-3/resolve', {});
    await waitForRib(lab, 'ipv4', not(routeFor('203.0.113.87/32')), (HOLD_DOWN + 10) * 1000);
    await policy({ act_without_signature: false });
  });
});

describe('geo lockdown', () => {
  const sourcesTo = (dest: string, rib: RibEntry[]) =>
    rib.filter((e) => e.prefix.startsWith(`[destination: ${dest}/32][source: `)).map((e) => /\[source: ([^\]]+)\]/.exec(e.prefix)![1]!);

  it('announces a FlowSpec discard per country prefix, the allowlist cut out, and withdraws them with the incident', async () => {
    await user.call('POST', '/api/v1/allowlist', { ip_address: '175.45.176.7', label: 'partner in KP' });
    await policy({ geo_lockdown: { enabled: true, countries: ['KP'], action: 'flowspec' } });
    const host = await node('victim-geo', '203.0.113.84');
    const opened = await host.agent('POST', '/incidents', { ref: 'atk-geo', started_at: new Date().toISOString(), pps: 20_000, bps: 1.6e8, classification: captured('udp_flood', UDP_BIG) });
    const id = opened.body.incident.id as number;

    await expect
      .poll(async () => (await incident(id)).timeline.find((e) => e.kind === 'geo_lockdown')?.message, { timeout: 15_000 })
      .toMatch(/^geo lockdown: drop traffic from KP to 203\.0\.113\.84: \d+ FlowSpec rules through adapter \d+$/);
    const count = Number(/(\d+) FlowSpec rules/.exec((await incident(id)).timeline.find((e) => e.kind === 'geo_lockdown')!.message)![1]);
    const rib = await waitForRib(lab, 'ipv4-flowspec', (r) => sourcesTo('203.0.113.84', r).length === count, 15_000);
    const sources = sourcesTo('203.0.113.84', rib);
    // 175.45.176.0/22 around the allowlisted 175.45.176.7, and KP's other prefixes.
    expect(sources).toEqual(expect.arrayContaining(['175.45.176.0/30', '175.45.176.4/31', '175.45.176.6/32', '175.45.176.8/29', '175.45.178.0/23', '31.6.16.15/32']));
    expect(sources.some((s) => prefixesOverlap(mustParsePrefix(s), mustParsePrefix('175.45.176.7')))).toBe(false);

    await host.agent('POST', '/incidents/atk-geo/resolve', {});
    await waitForRib(lab, 'ipv4-flowspec', (r) => sourcesTo('203.0.113.84', r).length === 0 && !flowFor('203.0.113.84')(r), (HOLD_DOWN + 20) * 1000);
    await stack.temporal.workflow.getHandle(`incident:${id}`).result();
    const { rules } = await incident(id);
    expect(rules).toHaveLength(sources.length + 1);
    expect(rules.every((r) => r.status === 'withdrawn')).toBe(true);
  });

  it('drops no country on the counters’ guess: waits for the capture’s attack verdict, and lifts it on a benign one', async () => {
    await policy({ geo_lockdown: { enabled: true, countries: ['KP'], action: 'flowspec' } });
    const host = await node('victim-geo-guess', '203.0.113.83');
    const opened = await host.agent('POST', '/incidents', { ref: 'geo-guess', started_at: new Date().toISOString(), pps: 20_000, bps: 1.6e8, classification: { family: 'udp_flood', confidence: 0.5, evidence: 'counters', verdict: 'inconclusive' } });
    const id = opened.body.incident.id as number;
    const geoNotes = async () => (await incident(id)).timeline.filter((e) => e.kind === 'geo_lockdown').map((e) => e.message);
    await expect.poll(geoNotes, { timeout: 15_000 }).toEqual([
      "geo lockdown: drop traffic from KP to 203.0.113.83: not yet: waiting for the capture's verdict: a guess from the counters never drives a dropping rule",
    ]);
    expect((await incident(id)).rules).toEqual([]);
    expect(sourcesTo('203.0.113.83', await routerRib(lab, 'ipv4-flowspec'))).toEqual([]);

    // The capture shows the attack: the tier's rule and the lockdown go out.
    await host.agent('POST', '/incidents/geo-guess/update', { pps: 20_000, bps: 1.6e8, classification: captured('udp_flood', UDP_BIG) });
    await expect.poll(async () => (await geoNotes()).at(-1), { timeout: 15_000 }).toMatch(/^geo lockdown: drop traffic from KP to 203\.0\.113\.83: \d+ FlowSpec rules through adapter \d+$/);
    const count = Number(/(\d+) FlowSpec rules/.exec((await geoNotes()).at(-1)!)![1]);
    await waitForRib(lab, 'ipv4-flowspec', (r) => sourcesTo('203.0.113.83', r).length === count && flowFor('203.0.113.83')(r), 15_000);

    // A benign verdict (the flood was a flash crowd after all): no country stays dropped.
    await host.agent('POST', '/incidents/geo-guess/update', { pps: 20_000, bps: 1.6e8, classification: { family: 'unknown', verdict: 'benign', evidence: 'capture', packets: 1000, reasons: ['replies to 90 % of it'] } });
    await waitForRib(lab, 'ipv4-flowspec', (r) => sourcesTo('203.0.113.83', r).length === 0 && !flowFor('203.0.113.83')(r), 15_000);
    expect((await geoNotes()).at(-1)).toBe('geo lockdown lifted: the capture shows no attack signature (benign: replies to 90 % of it); nothing dropped, the incident is notified');
    await expect.poll(async () => (await incident(id)).rules.filter((r) => r.status !== 'withdrawn'), { timeout: 10_000 }).toEqual([]);
    expect((await incident(id)).rules).toHaveLength(count + 1);
    await host.agent('POST', '/incidents/geo-guess/resolve', {});
  });

  it('refuses a country too large for FlowSpec, and says to use the firewall', async () => {
    await policy({ geo_lockdown: { enabled: true, countries: ['US'], action: 'flowspec' } });
    const host = await node('victim-geo-us', '203.0.113.85');
    const opened = await host.agent('POST', '/incidents', { ref: 'atk-geo-us', started_at: new Date().toISOString(), pps: 20_000, bps: 1.6e8, classification: captured('udp_flood', UDP_BIG) });
    const id = opened.body.incident.id as number;
    await expect.poll(async () => (await incident(id)).timeline.find((e) => e.kind === 'refused')?.message, { timeout: 15_000 }).toMatch(/needs \d+ FlowSpec routes, more than the 256 .* use action firewall/);
    expect((await incident(id)).rules).toHaveLength(1); // the tier's own rule still goes out
    await host.agent('POST', '/incidents/atk-geo-us/resolve', {});
    await policy({ geo_lockdown: { enabled: false } });
  });
});

describe('incident API', () => {
  it('filters, pages and keeps workspaces apart', async () => {
    const all = await user.call('GET', '/api/v1/incidents');
    expect(all.status).toBe(200);
    expect(all.body.total).toBeGreaterThanOrEqual(3);
    const syn = await user.call('GET', '/api/v1/incidents?family=syn_flood');
    expect(syn.body.incidents.map((i: any) => i.family)).toEqual(['syn_flood']);
    const critical = await user.call('GET', '/api/v1/incidents?severity=critical&status=resolved');
    expect(critical.body.incidents.every((i: any) => i.severity === 'critical' && i.status === 'resolved')).toBe(true);
    const node = syn.body.incidents[0].node;
    expect((await user.call('GET', `/api/v1/incidents?node=${node}`)).body.incidents).toHaveLength(1);
    expect((await user.call('GET', '/api/v1/incidents?since=2999-01-01T00:00:00Z')).body).toEqual({ ok: true, incidents: [], total: 0 });
    expect((await user.call('GET', '/api/v1/incidents?limit=1&offset=1')).body.incidents).toHaveLength(1);

    expect((await other.call('GET', '/api/v1/incidents')).body).toEqual({ ok: true, incidents: [], total: 0 });
    const theirs = await other.call('GET', `/api/v1/incidents/${all.body.incidents[0].id}`);
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('not_found');

    for (const q of ['status=maybe', 'severity=huge', 'family=alien', 'since=yesterday', 'node=abc', 'limit=501', 'offset=-1']) {
      const res = await user.call('GET', `/api/v1/incidents?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('invalid_parameter');
    }
  });
});
