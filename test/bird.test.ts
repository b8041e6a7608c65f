// The bird2 adapter against the real BIRD 2 in the BGP lab, driven by agent/bin/bird-bridge:
// rules through the whole stack land at the lab's GoBGP router and leave it on withdraw and
// on TTL expiry; a configuration BIRD refuses (the operator's own part broken) is put back
// and never takes the session down; the bridges refuse unsafe settings.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBridgeAdapter } from '../activities/adapters/bridge.js';
import { expectIdempotentAndLogged } from './support/bridge-idempotence.js';
import { AdapterError } from '../activities/adapters/types.js';
import { routerRib, startBgpLab, waitForRib, type BgpLab, type RibEntry } from './support/bgp-lab.js';
import { expectError } from './support/expect-error.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

const run = promisify(execFile);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../agent/bin');

let lab: BgpLab;
let stack: Stack;
let call: Caller;
let adapterId: number;

beforeAll(async () => {
  lab = await startBgpLab({ bird: true });
  stack = await startStack(inject('env'));
  ({ call } = await stack.tenant());
  const res = await call('POST', '/api/v1/mitigation/adapters', {
    adapter_type: 'bird2',
    name: 'BIRD edge',
    endpoint: lab.birdBridge!.endpoint,
    auth_token: lab.birdBridge!.token,
    config: { communities: ['65003:666'] },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  adapterId = res.body.adapter.id;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await lab?.stop();
});

const BIRD = '127.0.0.5';
const fromBird = (prefix: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix === prefix && e.neighbor === BIRD);
const gone = (prefix: string) => (rib: RibEntry[]) => !rib.some((e) => e.prefix.includes(prefix));

async function rule(body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.rule as { id: number; status: string };
}

describe('bird2', () => {
  it('answers the adapter test through the bridge', async () => {
    const res = await call('POST', `/api/v1/mitigation/adapters/${adapterId}/test`);
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ ok: true, success: true });
    expect(res.body.message ?? res.body.detail ?? JSON.stringify(res.body)).toContain('BIRD');
  });

  it('announces a blackhole with 65535:666, NO_EXPORT and the adapter’s communities, and withdraws it', async () => {
    const r = await rule({ target_ip: '203.0.113.60', intent_type: 'blackhole' });
    expect(r.status).toBe('active');
    const rib = await waitForRib(lab, 'ipv4', fromBird('203.0.113.60/32'), 5000);
    const entry = rib.find((e) => e.prefix === '203.0.113.60/32')!;
    expect(entry.communities).toEqual(expect.arrayContaining(['65535:666', '65535:65281', '65003:666']));
    expect(entry.nextHop).toBe('192.0.2.1');
    expect(readFileSync(lab.birdBridge!.configFile, 'utf8')).toContain('route 203.0.113.60/32 blackhole');
    await call('POST', `/api/v1/mitigation/rules/${r.id}/withdraw`);
    await waitForRib(lab, 'ipv4', gone('203.0.113.60/32'), 5000);
    expect(readFileSync(lab.birdBridge!.configFile, 'utf8')).not.toContain('203.0.113.60');
  });

  it('announces FlowSpec through BIRD’s flow4 table, and ends it on its TTL', async () => {
    const r = await rule({ target_ip: '203.0.113.61', intent_type: 'flowspec', ttl: 3, match: { protocol: 'udp', source_port: 53, destination_port: ['1000-2000', 80], packet_length: '0-512' } });
    const rib = await waitForRib(lab, 'ipv4-flowspec', (x) => x.some((e) => e.prefix.includes('203.0.113.61/32')), 5000);
    const flow = rib.find((e) => e.prefix.includes('203.0.113.61/32'))!;
    expect(flow.prefix).toContain('[protocol: ==udp]');
    expect(flow.prefix).toContain('[source-port: ==53]');
    expect(flow.prefix).toMatch(/destination-port: .*>=1000&<=2000.*==80|destination-port: .*==80.*>=1000&<=2000/);
    // traffic-rate 0: discard.
    expect(flow.extendedCommunities.map((c) => JSON.parse(c))).toContainEqual(expect.objectContaining({ rate: 0 }));
    await waitForRib(lab, 'ipv4-flowspec', gone('203.0.113.61/32'), 15_000);
    await expect.poll(async () => (await call('GET', `/api/v1/mitigation/rules/${r.id}`)).body.rule.status, { timeout: 10_000 }).toBe('expired');
  });

  it('keeps BIRD on its running configuration when BIRD refuses the new one, and the session up', async () => {
    const kept = await rule({ target_ip: '203.0.113.62', intent_type: 'blackhole' });
    await waitForRib(lab, 'ipv4', fromBird('203.0.113.62/32'), 5000);
    const before = readFileSync(lab.birdBridge!.configFile, 'utf8');
    // The operator's own part of the configuration is broken meanwhile.
    const userConf = join(lab.logDir, 'bird-user.conf');
    writeFileSync(userConf, 'protocol static broken { ipv4; route 198.51.100.0/24 nowhere; }\n');
    const refused = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.63', intent_type: 'blackhole' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(502);
    expect(refused.body.error.message).toContain('BIRD refused the configuration');
    expect(readFileSync(lab.birdBridge!.configFile, 'utf8')).toBe(before);
    // The session and the routes it carried are untouched.
    const rib = await routerRib(lab, 'ipv4');
    expect(fromBird('203.0.113.62/32')(rib)).toBe(true);
    expect(rib.some((e) => e.prefix === '203.0.113.63/32')).toBe(false);
    writeFileSync(userConf, '# fixed\n');
    const again = await rule({ target_ip: '203.0.113.63', intent_type: 'blackhole' });
    await waitForRib(lab, 'ipv4', fromBird('203.0.113.63/32'), 5000);
    for (const r of [kept, again]) await call('POST', `/api/v1/mitigation/rules/${r.id}/withdraw`);
    await waitForRib(lab, 'ipv4', (x) => gone('203.0.113.62/32')(x) && gone('203.0.113.63/32')(x), 5000);
  });

  it('says BIRD does not answer while it is down (retried, not refused), and announces once it is back', async () => {
    await lab.kill('bird');
    const down = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.65', intent_type: 'blackhole' });
    // Retried for a few seconds (a refusal would fail at once), then failed with the reason.
    expect(down.status, JSON.stringify(down.body)).toBe(502);
    expect(down.body.error.message).toContain('BIRD does not answer');
    expect(down.body.error.message).not.toContain('refused the configuration');
    await lab.revive('bird');
    const up = await rule({ target_ip: '203.0.113.65', intent_type: 'blackhole' });
    await waitForRib(lab, 'ipv4', fromBird('203.0.113.65/32'), 10_000);
    await call('POST', `/api/v1/mitigation/rules/${up.id}/withdraw`);
    await waitForRib(lab, 'ipv4', gone('203.0.113.65/32'), 5000);
  }, 60_000);

  it('takes many changes at once (applied together while BIRD reconfigures), each answered', async () => {
    const adapter = createBridgeAdapter('BIRD')({ endpoint: lab.birdBridge!.endpoint, authToken: lab.birdBridge!.token, timeoutMs: 10_000, targets: { allowPrivate: true } });
    try {
      const intents = Array.from({ length: 30 }, (_, i) => ({ kind: 'blackhole' as const, prefix: `198.51.100.${i + 100}/32`, nextHop: '192.0.2.1', communities: ['65535:666'] }));
      await Promise.all(intents.map((x) => adapter.announce(x)));
      await waitForRib(lab, 'ipv4', (rib) => intents.every((x) => fromBird(x.prefix)(rib)), 10_000);
      expect((await adapter.list!()).length).toBeGreaterThanOrEqual(30);
      await Promise.all(intents.map((x) => adapter.withdraw(x)));
      await waitForRib(lab, 'ipv4', (rib) => intents.every((x) => gone(x.prefix)(rib)), 10_000);
    } finally {
      await adapter.close();
    }
  });

  it('announces twice as once, withdraws what is not there as done, and logs each change with its caller', async () => {
    const adapter = createBridgeAdapter('BIRD')({ endpoint: lab.birdBridge!.endpoint, authToken: lab.birdBridge!.token, timeoutMs: 10_000, targets: { allowPrivate: true } });
    try {
      await expectIdempotentAndLogged(lab, adapter, { bridge: 'bird-bridge', speaker: BIRD, ip: '203.0.113.76', neverAnnounced: '203.0.113.77' });
    } finally {
      await adapter.close();
    }
  });

  it('refuses an intent BIRD must never see, before BIRD sees it', async () => {
    const adapter = createBridgeAdapter('BIRD')({ endpoint: lab.birdBridge!.endpoint, authToken: lab.birdBridge!.token, timeoutMs: 5000, targets: { allowPrivate: true } });
    try {
      const bad = { kind: 'blackhole', prefix: '203.0.113.64/32"; } protocol x {', nextHop: '192.0.2.1', communities: ['65535:666'] };
      const err = await adapter.announce(bad as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterError);
      expect((err as AdapterError).retryable).toBe(false);
      expect((err as Error).message).toMatch(/^prefix "203\.0\.113\.64\/32"; \} protocol x \{" (is not a valid IP prefix|has an invalid prefix length)$/);
      expect(await adapter.list!()).toEqual([]);
    } finally {
      await adapter.close();
    }
  });
});

describe('bridges beside speakers', () => {
  const bridgeExit = (file: string, env: Record<string, string>) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [join(BIN, file)], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const timer = setTimeout(() => child.kill(), 3000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, err });
      });
    });

  it.each([
    ['exabgp-bridge', 'EXABGP_BRIDGE'],
    ['bird-bridge', 'BIRD_BRIDGE'],
    ['frr-bridge', 'FRR_BRIDGE'],
  ])('%s refuses to listen beyond loopback without a token', async (file, prefix) => {
    const dir = mkdtempSync(join(tmpdir(), 'bwk-bridge-'));
    const { code, err } = await bridgeExit(file, { [`${prefix}_LISTEN`]: '0.0.0.0:0', [`${prefix}_TOKEN`]: '', BIRD_BRIDGE_CONFIG: join(dir, 'b.conf'), FRR_BRIDGE_ASN: '65004' });
    expect(code).toBe(2);
    expect(err).toContain(`refusing to listen on 0.0.0.0:0 without ${prefix}_TOKEN`);
  });

  it('serves TLS with a certificate, and the adapter verifies it with the configured CA, never without', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bwk-tls-'));
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [join(BIN, 'bird-bridge')], {
      env: { ...process.env, BIRD_BRIDGE_LISTEN: `127.0.0.1:${port}`, BIRD_BRIDGE_TOKEN: 'tls-token', BIRD_BRIDGE_TLS_CERT: join(dir, 'cert.pem'), BIRD_BRIDGE_TLS_KEY: join(dir, 'key.pem'), BIRD_BRIDGE_CONFIG: join(dir, 'b.conf'), BIRD_BRIDGE_SOCKET: join(dir, 'none.ctl') },
      stdio: 'ignore',
    });
    try {
      const settings = { endpoint: `https://127.0.0.1:${port}`, authToken: 'tls-token', timeoutMs: 3000, targets: { allowPrivate: true } };
      const unverified = createBridgeAdapter('BIRD')(settings);
      const verified = createBridgeAdapter('BIRD')({ ...settings, config: { tls_ca: readFileSync(join(dir, 'cert.pem'), 'utf8') } });
      await expect.poll(async () => (await verified.list!().then(() => 'up', (e: Error) => e.message)), { timeout: 5000 }).toBe('up');
      const refused = await unverified.test().catch((e: unknown) => e as AdapterError);
      expect(refused).toBeInstanceOf(AdapterError);
      expect((refused as AdapterError).message).toContain('TLS certificate does not verify');
      expect((refused as AdapterError).retryable).toBe(false);
      // Past TLS, the bridge says what is wrong behind it: no BIRD on that socket.
      await expect(verified.test()).rejects.toThrow(/BIRD does not answer/);
      await Promise.all([unverified.close(), verified.close()]);
    } finally {
      child.kill();
    }
  });

  it('an adapter refuses a CA that is not PEM, naming the field', async () => {
    const res = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'bird2', name: 'x', endpoint: 'https://10.0.0.1:5001', config: { tls_ca: 'not a cert' } });
    expectError(res, 400, 'invalid_parameter', 'config.tls_ca');
  });
});
