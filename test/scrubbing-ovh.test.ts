// The OVHcloud provider (Edge Network Firewall) against a local stand-in of OVH's API,
// called directly: the rules each address gets (the allowlist's permits, then the denies,
// in free sequences around the user's own, which stay byte for byte), idempotent and
// resumable enable and disable, the rule limit, OVH's signed requests and server clock,
// refused credentials never retried, 5xx retried, asynchronous application waited out.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOvhProvider } from '../activities/scrubbing/ovh-mitigation.js';
import type { ScrubbingProvider } from '../activities/scrubbing/types.js';
import { config as ovhConfig } from '../domain/scrubbing/ovh-mitigation.js';
import { refusal } from './support/expect-error.js';
import { startOvhApi, type OvhApi, type OvhRule } from './support/ovh-api.js';

let ovh: OvhApi;
beforeAll(async () => {
  ovh = await startOvhApi();
});
afterAll(() => ovh?.close());
beforeEach(() => {
  ovh.applyAfterReads = 0;
  ovh.clockSkewSeconds = 0;
});

/** IPv4 permits first (the IPv6 entry cannot reach an IPv4 address). */
const ALLOWLIST = ['192.0.2.0/24', '2001:db8::/48', '198.51.100.7/32'];

type Config = Record<string, unknown>;
function provider(config: Config, credentials: Record<string, unknown> = {}, timeoutMs = 2000): ScrubbingProvider {
  const good = { application_key: ovh.applicationKey, application_secret: ovh.applicationSecret, consumer_key: ovh.consumerKey };
  return createOvhProvider({ baseUrl: ovh.baseUrl, timeoutMs, targets: { allowPrivate: true }, tag: 'bulwark-7', config: ovhConfig.parse(config), credentials: { ...good, ...credentials } as typeof good });
}
const addresses = (config: Config) => (config.prefixes as string[]).map((p) => p.split('/')[0]!);
/** What matters of each rule on the address, by sequence. */
const rulesOn = (config: Config, ip: string) =>
  (ovh.firewall(config.ip_block as string, ip)?.rules ?? []).map((r: OvhRule) => [r.sequence, r.action, r.protocol, r.source, r.destinationPort, r.state]);
/** The requests that change something, from `from` on. */
const writes = (from: number) => ovh.requests.slice(from).filter((r) => !r.startsWith('GET'));

/** What enable writes on an integration() address: the 2 permits, then udp and the tcp range. */
const EXPECTED = [
  [0, 'permit', 'ipv4', '192.0.2.0/24', null, 'ok'],
  [1, 'permit', 'ipv4', '198.51.100.7/32', null, 'ok'],
  [2, 'deny', 'udp', 'any', null, 'ok'],
  [3, 'deny', 'tcp', 'any', 'range 27015 27030', 'ok'],
];

