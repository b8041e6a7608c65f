// DigitalOcean Cloud Firewalls through the provider itself, against a local stand-in of
// DigitalOcean's API: the configured allow rules closed and put back exactly, narrowed rules
// keeping allowlisted sources open (added before anything closes), the user's own rules left
// byte-for-byte, the marker tag, idempotent repeats, a firewall the integration does not fit
// (a missing rule, a look-alike rule, no room) refused without a change, refused credentials,
// a failing API, and a change DigitalOcean is still applying.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDigitalOceanProvider } from '../activities/scrubbing/digitalocean.js';
import { config as configSchema } from '../domain/scrubbing/digitalocean.js';
import { refusal } from './support/expect-error.js';
import { CLOSE, USER_INBOUND, startDigitalOceanApi, type DigitalOceanApi, type DoInboundRule } from './support/digitalocean-api.js';

const TAG = 'bulwark-7';
const ALLOWLISTED = ['192.0.2.0/24', '2001:db8:7::/48'];
const ANYWHERE = ['0.0.0.0/0', '::/0'];

let d: DigitalOceanApi;
beforeAll(async () => {
  d = await startDigitalOceanApi();
});
afterAll(async () => {
  await d?.close();
});
beforeEach(() => {
  d.applyAfterReads = 0;
  d.failNext(0);
  d.tags.clear();
});

function provider(config: Record<string, unknown>, apiToken = d.apiToken) {
  return createDigitalOceanProvider({ baseUrl: d.baseUrl, timeoutMs: 2000, targets: { allowPrivate: true }, tag: TAG, config: configSchema.parse(config), credentials: { api_token: apiToken } });
}
/** An integration on a fresh firewall holding `inbound` (the stand-in's user firewall by default). */
function made(inbound: DoInboundRule[] = USER_INBOUND, close: unknown[] = CLOSE) {
  const firewall_id = d.addFirewall(inbound);
  const config = { prefixes: ['203.0.113.10/32'], firewall_id, close };
  return { id: firewall_id, config, p: provider(config) };
}
const rules = (id: string) => d.firewall(id).inbound_rules;
const sorted = (rs: DoInboundRule[]) => rs.map((r) => JSON.stringify(r)).sort();

