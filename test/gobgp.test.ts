// The GoBGP adapter against real daemons (test/support/bgp-lab.ts): the lab's speaker
// gobgpd (AS 65002) is driven over gRPC, and every check is made at the router gobgpd
// (AS 65000) that receives the routes over BGP. No mocks.
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGobgpClient, type Family, type GobgpClient } from '../activities/adapters/gobgp-api.js';
import { createGobgpAdapter } from '../activities/adapters/gobgp.js';
import { AdapterError, type MitigationAdapter } from '../activities/adapters/types.js';
import type { FlowSpecIntent, MitigationIntent } from '../domain/intent.js';
import { routerRib, startBgpLab, waitForRib, type BgpLabInfo, type RibEntry, type RibFamily } from './support/bgp-lab.js';
import { routerHas, watchRouterRib, type RouterEvent } from './support/router-watch.js';

const run = promisify(execFile);

let lab: BgpLabInfo & { stop(): Promise<void> };
let gobgp: MitigationAdapter;
let router: GobgpClient;

beforeAll(async () => {
  lab = await startBgpLab();
  gobgp = createGobgpAdapter({ endpoint: lab.gobgpSpeaker.endpoint, authToken: null, timeoutMs: 5000, targets: { allowPrivate: true } });
  router = createGobgpClient(lab.router.apiEndpoint);
});
afterAll(async () => {
  router?.close();
  await gobgp?.close();
  await lab?.stop();
});

const SPEAKER = '127.0.0.4';
const FAMILY: Record<RibFamily, Family> = {
  ipv4: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  ipv6: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' },
  'ipv4-flowspec': { afi: 'AFI_IP', safi: 'SAFI_FLOW_SPEC_UNICAST' },
  'ipv6-flowspec': { afi: 'AFI_IP6', safi: 'SAFI_FLOW_SPEC_UNICAST' },
};

const fromSpeaker = (rib: RibEntry[], prefix: string) => rib.filter((e) => e.prefix === prefix && e.neighbor === SPEAKER);
const appear = (family: RibFamily, prefix: string) => waitForRib(lab, family, (r) => fromSpeaker(r, prefix).length === 1, 5000).then((r) => fromSpeaker(r, prefix)[0]!);
const vanish = (family: RibFamily, prefix: string) => waitForRib(lab, family, (r) => !r.some((e) => e.prefix === prefix), 5000);
const extComms = (e: RibEntry) => e.extendedCommunities.map((c) => JSON.parse(c) as { type: number; subtype: number; rate?: number });

/** The router's view of what the speaker sent for `key`: NLRI and attributes as on the wire (hex). */
async function wireBytes(family: RibFamily, key: string): Promise<{ nlri: string; attrs: string[] }> {
  const dests = await router.listPath({ table_type: 'ADJ_IN', name: SPEAKER, family: FAMILY[family], enable_nlri_binary: true, enable_attribute_binary: true });
  const path = dests.find((d) => d.prefix === key)?.paths[0];
  if (!path) throw new Error(`router has no ${family} ${key} from ${SPEAKER}`);
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return { nlri: hex(path.nlri_binary), attrs: path.pattrs_binary.map(hex).sort() };
}

/** The gobgp CLI, pointed at the lab speaker's gRPC API. */
async function speakerCli(args: string[]): Promise<void> {
  const [host, port] = [lab.gobgpSpeaker.endpoint.slice(0, lab.gobgpSpeaker.endpoint.lastIndexOf(':')), lab.gobgpSpeaker.endpoint.slice(lab.gobgpSpeaker.endpoint.lastIndexOf(':') + 1)];
  await run('gobgp', ['-u', host, '-p', port, ...args]);
}