describe('ovh_mitigation (Edge Network Firewall)', () => {
  it('puts the allowlist’s permits before the denies on every address, switches the firewall on, and off again', async () => {
    const { config } = ovh.integration();
    const p = provider(config);
    for (const ip of addresses(config)) expect(ovh.firewall(config.ip_block as string, ip)).toBeNull();
    expect((await p.status()).state).toBe('off');

    await p.enable({ allowlisted: ALLOWLIST });
    for (const ip of addresses(config)) {
      expect(ovh.firewall(config.ip_block as string, ip)).toMatchObject({ enabled: true, state: 'ok' });
      expect(rulesOn(config, ip)).toEqual(EXPECTED);
    }
    const on = await p.status();
    expect(on.state).toBe('on');
    expect(on.detail).toContain('2/2 deny rules applied');
    expect(ovh.diverting(config)).toBe('on');

    await p.disable();
    for (const ip of addresses(config)) expect(ovh.firewall(config.ip_block as string, ip)).toEqual({ ipOnFirewall: ip, enabled: false, state: 'ok', rules: [] });
    expect((await p.status()).state).toBe('off');
    expect(ovh.diverting(config)).toBe('off');
  });

  it('places its block around the user’s own rules and leaves them byte for byte', async () => {
    const block = ovh.addBlock();
    const ip = block.replace('.0/24', '.20');
    ovh.setFirewall(block, ip, true, [
      { sequence: 0, action: 'permit', protocol: 'tcp', tcpOption: 'established' },
      { sequence: 5, action: 'permit', protocol: 'ipv4', source: '192.0.2.50/32' },
      { sequence: 19, action: 'deny', protocol: 'ipv4' },
    ]);
    const config = {
      prefixes: [`${ip}/32`],
      ip_block: block,
      rules: [{ protocol: 'udp', ports: '53' }, { protocol: 'icmp' }, { protocol: 'any', sources: ['203.0.113.0/24', '198.51.100.128/25'] }],
    };
    const before = JSON.stringify(ovh.firewall(block, ip)!.rules);
    const p = provider(config);

    await p.enable({ allowlisted: ALLOWLIST });
    // 6 rules: 1-6 would cross the user's 5, 6-11 would start right after the user's permit (read as Bulwark's): 7-12.
    expect(rulesOn(config, ip)).toEqual([
      [0, 'permit', 'tcp', 'any', null, 'ok'],
      [5, 'permit', 'ipv4', '192.0.2.50/32', null, 'ok'],
      [7, 'permit', 'ipv4', '192.0.2.0/24', null, 'ok'],
      [8, 'permit', 'ipv4', '198.51.100.7/32', null, 'ok'],
      [9, 'deny', 'udp', 'any', 'eq 53', 'ok'],
      [10, 'deny', 'icmp', 'any', null, 'ok'],
      [11, 'deny', 'ipv4', '203.0.113.0/24', null, 'ok'],
      [12, 'deny', 'ipv4', '198.51.100.128/25', null, 'ok'],
      [19, 'deny', 'ipv4', 'any', null, 'ok'],
    ]);
    const theirs = ovh.firewall(block, ip)!.rules.filter((r) => [0, 5, 19].includes(r.sequence));
    expect(JSON.stringify(theirs)).toBe(before);
    expect((await p.status()).state).toBe('on');

    await p.disable();
    expect(JSON.stringify(ovh.firewall(block, ip)!.rules)).toBe(before);
    // The user's rules remain, so their firewall stays as it is.
    expect(ovh.firewall(block, ip)!.enabled).toBe(true);
    expect((await p.status()).state).toBe('off');
  });

  it('is idempotent: enabling or disabling twice writes nothing the second time', async () => {
    const { config } = ovh.integration();
    const p = provider(config);
    await p.enable({ allowlisted: ALLOWLIST });
    const from = ovh.requests.length;
    await p.enable({ allowlisted: ALLOWLIST });
    expect(writes(from)).toEqual([]);
    for (const ip of addresses(config)) expect(rulesOn(config, ip)).toEqual(EXPECTED);

    await p.disable();
    const after = ovh.requests.length;
    await p.disable();
    expect(writes(after)).toEqual([]);
    for (const ip of addresses(config)) expect(ovh.firewall(config.ip_block as string, ip)).toMatchObject({ enabled: false, rules: [] });
  });

  it('resumes a half-done enable and a half-done disable, leaving nothing behind', async () => {
    const { config } = ovh.integration();
    const p = provider(config);
    // Each address's first deny fails: only the permits are written.
    ovh.failOn((r) => r.method === 'POST' && r.path.endsWith('/rule') && r.json?.action === 'deny', 503, 2);
    const failed = await refusal(p.enable({ allowlisted: ALLOWLIST }));
    expect(failed.retryable).toBe(true);
    expect(failed.message).toContain('503');
    for (const ip of addresses(config)) expect(rulesOn(config, ip)).toEqual(EXPECTED.slice(0, 2));

    await p.enable({ allowlisted: ALLOWLIST });
    for (const ip of addresses(config)) expect(rulesOn(config, ip)).toEqual(EXPECTED);
    expect((await p.status()).state).toBe('on');

    // Removing the second permit fails: the first deny (still there) keeps what is left recognisable.
    ovh.failOn((r) => r.method === 'DELETE' && r.path.endsWith('/rule/1'), 503, 2);
    expect((await refusal(p.disable())).retryable).toBe(true);
    for (const ip of addresses(config)) expect(rulesOn(config, ip)).toEqual([EXPECTED[1], EXPECTED[2]]);
    expect((await p.status()).state).toBe('partial');

    await p.disable();
    for (const ip of addresses(config)) expect(ovh.firewall(config.ip_block as string, ip)).toMatchObject({ enabled: false, rules: [] });
    expect((await p.status()).state).toBe('off');
  });

  it('refuses, without retrying or writing, when the rules do not fit in 20', async () => {
    const { config } = ovh.integration();
    const many = Array.from({ length: 19 }, (_, i) => `192.0.2.${i}/32`);
    const from = ovh.requests.length;
    const tooMany = await refusal(provider(config).enable({ allowlisted: [...many, '2001:db8::/48'] }));
    expect(tooMany.retryable).toBe(false);
    expect(tooMany.message).toContain('holds 20 rules per address; Bulwark needs 21 (19 allowlist permits + 2 denies)');
    expect(ovh.requests.length).toBe(from);

    // The user's own 17 rules leave 3 sequences for 4.
    const block = ovh.addBlock();
    const ip = block.replace('.0/24', '.30');
    ovh.setFirewall(block, ip, false, Array.from({ length: 17 }, (_, i) => ({ sequence: i, action: 'deny' as const, protocol: 'tcp', destinationPort: 1000 + i })));
    const before = JSON.stringify(ovh.firewall(block, ip));
    const crowded = await refusal(provider({ ...config, prefixes: [`${ip}/32`], ip_block: block }).enable({ allowlisted: ALLOWLIST }));
    expect(crowded.retryable).toBe(false);
    expect(crowded.message).toContain(`on ${ip} has no room for Bulwark's 4 rules (2 allowlist permits + 2 denies)`);
    expect(crowded.message).toContain('hold 17 of the 20');
    expect(JSON.stringify(ovh.firewall(block, ip))).toBe(before);
  });

  it('signs every request as OVH checks it, and refused credentials are never retried', async () => {
    const { config } = ovh.integration();
    const cases: Array<[Record<string, unknown>, string, number]> = [
      [{ application_secret: 'notTheSecret000000' }, 'Invalid signature', 400],
      [{ consumer_key: 'ovhConsumerRevoked0000' }, 'This credential does not exist', 403],
      [{ application_key: 'ovhOtherApp1' }, 'This application key is invalid', 403],
    ];
    for (const [credentials, said, status] of cases) {
      const from = ovh.requests.length;
      const err = await refusal(provider(config, credentials).enable({ allowlisted: [] }));
      expect(err.retryable, said).toBe(false);
      expect(err.message).toContain(`HTTP ${status} (${said})`);
      expect(writes(from)).toEqual([]);
    }
    // A consumer key granted GET /me only: the account answers, the firewall does not.
    const meOnly = provider(config, { consumer_key: ovh.meOnlyConsumerKey });
    const notGranted = await refusal(meOnly.test());
    expect(notGranted.retryable).toBe(false);
    expect(notGranted.message).toContain('HTTP 403 (This call has not been granted)');
    expect(ovh.diverting(config)).toBe('off');
  });

  it('signs with OVH’s clock (GET /auth/time, once), not the local one', async () => {
    const { config } = ovh.integration();
    ovh.clockSkewSeconds = 3600;
    const times = () => ovh.requests.filter((r) => r === 'GET /1.0/auth/time').length;
    const before = times();
    const p = provider(config);
    const tested = await p.test();
    expect(tested.detail).toContain('account ab12345-ovh');
    expect(tested.detail).toContain('not on the Edge Network Firewall yet');
    await p.enable({ allowlisted: [] });
    expect((await p.status()).state).toBe('on');
    expect(times() - before).toBe(1);

    // The same request signed with the local clock is refused: the stand-in does check.
    const url = `${ovh.baseUrl}/me`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `$1$${createHash('sha1').update([ovh.applicationSecret, ovh.consumerKey, 'GET', url, '', timestamp].join('+')).digest('hex')}`;
    const res = await fetch(url, { headers: { 'x-ovh-application': ovh.applicationKey, 'x-ovh-consumer': ovh.consumerKey, 'x-ovh-timestamp': timestamp, 'x-ovh-signature': signature } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ message: 'Query out of time' });
    await p.disable();
  });

  it('retries what a retry can mend: 5xx and no answer', async () => {
    const { config } = ovh.integration();
    const p = provider(config);
    ovh.failNext(1, 503);
    const down = await refusal(p.status());
    expect(down.retryable).toBe(true);
    expect(down.message).toContain('GET /auth/time: HTTP 503');
    expect((await p.status()).state).toBe('off'); // the failed clock read was not kept

    ovh.failNext(1, 0);
    const silent = await refusal(provider(config, {}, 300).enable({ allowlisted: [] }));
    expect(silent.retryable).toBe(true);
    expect(silent.message).toContain('unreachable');
  });

  it('waits out OVH’s asynchronous application before saying on, and off', async () => {
    const { config } = ovh.integration();
    const p = provider(config);
    ovh.applyAfterReads = 2;
    await p.enable({ allowlisted: ALLOWLIST });
    const first = await p.status();
    expect(first.state).toBe('partial');
    expect(first.detail).toContain('enableFirewallPending');
    expect(first.detail).toContain('pending');
    let state = first.state;
    for (let i = 0; i < 5 && state !== 'on'; i++) state = (await p.status()).state;
    expect(state).toBe('on');

    await p.disable();
    expect((await p.status()).state).not.toBe('off');
    for (let i = 0; i < 5 && state !== 'off'; i++) state = (await p.status()).state;
    expect(state).toBe('off');
    for (const ip of addresses(config)) expect(ovh.firewall(config.ip_block as string, ip)).toMatchObject({ enabled: false, state: 'ok', rules: [] });
  });

  it('sees the firewall switched off in the console as not on, and still withdraws', async () => {
    const { config } = ovh.integration();
    const p = provider(config);
    await p.enable({ allowlisted: [] });
    ovh.turnOff(config);
    const drifted = await p.status();
    expect(drifted.state).toBe('partial');
    expect(drifted.detail).toContain('firewall disabled');
    expect((await p.test()).detail).toContain('on the Edge Network Firewall (disabled, ok)');
    await p.disable();
    expect((await p.status()).state).toBe('off');
    for (const ip of addresses(config)) expect(rulesOn(config, ip)).toEqual([]);
  });

  it('checks the config: single IPv4 addresses inside the block, IPv4 sources, 20 rules', () => {
    const base = { prefixes: ['203.0.113.10/32'], ip_block: '203.0.113.0/24', rules: [{ protocol: 'udp' }] };
    const issues = (patch: Config) => {
      const r = ovhConfig.safeParse({ ...base, ...patch });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({})).toEqual([]);
    expect(issues({ prefixes: ['198.51.100.10'] })).toEqual(['prefixes.0: 198.51.100.10 is not within ip_block 203.0.113.0/24']);
    expect(issues({ prefixes: ['203.0.113.0/30'] })[0]).toContain('prefixes: must be single IPv4 addresses');
    expect(issues({ rules: [{ protocol: 'tcp', sources: ['2001:db8::/32'] }] })[0]).toContain('rules: sources must be IPv4');
    const sources = (n: number, third: number) => Array.from({ length: n }, (_, i) => `10.${third}.0.${i}/32`);
    expect(issues({ rules: [{ protocol: 'udp', sources: sources(16, 1) }, { protocol: 'tcp', sources: sources(5, 2) }] })).toEqual(['rules: become 21 OVH rules (one per source); OVH holds 20 per address']);
  });
});