describe('digitalocean provider', () => {
  it('closes the configured rules, keeping allowlisted sources open, and puts them back exactly', async () => {
    const { id, config, p } = made();
    const userOwn = USER_INBOUND.filter((r) => !['80', '443', '27015-27030'].includes(r.ports));
    expect((await p.test()).detail).toContain('the 3 rule(s) to close found');
    expect((await p.status()).state).toBe('off');

    const writesBefore = d.writes.length;
    await p.enable({ allowlisted: ALLOWLISTED });
    // The user's own rules stay, in order and byte-for-byte; each closed rule is replaced by its allowlisted part.
    expect(rules(id).slice(0, userOwn.length)).toEqual(userOwn);
    expect(sorted(rules(id))).toEqual(
      sorted([
        ...userOwn,
        { protocol: 'tcp', ports: '80', sources: { addresses: ALLOWLISTED } },
        { protocol: 'tcp', ports: '443', sources: { addresses: ALLOWLISTED } },
        { protocol: 'udp', ports: '27015-27030', sources: { addresses: ALLOWLISTED } },
      ]),
    );
    expect(d.firewall(id).outbound_rules).toHaveLength(3);
    expect(d.tags.has(TAG)).toBe(true);
    // The tag first, the narrowed rules before anything closes.
    expect(d.writes.slice(writesBefore).map((w) => `${w.method} ${w.path}`)).toEqual(['POST /tags', `POST /firewalls/${id}/rules`, `DELETE /firewalls/${id}/rules`]);
    expect(d.diverting(config)).toBe('on');
    const on = await p.status();
    expect(on.state).toBe('on');
    expect(on.detail).toContain('open to allowlisted sources only: tcp 80 from 192.0.2.0/24, 2001:db8:7::/48');
    expect((await p.test()).detail).toContain('a diversion is in place');

    await p.disable();
    expect(rules(id).slice(0, userOwn.length)).toEqual(userOwn);
    expect(sorted(rules(id))).toEqual(sorted(USER_INBOUND));
    expect(d.tags.has(TAG)).toBe(false);
    expect(d.diverting(config)).toBe('off');
    expect((await p.status()).state).toBe('off');
  });

  it('repeats enable and disable without a change, and finishes a half-done enable', async () => {
    const { id, p } = made();
    await p.enable({ allowlisted: ALLOWLISTED });
    const closed = rules(id);
    let writes = d.writes.length;
    await p.enable({ allowlisted: ALLOWLISTED });
    expect(d.writes.length).toBe(writes);
    expect(rules(id)).toEqual(closed);

    await p.disable();
    writes = d.writes.length;
    await p.disable();
    expect(d.writes.length).toBe(writes);
    expect(sorted(rules(id))).toEqual(sorted(USER_INBOUND));

    // An enable cut off after making its tag (its answer lost): the retry closes the rules.
    d.tags.add(TAG);
    await provider({ prefixes: ['203.0.113.10/32'], firewall_id: id, close: CLOSE }).enable({ allowlisted: [] });
    expect(rules(id).filter((r) => ['80', '443', '27015-27030'].includes(r.ports))).toEqual([]);
    expect((await p.status()).state).toBe('on');
    await p.disable();
    expect(sorted(rules(id))).toEqual(sorted(USER_INBOUND));
  });

  it('narrows a rule with sources to the allowlisted part of them, and refuses what closing cannot change', async () => {
    const ssh = { protocol: 'tcp', ports: '22', sources: ['198.51.100.0/24', '2001:db8:100::/48'] };
    const { id, config, p } = made(USER_INBOUND, [ssh]);
    await p.enable({ allowlisted: ['198.51.100.7/32', '198.51.100.0/28', '192.0.2.0/24', '2001:db8::/32'] });
    // 198.51.100.0/28 lies within the rule (and covers .7); 192.0.2.0/24 does not (it never had access); 2001:db8::/32 covers the IPv6 source.
    expect(rules(id).filter((r) => r.ports === '22')).toEqual([{ protocol: 'tcp', ports: '22', sources: { addresses: ['198.51.100.0/28', '2001:db8:100::/48'] } }]);
    expect(d.diverting(config)).toBe('on');
    await p.disable();
    expect(sorted(rules(id))).toEqual(sorted(USER_INBOUND));

    const err = await refusal(p.enable({ allowlisted: ['198.51.100.0/23', '2001:db8::/32'] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('itself a rule to close');
    expect(sorted(rules(id))).toEqual(sorted(USER_INBOUND));
  });

  it('refuses, changing nothing, when keeping the allowlist open leaves no room, or needs too many sources', async () => {
    const filler = Array.from({ length: 41 }, (_, i) => ({ protocol: 'tcp', ports: String(10000 + i), sources: { addresses: ['198.51.100.0/24'] } }));
    // 6 + 41 inbound and 3 outbound: 50 rules, the most DigitalOcean allows.
    const { id, p } = made([...USER_INBOUND, ...filler]);
    const err = await refusal(p.enable({ allowlisted: ALLOWLISTED }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('holds 50 rules');
    expect(err.message).toContain('adding 3 narrowed rule(s) before the 3 to close come out');
    expect(err.message).toContain('DigitalOcean allows 50 per firewall: free 3');
    expect(rules(id)).toHaveLength(47);
    expect(d.tags.has(TAG)).toBe(false);
    // Without an allowlist there is nothing to add: closing fits.
    await p.enable({ allowlisted: [] });
    expect(rules(id)).toHaveLength(44);
    await p.disable();
    expect(rules(id)).toHaveLength(47);

    const many = Array.from({ length: 1001 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
    const wide = await refusal(made().p.enable({ allowlisted: many }));
    expect(wide.message).toContain('needs 1001 sources; DigitalOcean allows 1000 per rule');
  });

  it('refuses a firewall without a configured rule, or with a look-alike of the narrowed rules, without a change', async () => {
    const { id, p } = made(USER_INBOUND, [...CLOSE, { protocol: 'tcp', ports: '8443' }]);
    const tested = await refusal(p.test());
    expect(tested.retryable).toBe(false);
    expect(tested.message).toContain('has no inbound rule tcp 8443 from anywhere');
    const refused = await refusal(p.enable({ allowlisted: ALLOWLISTED }));
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain('closing a rule that is not there would divert nothing');
    expect(rules(id)).toEqual(USER_INBOUND);
    expect(d.tags.has(TAG)).toBe(false);
    // Not closed by Bulwark (no tag), so not put back either.
    expect((await refusal(p.disable())).message).toContain('will not add them');
    expect(rules(id)).toEqual(USER_INBOUND);

    const office = { protocol: 'tcp', ports: '443', sources: { addresses: ['192.0.2.0/24'] } };
    const lookalike = made([...USER_INBOUND, office]);
    expect((await refusal(lookalike.p.test())).message).toContain('holds tcp 443 from 192.0.2.0/24, narrower than a rule to close');
    expect((await refusal(lookalike.p.enable({ allowlisted: [] }))).retryable).toBe(false);
    expect(rules(lookalike.id)).toEqual([...USER_INBOUND, office]);
  });

  it('matches rules as DigitalOcean reads them back: "0" for all ports, addresses in any order and notation; only address sources', async () => {
    const held: DoInboundRule[] = [
      { protocol: 'tcp', ports: '0', sources: { addresses: ['::/0', '0.0.0.0/0'] } },
      { protocol: 'udp', ports: '53', sources: { addresses: ['203.0.113.5', '2001:DB8::1'] } },
      { protocol: 'icmp', ports: '0', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
      { protocol: 'udp', ports: '123', sources: { addresses: ['0.0.0.0/0', '::/0'], tags: ['ntp'] } },
    ];
    const close = [{ protocol: 'tcp' }, { protocol: 'udp', ports: '53', sources: ['2001:db8::1/128', '203.0.113.5/32'] }, { protocol: 'icmp' }];
    const { id, p } = made(held, close);
    await p.enable({ allowlisted: [] });
    expect(rules(id)).toEqual([held[3]]);
    expect((await p.status()).state).toBe('on');
    await p.disable();
    // Put back as the config writes them (DigitalOcean's "0" for every port).
    expect(sorted(rules(id))).toEqual(
      sorted([
        held[3]!,
        { protocol: 'tcp', ports: '0', sources: { addresses: ANYWHERE } },
        { protocol: 'udp', ports: '53', sources: { addresses: ['2001:db8::1/128', '203.0.113.5/32'] } },
        { protocol: 'icmp', ports: '0', sources: { addresses: ANYWHERE } },
      ]),
    );
    expect((await p.status()).state).toBe('off');

    // A rule with other sources than addresses is not the configured one.
    expect((await refusal(made(held, [{ protocol: 'udp', ports: '123' }]).p.test())).message).toContain('has no inbound rule udp 123 from anywhere');
  });

  it('is not on (nor off) until DigitalOcean has applied the change', async () => {
    const { id, config, p } = made();
    d.applyAfterReads = 3;
    await p.enable({ allowlisted: ALLOWLISTED });
    const waiting = await p.status();
    expect(waiting.state).toBe('partial');
    expect(waiting.detail).toContain('still applying');
    expect(d.diverting(config)).toBe('off');
    expect(d.firewall(id).status).toBe('waiting');
    let state = waiting.state;
    for (let i = 0; i < 5 && state !== 'on'; i++) state = (await p.status()).state;
    expect(state).toBe('on');
    expect(d.diverting(config)).toBe('on');

    await p.disable();
    expect((await p.status()).state).toBe('partial');
    expect(d.diverting(config)).toBe('on');
    for (let i = 0; i < 5 && state !== 'off'; i++) state = (await p.status()).state;
    expect(state).toBe('off');
    expect(d.diverting(config)).toBe('off');
  });

  it('reports drift when the rules come back in the console, and still withdraws cleanly', async () => {
    const { id, config, p } = made();
    await p.enable({ allowlisted: ALLOWLISTED });
    d.turnOff(config);
    const drift = await p.status();
    expect(drift.state).toBe('partial');
    expect(drift.detail).toContain('0 of 3 rule(s) closed');
    await p.disable();
    expect(sorted(rules(id))).toEqual(sorted(USER_INBOUND));
    expect(d.tags.has(TAG)).toBe(false);
  });

  it('will not add back rules when its tag was removed behind its back', async () => {
    const { id, p } = made();
    await p.enable({ allowlisted: [] });
    d.tags.delete(TAG);
    expect((await p.status()).detail).toContain('not by Bulwark');
    const err = await refusal(p.disable());
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`tag "${TAG}" is gone`);
    expect(rules(id)).toHaveLength(3);
  });

  it('refuses a wrong token as DigitalOcean does, once, and retries a failing API', async () => {
    const { id, config } = made();
    const wrong = provider(config, `dop_v1_${'0b'.repeat(32)}`);
    const before = d.requests.length;
    const err = await refusal(wrong.enable({ allowlisted: ALLOWLISTED }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('HTTP 401 (unauthorized: Unable to authenticate you)');
    expect(d.requests.slice(before)).toEqual([`GET /v2/firewalls/${id}`]);
    expect((await refusal(wrong.test())).retryable).toBe(false);
    expect(rules(id)).toEqual(USER_INBOUND);

    const { p } = made();
    d.failNext(1, 503);
    const failed = await refusal(p.enable({ allowlisted: ALLOWLISTED }));
    expect(failed.retryable).toBe(true);
    expect(failed.message).toContain('HTTP 503 (server_error: simulated failure)');
    d.failNext(1, 429);
    expect((await refusal(p.status())).retryable).toBe(true);
  });

  it('validates the config, naming the field', () => {
    const base = { prefixes: ['203.0.113.10/32'], firewall_id: 'bb4b2611-3d72-467b-8602-280330ecd65c' };
    expect(configSchema.safeParse({ ...base, close: CLOSE }).success).toBe(true);
    const any = configSchema.safeParse({ ...base, close: [{ protocol: 'any' }] });
    expect(any.error?.issues[0]).toMatchObject({ path: ['close', 0, 'protocol'], message: 'DigitalOcean firewall rules are tcp, udp or icmp' });
    const twice = configSchema.safeParse({ ...base, close: [{ protocol: 'tcp', ports: '80', sources: ['192.0.2.0/24', '198.51.100.0/24'] }, { protocol: 'tcp', ports: '80', sources: ['198.51.100.0/24', '192.0.2.0/24'] }] });
    expect(twice.error?.issues[0]).toMatchObject({ path: ['close', 1], message: 'names the same rule twice' });
    expect(configSchema.safeParse({ ...base, firewall_id: '123', close: CLOSE }).error?.issues[0]?.path).toEqual(['firewall_id']);
  });
});