describe('blackhole', () => {
  it('announces IPv4 with its communities and next hop, and withdraws it', async () => {
    const intent: MitigationIntent = { kind: 'blackhole', prefix: '203.0.113.60/32', nextHop: '192.0.2.1', communities: ['65535:666', '65535:65281', '65002:666'] };
    await gobgp.announce(intent);
    await gobgp.announce(intent); // a retry replaces the path, it does not add one
    const entry = await appear('ipv4', '203.0.113.60/32');
    expect(entry.communities).toEqual(['65535:666', '65535:65281', '65002:666']);
    expect(entry.nextHop).toBe('192.0.2.1');
    expect(fromSpeaker(await routerRib(lab, 'ipv4'), '203.0.113.60/32')).toHaveLength(1);
    await gobgp.withdraw(intent);
    await vanish('ipv4', '203.0.113.60/32');
  });

  it('announces IPv6 with its next hop in MP_REACH_NLRI, and withdraws it', async () => {
    const intent: MitigationIntent = { kind: 'blackhole', prefix: '2001:db8:60::1/128', nextHop: '2001:db8::1', communities: ['65535:666', '65535:65281'] };
    await gobgp.announce(intent);
    const entry = await appear('ipv6', '2001:db8:60::1/128');
    expect(entry.communities).toEqual(['65535:666', '65535:65281']);
    expect(entry.nextHop).toBe('2001:db8::1');
    await gobgp.withdraw(intent);
    await vanish('ipv6', '2001:db8:60::1/128');
  });
});

