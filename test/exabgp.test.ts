// The ExaBGP adapter and its bridge against the real daemon: the bridge's guard rails and
// queue, and FlowSpec encoded exactly as GoBGP encodes it, as seen at the lab's router.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBridgeAdapter } from '../activities/adapters/bridge.js';
import { createGobgpAdapter } from '../activities/adapters/gobgp.js';
import { AdapterError, type MitigationAdapter } from '../activities/adapters/types.js';
import type { MitigationIntent } from '../domain/intent.js';
import { startBgpLab, waitForRib, type BgpLabInfo } from './support/bgp-lab.js';

let lab: BgpLabInfo & { stop(): Promise<void> };
let exabgp: MitigationAdapter;
let gobgp: MitigationAdapter;

beforeAll(async () => {
  lab = await startBgpLab();
  exabgp = createBridgeAdapter('ExaBGP')({ endpoint: lab.exabgpBridge.endpoint, authToken: lab.exabgpBridge.token, timeoutMs: 5000, targets: { allowPrivate: true } });
  gobgp = createGobgpAdapter({ endpoint: lab.gobgpSpeaker.endpoint, authToken: null, timeoutMs: 5000, targets: { allowPrivate: true } });
});
afterAll(async () => {
  await gobgp?.close();
  await lab?.stop();
});

const bridge = (path: string, init: RequestInit = {}, token = lab.exabgpBridge.token) =>
  fetch(`http://${lab.exabgpBridge.endpoint}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });

describe('ExaBGP bridge', () => {
  it('refuses a wrong token', async () => {
    const res = await bridge('/health', {}, 'nope');
    expect(res.status).toBe(401);
    const adapter = createBridgeAdapter('ExaBGP')({ endpoint: lab.exabgpBridge.endpoint, authToken: 'nope', timeoutMs: 2000, targets: { allowPrivate: true } });
    await expect(adapter.test()).rejects.toMatchObject({ retryable: false });
  });

  it('never passes an invalid intent to ExaBGP, and stays healthy', async () => {
    for (const body of [
      { kind: 'blackhole', prefix: '203.0.113.5/24', nextHop: '192.0.2.1', communities: ['65535:666'] },
      { kind: 'blackhole', prefix: '203.0.113.300/32', nextHop: '192.0.2.1', communities: ['65535:666'] },
      { kind: 'blackhole', prefix: '203.0.113.5/32', nextHop: '2001:db8::1', communities: ['65535:666'] },
      { kind: 'blackhole', prefix: '203.0.113.5/32; withdraw route 0.0.0.0/0', nextHop: '192.0.2.1', communities: ['65535:666'] },
      { kind: 'blackhole', prefix: '203.0.113.5/32', nextHop: '192.0.2.1', communities: ['65535:666 ] next-hop self'] },
      { kind: 'flowspec', destination: '203.0.113.5/32', match: { destinationPorts: [{ from: 0, to: 70000 }] }, action: { type: 'discard' } },
      { kind: 'flowspec', destination: '2001:db8::5/128', match: { fragments: ['is-fragment'] }, action: { type: 'discard' } },
      { kind: 'flowspec', destination: '203.0.113.5/32', match: {}, action: { type: 'redirect' } },
      { kind: 'teleport' },
    ]) {
      const res = await bridge('/announce', { method: 'POST', body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.code).toBe('invalid_intent');
    }
    const health = await (await bridge('/health')).json();
    expect(health).toMatchObject({ ok: true, inflight: 0, queued: 0 });
    const error = await exabgp.announce({ kind: 'blackhole', prefix: '203.0.113.5/24', nextHop: '192.0.2.1', communities: ['65535:666'] }).catch((e) => e);
    expect(error).toBeInstanceOf(AdapterError);
    expect(error.retryable).toBe(false);
  });

  it('keeps one command in flight under 300 concurrent requests, and tracks what it announced', async () => {
    const intents: MitigationIntent[] = Array.from({ length: 300 }, (_, i) => ({
      kind: 'blackhole',
      prefix: `2001:db8:300::${(i + 1).toString(16)}/128`,
      nextHop: '2001:db8::1',
      communities: ['65535:666'],
    }));
    await Promise.all(intents.map((i) => exabgp.announce(i)));
    const rib = await waitForRib(lab, 'ipv6', (r) => r.filter((e) => e.prefix.startsWith('2001:db8:300::')).length === 300, 10_000);
    expect(rib.filter((e) => e.neighbor === '127.0.0.3').length).toBeGreaterThanOrEqual(300);
    expect((await exabgp.list!()).length).toBeGreaterThanOrEqual(300);
    await Promise.all(intents.map((i) => exabgp.withdraw(i)));
    await waitForRib(lab, 'ipv6', (r) => !r.some((e) => e.prefix.startsWith('2001:db8:300::')), 10_000);
    expect(await exabgp.list!()).toEqual([]);
  });
});

describe('ExaBGP and GoBGP', () => {
  it('encode FlowSpec exactly as ExaBGP does (same NLRI at the router)', async () => {
    const intent: MitigationIntent = {
      kind: 'flowspec',
      destination: '203.0.113.70/32',
      match: { protocols: [17], sourcePorts: [{ from: 53, to: 53 }], packetLengths: [{ from: 512, to: 65535 }], fragments: ['not-a-fragment'] },
      action: { type: 'discard' },
    };
    await gobgp.announce(intent);
    await exabgp.announce(intent);
    const rib = await waitForRib(lab, 'ipv4-flowspec', (r) => r.filter((e) => e.prefix.includes('203.0.113.70/32')).length === 2, 5000);
    const [a, b] = rib.filter((e) => e.prefix.includes('203.0.113.70/32'));
    // One NLRI key, two paths (one per speaker): the encodings agree byte for byte.
    expect(a!.prefix).toBe(b!.prefix);
    expect(a!.prefix).toBe('[destination: 203.0.113.70/32][protocol: ==udp][source-port: ==53][packet-length: >=512&<=65535][fragment: !is-fragment]');
    expect(new Set([a!.neighbor, b!.neighbor])).toEqual(new Set(['127.0.0.3', '127.0.0.4']));
    await gobgp.withdraw(intent);
    await exabgp.withdraw(intent);
    await waitForRib(lab, 'ipv4-flowspec', (r) => !r.some((e) => e.prefix.includes('203.0.113.70/32')), 5000);
  });
});
