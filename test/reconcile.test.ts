// Reconciliation against the real speakers: after a restart every active rule is back at
// the router; a route left behind by an ended rule, or injected at the speaker where no
// rule announced it, is withdrawn; a speaker that was down when a TTL expired holds
// nothing of it once it is back.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBridgeAdapter } from '../activities/adapters/bridge.js';
import { createGobgpAdapter } from '../activities/adapters/gobgp.js';
import type { MitigationAdapter } from '../activities/adapters/types.js';
import type { MitigationIntent } from '../domain/intent.js';
import { routerRib, startBgpLab, waitForRib, type BgpLab, type RibEntry, type RibFamily } from './support/bgp-lab.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let lab: BgpLab;
let stack: Stack;
let call: Caller;
const adapters = new Map<'exabgp' | 'gobgp', number>();
/** Talks to a speaker behind Bulwark's back, as a crash or an operator would leave it. */
const direct = new Map<'exabgp' | 'gobgp', MitigationAdapter>();

beforeAll(async () => {
  lab = await startBgpLab();
  stack = await startStack(inject('env'), { reconcileIntervalSeconds: 2 });
  ({ call } = await stack.tenant());
  for (const type of ['exabgp', 'gobgp'] as const) {
    const res = await call('POST', '/api/v1/mitigation/adapters', {
      adapter_type: type,
      name: `lab ${type}`,
      endpoint: type === 'exabgp' ? lab.exabgpBridge.endpoint : lab.gobgpSpeaker.endpoint,
      ...(type === 'exabgp' ? { auth_token: lab.exabgpBridge.token } : {}),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    adapters.set(type, res.body.adapter.id);
  }
  const settings = { timeoutMs: 5000, targets: { allowPrivate: true } };
  direct.set('exabgp', createBridgeAdapter('ExaBGP')({ endpoint: lab.exabgpBridge.endpoint, authToken: lab.exabgpBridge.token, ...settings }));
  direct.set('gobgp', createGobgpAdapter({ endpoint: lab.gobgpSpeaker.endpoint, authToken: null, ...settings }));
});
afterAll(async () => {
  for (const d of direct.values()) await d.close();
  await stack?.stop();
  await lab?.stop();
});

const at = (family: RibFamily, test: (rib: RibEntry[]) => boolean) => routerRib(lab, family).then(test);
const blackhole = (prefix: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix === prefix);
const flow = (dest: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix.includes(dest));

async function rule(body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/mitigation/rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.rule as { id: number; intent_type: string };
}

describe.each(['gobgp', 'exabgp'] as const)('%s', (type) => {
  const n = type === 'gobgp' ? 0 : 100;
  const speaker = type === 'gobgp' ? 'speaker' : 'exabgp';

  it('a restarted speaker has every active rule back at the router within 10 s', async () => {
    const adapterId = adapters.get(type)!;
    const prefixes = [`203.0.113.${10 + n}/32`, `203.0.113.${11 + n}/32`];
    const dest = `203.0.113.${12 + n}`;
    const rules = [
      ...(await Promise.all(prefixes.map((p) => rule({ target_ip: p, intent_type: 'blackhole', adapter_id: adapterId })))),
      await rule({ target_ip: dest, intent_type: 'flowspec', adapter_id: adapterId, match: { protocol: 'udp', source_port: 53 } }),
    ];
    await waitForRib(lab, 'ipv4', (rib) => prefixes.every((p) => blackhole(p)(rib)), 5000);
    await waitForRib(lab, 'ipv4-flowspec', flow(`${dest}/32`), 5000);

    await lab.kill(speaker);
    await waitForRib(lab, 'ipv4', (rib) => prefixes.every((p) => !blackhole(p)(rib)), 10_000);
    await lab.revive(speaker);
    const back = Date.now();
    await waitForRib(lab, 'ipv4', (rib) => prefixes.every((p) => blackhole(p)(rib)), 10_000);
    await waitForRib(lab, 'ipv4-flowspec', flow(`${dest}/32`), 10_000);
    expect(Date.now() - back).toBeLessThan(10_000);
    for (const r of rules) {
      const detail = await call('GET', `/api/v1/mitigation/rules/${r.id}`);
      expect(detail.body.rule.status).toBe('active');
      expect(detail.body.repairs.map((x: { kind: string }) => x.kind)).toContain('reannounced');
    }
    for (const r of rules) await call('POST', `/api/v1/mitigation/rules/${r.id}/withdraw`);
    await waitForRib(lab, 'ipv4', (rib) => prefixes.every((p) => !blackhole(p)(rib)), 5000);
  });

  it('withdraws within 10 s a route left after its rule ended, and one injected that no rule owns', async () => {
    const adapterId = adapters.get(type)!;
    const prefix = `203.0.113.${20 + n}/32`;
    const ended = await rule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId });
    const intent = (await call('GET', `/api/v1/mitigation/rules/${ended.id}`)).body.rule;
    await call('POST', `/api/v1/mitigation/rules/${ended.id}/withdraw`);
    await waitForRib(lab, 'ipv4', (rib) => !blackhole(prefix)(rib), 5000);
    // A live rule beside them keeps its route through every round.
    const kept = await rule({ target_ip: `203.0.113.${22 + n}/32`, intent_type: 'blackhole', adapter_id: adapterId });

    // The withdrawal "lost": the same route announced again behind Bulwark's back; and a
    // route injected by hand that no rule ever announced.
    const stray: MitigationIntent = { kind: 'blackhole', prefix, nextHop: intent.next_hop, communities: intent.communities };
    const injected: MitigationIntent = { kind: 'blackhole', prefix: `203.0.113.${21 + n}/32`, nextHop: '192.0.2.1', communities: ['65535:666'] };
    await direct.get(type)!.announce(stray);
    await direct.get(type)!.announce(injected);
    const t0 = Date.now();
    await waitForRib(lab, 'ipv4', (rib) => !blackhole(prefix)(rib) && !blackhole(injected.prefix)(rib), 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const detail = await call('GET', `/api/v1/mitigation/rules/${ended.id}`);
    expect(detail.body.rule.status).toBe('withdrawn');
    // Once or, when a listing raced the withdrawal under load, twice: never anything else.
    const kinds = detail.body.repairs.map((x: { kind: string }) => x.kind);
    expect(kinds.length).toBeGreaterThan(0);
    expect(new Set(kinds)).toEqual(new Set(['withdrew_stray']));
    const adapter = (await call('GET', '/api/v1/mitigation/adapters')).body.adapters.find((a: { id: number }) => a.id === adapterId);
    expect(adapter.last_reconciled_at).not.toBeNull();
    expect(adapter.reconcile_error).toBeNull();
    expect(adapter.recent_repairs).toContainEqual(expect.objectContaining({ kind: 'withdrew_stray', rule_id: null, route: `blackhole ${injected.prefix}` }));
    expect(adapter.recent_repairs).toContainEqual(expect.objectContaining({ kind: 'withdrew_stray', rule_id: ended.id, route: `blackhole ${prefix}` }));

    expect(await at('ipv4', blackhole(`203.0.113.${22 + n}/32`))).toBe(true);
    expect((await call('GET', `/api/v1/mitigation/rules/${kept.id}`)).body.repairs).toEqual([]);
    await call('POST', `/api/v1/mitigation/rules/${kept.id}/withdraw`);
  });
});

describe('a speaker down while a TTL expires', () => {
  it('holds nothing of the rule once it is back, and the rule ends expired', async () => {
    const prefix = '203.0.113.40/32';
    const expiring = await rule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapters.get('gobgp')!, ttl: 3 });
    await waitForRib(lab, 'ipv4', blackhole(prefix), 5000);
    await lab.kill('speaker');
    await new Promise((r) => setTimeout(r, 5000));
    await lab.revive('speaker');
    // Watch the router for 10 s after the speaker is back: the route never returns.
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      expect(await at('ipv4', blackhole(prefix))).toBe(false);
    }
    await expect.poll(async () => (await call('GET', `/api/v1/mitigation/rules/${expiring.id}`)).body.rule.status, { timeout: 60_000, interval: 1000 }).toBe('expired');
    expect(await at('ipv4', blackhole(prefix))).toBe(false);
  }, 120_000);
});

describe('an adapter the reconciler cannot reach', () => {
  it('says so, and forgets it once the adapter points at another back end', async () => {
    const created = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'gobgp', name: 'nobody home', endpoint: '127.0.0.1:9' });
    const id = created.body.adapter.id as number;
    const find = async () => (await call('GET', '/api/v1/mitigation/adapters')).body.adapters.find((a: { id: number }) => a.id === id);
    await expect.poll(async () => (await find()).reconcile_error, { timeout: 15_000 }).toMatch(/127\.0\.0\.1:9/);
    const moved = await call('POST', '/api/v1/mitigation/adapters', { id, adapter_type: 'webhook', name: 'now a webhook', endpoint: 'http://127.0.0.1:9/hook' });
    expect(moved.body.adapter).toMatchObject({ last_reconciled_at: null, reconcile_error: null });
    // No schedule watches a webhook: it stays so.
    await new Promise((r) => setTimeout(r, 5000));
    expect(await find()).toMatchObject({ last_reconciled_at: null, reconcile_error: null });
    await call('DELETE', `/api/v1/mitigation/adapters/${id}`);
  }, 40_000);
});