describe('FlowSpec', () => {
  const UDP_DNS: FlowSpecIntent = {
    kind: 'flowspec',
    destination: '203.0.113.61/32',
    match: { protocols: [17], sourcePorts: [{ from: 53, to: 53 }], packetLengths: [{ from: 1000, to: 1500 }] },
    action: { type: 'discard' },
  };
  const UDP_DNS_KEY = '[destination: 203.0.113.61/32][protocol: ==udp][source-port: ==53][packet-length: >=1000&<=1500]';

  it('announces IPv4 discard as traffic-rate 0, and withdraws it', async () => {
    await gobgp.announce(UDP_DNS);
    const entry = await appear('ipv4-flowspec', UDP_DNS_KEY);
    // traffic-rate: transitive experimental (0x80), subtype 6
    expect(extComms(entry)).toEqual([expect.objectContaining({ type: 0x80, subtype: 6, rate: 0 })]);
    await gobgp.withdraw(UDP_DNS);
    await vanish('ipv4-flowspec', UDP_DNS_KEY);
  });

  it('puts on the wire exactly what the gobgp CLI does for the same rules', async () => {
    const cases: Array<{ intent: MitigationIntent; family: RibFamily; key: string; cli: string[] }> = [
      {
        intent: UDP_DNS,
        family: 'ipv4-flowspec',
        key: UDP_DNS_KEY,
        cli: ['global', 'rib', '-a', 'ipv4-flowspec', 'add', 'match', 'destination', '203.0.113.61/32', 'protocol', 'udp', 'source-port', '==53', 'packet-length', '>=1000&<=1500', 'then', 'discard', 'origin', 'igp'],
      },
      {
        intent: { kind: 'flowspec', destination: '203.0.113.62/32', match: { protocols: [6], destinationPorts: [{ from: 80, to: 80 }, { from: 443, to: 443 }], tcpFlags: ['syn'] }, action: { type: 'rate_limit', bytesPerSecond: 125000 } },
        family: 'ipv4-flowspec',
        key: '[destination: 203.0.113.62/32][protocol: ==tcp][destination-port: ==80 ==443][tcp-flags: S]',
        cli: ['global', 'rib', '-a', 'ipv4-flowspec', 'add', 'match', 'destination', '203.0.113.62/32', 'protocol', 'tcp', 'destination-port', '==80', '==443', 'tcp-flags', 'S', 'then', 'rate-limit', '125000', 'origin', 'igp'],
      },
      {
        // "not-a-fragment" is sent as NOT+IsF: the CLI's own not-a-fragment keyword sends value 0 (matches nothing).
        intent: { kind: 'flowspec', destination: '203.0.113.63/32', match: { source: '198.51.100.0/24', fragments: ['not-a-fragment', 'last-fragment'] }, action: { type: 'discard' } },
        family: 'ipv4-flowspec',
        key: '[destination: 203.0.113.63/32][source: 198.51.100.0/24][fragment: !is-fragment last-fragment]',
        cli: ['global', 'rib', '-a', 'ipv4-flowspec', 'add', 'match', 'destination', '203.0.113.63/32', 'source', '198.51.100.0/24', 'fragment', '!is-fragment', 'last-fragment', 'then', 'discard', 'origin', 'igp'],
      },
      {
        intent: { kind: 'flowspec', destination: '2001:db8::62/128', match: { protocols: [17], destinationPorts: [{ from: 1024, to: 65535 }] }, action: { type: 'discard' } },
        family: 'ipv6-flowspec',
        key: '[destination: 2001:db8::62/128/0][protocol: ==udp][destination-port: >=1024&<=65535]',
        cli: ['global', 'rib', '-a', 'ipv6-flowspec', 'add', 'match', 'destination', '2001:db8::62/128', 'protocol', 'udp', 'destination-port', '>=1024&<=65535', 'then', 'discard', 'origin', 'igp'],
      },
      {
        intent: { kind: 'blackhole', prefix: '203.0.113.64/32', nextHop: '192.0.2.1', communities: ['65535:666', '65535:65281', '65002:666'] },
        family: 'ipv4',
        key: '203.0.113.64/32',
        cli: ['global', 'rib', '-a', 'ipv4', 'add', '203.0.113.64/32', 'nexthop', '192.0.2.1', 'community', '65535:666,65535:65281,65002:666', 'origin', 'igp'],
      },
      {
        intent: { kind: 'blackhole', prefix: '2001:db8:64::/48', nextHop: '2001:db8::1', communities: ['65535:666', '65535:65281'] },
        family: 'ipv6',
        key: '2001:db8:64::/48',
        cli: ['global', 'rib', '-a', 'ipv6', 'add', '2001:db8:64::/48', 'nexthop', '2001:db8::1', 'community', '65535:666,65535:65281', 'origin', 'igp'],
      },
    ];
    for (const c of cases) {
      await gobgp.announce(c.intent);
      await appear(c.family, c.key);
      const ours = await wireBytes(c.family, c.key);
      await gobgp.withdraw(c.intent);
      await vanish(c.family, c.key);

      await speakerCli(c.cli);
      await appear(c.family, c.key);
      const theirs = await wireBytes(c.family, c.key);
      expect(ours.nlri.length, c.key).toBeGreaterThan(0);
      await speakerCli(c.cli.map((a) => (a === 'add' ? 'del' : a)));
      await vanish(c.family, c.key);

      expect(ours, c.key).toEqual(theirs);
    }
  });

  it('announces rate-limit as traffic-rate in bytes per second', async () => {
    const intent: MitigationIntent = { ...UDP_DNS, destination: '203.0.113.65/32', action: { type: 'rate_limit', bytesPerSecond: 1_250_000 } };
    const key = UDP_DNS_KEY.replace('203.0.113.61', '203.0.113.65');
    await gobgp.announce(intent);
    expect(extComms(await appear('ipv4-flowspec', key))).toEqual([expect.objectContaining({ subtype: 6, rate: 1_250_000 })]);
    await gobgp.withdraw(intent);
    await vanish('ipv4-flowspec', key);
  });

  it('matches TCP flags as "any of these bits" and fragments by their RFC bits', async () => {
    const syn: MitigationIntent = { kind: 'flowspec', destination: '203.0.113.66/32', match: { protocols: [6], tcpFlags: ['syn'] }, action: { type: 'discard' } };
    const synAck: MitigationIntent = { kind: 'flowspec', destination: '203.0.113.66/32', match: { protocols: [6], tcpFlags: ['syn', 'ack'] }, action: { type: 'discard' } };
    const frag: MitigationIntent = { kind: 'flowspec', destination: '203.0.113.66/32', match: { fragments: ['is-fragment', 'first-fragment'] }, action: { type: 'discard' } };
    const notFrag: MitigationIntent = { kind: 'flowspec', destination: '203.0.113.66/32', match: { protocols: [17], fragments: ['not-a-fragment'] }, action: { type: 'discard' } };
    const keys = [
      '[destination: 203.0.113.66/32][protocol: ==tcp][tcp-flags: S]',
      '[destination: 203.0.113.66/32][protocol: ==tcp][tcp-flags: S A]',
      '[destination: 203.0.113.66/32][fragment: is-fragment first-fragment]',
      '[destination: 203.0.113.66/32][protocol: ==udp][fragment: !is-fragment]',
    ];
    for (const i of [syn, synAck, frag, notFrag]) await gobgp.announce(i);
    for (const k of keys) await appear('ipv4-flowspec', k);
    for (const i of [syn, synAck, frag, notFrag]) await gobgp.withdraw(i);
    await waitForRib(lab, 'ipv4-flowspec', (r) => !r.some((e) => keys.includes(e.prefix)), 5000);
  });

  it('announces IPv6 FlowSpec (prefix offset 0), and withdraws it', async () => {
    const intent: MitigationIntent = {
      kind: 'flowspec',
      destination: '2001:db8::61/128',
      match: { source: '2001:db8:1::/48', protocols: [6], destinationPorts: [{ from: 443, to: 443 }], fragments: ['is-fragment'] },
      action: { type: 'rate_limit', bytesPerSecond: 500_000 },
    };
    const key = '[destination: 2001:db8::61/128/0][source: 2001:db8:1::/48/0][protocol: ==tcp][destination-port: ==443][fragment: is-fragment]';
    await gobgp.announce(intent);
    expect(extComms(await appear('ipv6-flowspec', key))).toEqual([expect.objectContaining({ subtype: 6, rate: 500_000 })]);
    await gobgp.withdraw(intent);
    await vanish('ipv6-flowspec', key);
  });
});

describe('adapter contract', () => {
  it('withdraws a path that was never announced without error', async () => {
    await expect(gobgp.withdraw({ kind: 'blackhole', prefix: '203.0.113.67/32', nextHop: '192.0.2.1', communities: ['65535:666'] })).resolves.toBeUndefined();
    await expect(
      gobgp.withdraw({ kind: 'flowspec', destination: '2001:db8::67/128', match: { protocols: [17] }, action: { type: 'discard' } }),
    ).resolves.toBeUndefined();
  });

  it('lists what it announces, as the intents it was given', async () => {
    const intents: MitigationIntent[] = [
      { kind: 'blackhole', prefix: '203.0.113.68/32', nextHop: '192.0.2.1', communities: ['65535:666', '65535:65281'] },
      { kind: 'blackhole', prefix: '2001:db8:68::/48', nextHop: '2001:db8::1', communities: ['65535:666', '65535:65281', '65002:666'] },
      {
        kind: 'flowspec',
        destination: '203.0.113.68/32',
        match: { source: '198.51.100.0/24', protocols: [6, 17], destinationPorts: [{ from: 80, to: 80 }, { from: 8000, to: 8080 }], tcpFlags: ['syn', 'rst'], packetLengths: [{ from: 0, to: 100 }], fragments: ['not-a-fragment'] },
        action: { type: 'rate_limit', bytesPerSecond: 1_000_000 },
      },
      { kind: 'flowspec', destination: '2001:db8::68/128', match: { protocols: [58] }, action: { type: 'discard' } },
    ];
    for (const i of intents) await gobgp.announce(i);
    const listed = await gobgp.list!();
    for (const i of intents) expect(listed).toContainEqual(i);
    for (const i of intents) await gobgp.withdraw(i);
    const after = await gobgp.list!();
    for (const i of intents) expect(after).not.toContainEqual(i);
  });

  it('answers test() with the speaker identity and a latency', async () => {
    const res = await gobgp.test();
    expect(res.detail).toContain('AS 65002 router-id 127.0.0.4');
    expect(res.detail).toContain('1/1 peers established');
    expect(res.latencyMs).toBeGreaterThan(0);
  });

  it('reports an unreachable speaker as a retryable AdapterError', async () => {
    const dead = createGobgpAdapter({ endpoint: '127.0.0.1:1', authToken: null, timeoutMs: 2000, targets: { allowPrivate: true } });
    const err = await dead.announce({ kind: 'blackhole', prefix: '203.0.113.69/32', nextHop: '192.0.2.1', communities: ['65535:666'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdapterError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toContain('UNAVAILABLE');
    await expect(dead.test()).rejects.toMatchObject({ retryable: true });
    await dead.close();
  });

  it('gives up at the per-call deadline on a speaker that accepts but never answers (retryable)', async () => {
    // A TCP listener that never speaks HTTP/2: the call can only end by its deadline.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const slow = createGobgpAdapter({ endpoint: `127.0.0.1:${port}`, authToken: null, timeoutMs: 300, targets: { allowPrivate: true } });
    try {
      const t0 = performance.now();
      const err = await slow.test().catch((e: unknown) => e);
      const elapsed = performance.now() - t0;
      expect(err).toBeInstanceOf(AdapterError);
      expect(err).toMatchObject({ retryable: true });
      expect((err as Error).message).toContain('DEADLINE_EXCEEDED');
      // Ended by our 300 ms deadline, not by gRPC's own connect timeout (20 s).
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(20_000);
    } finally {
      await slow.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('refuses an intent it cannot encode, without retry and without sending it', async () => {
    for (const intent of [
      { kind: 'blackhole', prefix: '203.0.113.69/32', nextHop: '2001:db8::1', communities: ['65535:666'] },
      { kind: 'blackhole', prefix: '203.0.113.69/24', nextHop: '192.0.2.1', communities: ['65535:666'] },
      { kind: 'blackhole', prefix: '203.0.113.69/32', nextHop: '192.0.2.1', communities: ['65536:666'] },
      { kind: 'flowspec', destination: '203.0.113.69/32', match: { destinationPorts: [{ from: 0, to: 70000 }] }, action: { type: 'discard' } },
      { kind: 'flowspec', destination: '203.0.113.69/32', match: { protocols: [] }, action: { type: 'discard' } },
      { kind: 'flowspec', destination: '203.0.113.69/32', match: { source: '2001:db8::/32' }, action: { type: 'discard' } },
      { kind: 'flowspec', destination: '2001:db8::69/128', match: { fragments: ['dont-fragment'] }, action: { type: 'discard' } },
      { kind: 'flowspec', destination: '203.0.113.69/32', match: {}, action: { type: 'redirect' } },
    ] as unknown as MitigationIntent[]) {
      const err = await gobgp.announce(intent).catch((e: unknown) => e);
      expect(err, JSON.stringify(intent)).toBeInstanceOf(AdapterError);
      expect((err as AdapterError).retryable).toBe(false);
    }
    expect(await routerHas(lab.router.apiEndpoint, 'ipv4', '203.0.113.69/32')).toBe(false);
  });
});

describe('router watch', () => {
  it('sees an announce and a withdraw, unicast and FlowSpec, with the same text as the RIB', async () => {
    const events: RouterEvent[] = [];
    const watch = await watchRouterRib(lab.router.apiEndpoint, (e) => events.push(e));
    try {
      const bh: MitigationIntent = { kind: 'blackhole', prefix: '2001:db8:6a::1/128', nextHop: '2001:db8::1', communities: ['65535:666'] };
      const fs: MitigationIntent = { kind: 'flowspec', destination: '203.0.113.106/32', match: { protocols: [17], sourcePorts: [{ from: 123, to: 123 }] }, action: { type: 'discard' } };
      const fsKey = '[destination: 203.0.113.106/32][protocol: ==udp][source-port: ==123]';
      const seen = (family: string, prefix: string, withdrawn: boolean) => () => events.some((e) => e.family === family && e.prefix === prefix && e.withdrawn === withdrawn && !e.initial);

      await gobgp.announce(bh);
      await gobgp.announce(fs);
      await expect.poll(seen('ipv6', '2001:db8:6a::1/128', false), { timeout: 5000 }).toBe(true);
      await expect.poll(seen('ipv4-flowspec', fsKey, false), { timeout: 5000 }).toBe(true);
      expect(await routerHas(lab.router.apiEndpoint, 'ipv6', '2001:db8:6a::1/128')).toBe(true);
      expect(await routerHas(lab.router.apiEndpoint, 'ipv4-flowspec', fsKey)).toBe(true);
      expect(await routerHas(lab.router.apiEndpoint, 'ipv4-flowspec', '203.0.113.106/32')).toBe(true);
      expect((await routerRib(lab, 'ipv4-flowspec')).map((e) => e.prefix)).toContain(fsKey);

      await gobgp.withdraw(bh);
      await gobgp.withdraw(fs);
      await expect.poll(seen('ipv6', '2001:db8:6a::1/128', true), { timeout: 5000 }).toBe(true);
      await expect.poll(seen('ipv4-flowspec', fsKey, true), { timeout: 5000 }).toBe(true);
      expect(await routerHas(lab.router.apiEndpoint, 'ipv6', '2001:db8:6a::1/128')).toBe(false);
      expect(await routerHas(lab.router.apiEndpoint, 'ipv4-flowspec', fsKey)).toBe(false);
    } finally {
      watch.close();
    }
  });
});
