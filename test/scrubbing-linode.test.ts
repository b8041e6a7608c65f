// Linode Cloud Firewall through the provider itself, against a local stand-in of Linode's API:
// Bulwark's drop rules put at the front of the inbound rules and taken out again, the user's
// rules, outbound rules and policies written back byte-for-byte, allowlisted sources accepted
// before the drops (narrowed to the drops' protocols, ports and sources), the 25-rule limit
// refused with its numbers and without a change, idempotent repeats, a disabled firewall,
// refused credentials, a failing API, and rules Linode shows only after some reads.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLinodeProvider } from '../activities/scrubbing/linode.js';
import { config as configSchema } from '../domain/scrubbing/linode.js';
import { refusal } from './support/expect-error.js';
import { DROP, USER_RULES, startLinodeApi, type LinodeApi, type LinodeRule, type LinodeRules } from './support/linode-api.js';

const TAG = 'bulwark-7';
const ALLOWLISTED = ['192.0.2.0/24', '2001:db8:7::/48', '198.18.5.0/24'];
const ANYWHERE = { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] };

let l: LinodeApi;
beforeAll(async () => {
  l = await startLinodeApi();
});
afterAll(async () => {
  await l?.close();
});
beforeEach(() => {
  l.applyAfterReads = 0;
  l.failNext(0);
});

function provider(config: Record<string, unknown>, apiToken = l.apiToken, timeoutMs = 2000) {
  return createLinodeProvider({ baseUrl: l.baseUrl, timeoutMs, targets: { allowPrivate: true }, tag: TAG, config: configSchema.parse(config), credentials: { api_token: apiToken } });
}
/** An integration on a fresh firewall holding the user's rules (changed by `rules`). */
function made(rules: unknown[] = DROP, userRules: Partial<LinodeRules> = {}) {
  const id = l.addFirewall(userRules);
  const config = { prefixes: ['203.0.113.10/32'], firewall_id: id, rules };
  return { id, config, p: provider(config) };
}
/** The rules as Linode shows them, without the version. */
const shown = (id: number): LinodeRules => {
  const { version: _, ...rules } = l.rules(id);
  return rules;
};
const writesTo = (id: number) => l.writes.filter((w) => w.path === `/networking/firewalls/${id}/rules`);

const bulwark = (action: string, protocol: string, label: string, addresses: LinodeRule['addresses'], ports?: string): LinodeRule => ({
  action,
  protocol,
  ...(ports ? { ports } : {}),
  addresses,
  label,
  description: action === 'ACCEPT' ? 'Bulwark diversion: allowlisted first' : 'Bulwark diversion: drop',
});

describe('linode provider', () => {
  it('puts allowlist accepts and then drops at the front of inbound, and writes the user’s rules back byte-for-byte', async () => {
    const { id, config, p } = made();
    expect((await p.test()).detail).toContain('profile ops-team; firewall "web-fw-');
    expect((await p.status()).state).toBe('off');
    const before = JSON.stringify(shown(id));

    await p.enable({ allowlisted: ALLOWLISTED });
    const allowlistedHere = { ipv4: ['192.0.2.0/24', '198.18.5.0/24'], ipv6: ['2001:db8:7::/48'] };
    expect(shown(id).inbound).toEqual([
      bulwark('ACCEPT', 'UDP', 'bulwark-7-a1', allowlistedHere, '27015-27030'),
      bulwark('ACCEPT', 'ICMP', 'bulwark-7-a2', allowlistedHere),
      // Only the allowlisted prefix inside the drop's sources needs accepting.
      bulwark('ACCEPT', 'TCP', 'bulwark-7-a3', { ipv4: ['198.18.5.0/24'] }, '80'),
      bulwark('DROP', 'UDP', 'bulwark-7-d1', ANYWHERE, '27015-27030'),
      bulwark('DROP', 'ICMP', 'bulwark-7-d2', ANYWHERE),
      bulwark('DROP', 'TCP', 'bulwark-7-d3', { ipv4: ['198.18.0.0/15'] }, '80'),
      ...USER_RULES.inbound,
    ]);
    // One write, of the four writable fields; outbound and both policies as they were.
    const [put] = writesTo(id);
    expect(writesTo(id)).toHaveLength(1);
    expect(put!.method).toBe('PUT');
    expect(Object.keys(put!.json).sort()).toEqual(['inbound', 'inbound_policy', 'outbound', 'outbound_policy']);
    expect(shown(id).outbound).toEqual(USER_RULES.outbound);
    expect(shown(id).inbound_policy).toBe('DROP');
    expect(shown(id).outbound_policy).toBe('ACCEPT');
    expect(l.diverting(config)).toBe('on');
    const on = await p.status();
    expect(on.state).toBe('on');
    expect(on.detail).toContain('dropping UDP 27015-27030 from anywhere, ICMP from anywhere, TCP 80 from 198.18.0.0/15; 3 rule(s) accept allowlisted sources first');
    expect((await p.test()).detail).toContain('a diversion is in place (3 of 3 drop rule(s))');

    await p.disable();
    expect(JSON.stringify(shown(id))).toBe(before);
    expect(shown(id).inbound[3]).toMatchObject({ x_note: { kept: ['verbatim'] } });
    expect(l.diverting(config)).toBe('off');
    expect((await p.status()).state).toBe('off');
  });

  it('repeats enable and disable without a write, and replaces its own rules when the allowlist changed or one was lost', async () => {
    const { id, config, p } = made();
    await p.enable({ allowlisted: ALLOWLISTED });
    const enabled = shown(id);
    await p.enable({ allowlisted: ALLOWLISTED });
    expect(writesTo(id)).toHaveLength(1);
    expect(shown(id)).toEqual(enabled);

    // Another allowlist: the old accepts are replaced, not added to.
    await p.enable({ allowlisted: ['192.0.2.0/24'] });
    expect(shown(id).inbound.filter((r) => r.action === 'ACCEPT' && r.label?.startsWith(TAG)).map((r) => r.addresses)).toEqual([{ ipv4: ['192.0.2.0/24'] }, { ipv4: ['192.0.2.0/24'] }]);
    expect(shown(id).inbound.slice(5)).toEqual(USER_RULES.inbound);

    // A drop deleted in the console: partial, and the next enable puts it back.
    l.edit(id, (rules) => {
      rules.inbound = rules.inbound.filter((r) => r.label !== 'bulwark-7-d2');
    });
    const partial = await p.status();
    expect(partial.state).toBe('partial');
    expect(partial.detail).toContain('2 of 3 drop rule(s) in place');
    expect(l.diverting(config)).toBe('partial');
    await p.enable({ allowlisted: ['192.0.2.0/24'] });
    expect((await p.status()).state).toBe('on');

    await p.disable();
    const writes = writesTo(id).length;
    await p.disable();
    expect(writesTo(id)).toHaveLength(writes);
    expect(shown(id)).toEqual(USER_RULES);
  });

  it('accepts allowlisted sources only where a drop applies: one rule per protocol, ports merged, before every drop', async () => {
    const { id, p } = made([{ protocol: 'tcp', ports: '80' }, { protocol: 'tcp', ports: '8000-8100' }, { protocol: 'any', sources: ['192.0.2.0/25', '2001:db8::/32'] }]);
    await p.enable({ allowlisted: ['192.0.2.0/26', '2001:db8:7::/48', '10.1.0.0/16'] });
    const ours = shown(id).inbound.filter((r) => r.label?.startsWith(TAG));
    expect(ours.map((r) => `${r.label} ${r.action} ${r.protocol} ${r.ports ?? 'all'} ${[...(r.addresses?.ipv4 ?? []), ...(r.addresses?.ipv6 ?? [])].join(' ')}`)).toEqual([
      'bulwark-7-a1 ACCEPT TCP 80, 8000-8100 10.1.0.0/16 192.0.2.0/26 2001:db8:7::/48',
      'bulwark-7-a2 ACCEPT TCP all 192.0.2.0/26 2001:db8:7::/48',
      'bulwark-7-a3 ACCEPT UDP all 192.0.2.0/26 2001:db8:7::/48',
      'bulwark-7-a4 ACCEPT ICMP all 192.0.2.0/26 2001:db8:7::/48',
      'bulwark-7-d1 DROP TCP 80 0.0.0.0/0 ::/0',
      'bulwark-7-d2 DROP TCP 8000-8100 0.0.0.0/0 ::/0',
      'bulwark-7-d3 DROP TCP all 192.0.2.0/25 2001:db8::/32',
      'bulwark-7-d4 DROP UDP all 192.0.2.0/25 2001:db8::/32',
      'bulwark-7-d5 DROP ICMP all 192.0.2.0/25 2001:db8::/32',
    ]);
    expect(shown(id).inbound.slice(0, 9)).toEqual(ours);
    await p.disable();
    expect(shown(id)).toEqual(USER_RULES);
  });

  it('refuses, changing nothing, when the user’s rules and the diversion’s pass 25', async () => {
    const filler = Array.from({ length: 14 }, (_, i) => ({ label: `office-${i}`, action: 'ACCEPT', protocol: 'TCP', ports: String(10000 + i), addresses: { ipv4: ['198.51.100.0/24'] } }));
    // 5 + 14 inbound and 1 outbound: 20 of the user's own.
    const { id, config, p } = made(DROP, { inbound: [...USER_RULES.inbound, ...filler] });
    const err = await refusal(p.enable({ allowlisted: ALLOWLISTED }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('holds 20 rules of its own (inbound and outbound)');
    expect(err.message).toContain('needs 3 rule(s) accepting allowlisted sources and 3 drop rule(s), and Linode allows 25 per firewall: free 1');
    expect(writesTo(id)).toHaveLength(0);
    expect(l.diverting(config)).toBe('off');
    // Without an allowlist the three drops fit: 23 rules.
    await p.enable({ allowlisted: [] });
    expect(shown(id).inbound).toHaveLength(22);
    expect(l.diverting(config)).toBe('on');
    await p.disable();
    expect(shown(id).inbound).toEqual([...USER_RULES.inbound, ...filler]);

    // The config alone cannot pass 25 Linode rules.
    const nine = Array.from({ length: 9 }, (_, i) => ({ protocol: 'any', sources: [`10.${i}.0.0/16`] }));
    const tooMany = configSchema.safeParse({ prefixes: ['203.0.113.10/32'], firewall_id: 1, rules: nine });
    expect(tooMany.error?.issues[0]).toMatchObject({ path: ['rules'] });
    expect(tooMany.error?.issues[0]?.message).toContain('make 27 Linode rules');
    expect(configSchema.safeParse({ prefixes: ['203.0.113.10/32'], firewall_id: '123', rules: DROP }).error?.issues[0]?.path).toEqual(['firewall_id']);
  });

  it('keeps what the user changed during the diversion when withdrawing', async () => {
    const { id, p } = made();
    await p.enable({ allowlisted: ALLOWLISTED });
    const added = { label: 'new-api', action: 'ACCEPT', protocol: 'TCP', ports: '8443', addresses: { ipv4: ['198.51.100.7/32'] } };
    l.edit(id, (rules) => {
      rules.inbound.push(added);
      rules.outbound_policy = 'DROP';
    });
    await p.disable();
    expect(shown(id)).toEqual({ ...USER_RULES, inbound: [...USER_RULES.inbound, added], outbound_policy: 'DROP' });
  });

  it('reports drift when its rules are deleted in the console, and withdraws without a write', async () => {
    const { id, config, p } = made();
    await p.enable({ allowlisted: ALLOWLISTED });
    l.turnOff(config);
    expect(l.diverting(config)).toBe('off');
    expect((await p.status()).state).toBe('off');
    const writes = writesTo(id).length;
    await p.disable();
    expect(writesTo(id)).toHaveLength(writes);
    expect(shown(id)).toEqual(USER_RULES);
  });

  it('refuses a disabled firewall, and is not on while the firewall is disabled', async () => {
    const { id, p } = made();
    l.setStatus(id, 'disabled');
    const err = await refusal(p.enable({ allowlisted: [] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('is disabled: Linode does not enforce its rules');
    expect(writesTo(id)).toHaveLength(0);
    expect((await refusal(p.test())).retryable).toBe(false);

    l.setStatus(id, 'enabled');
    await p.enable({ allowlisted: [] });
    l.setStatus(id, 'disabled');
    expect((await p.status()).state).toBe('partial');
    await p.disable();
    expect((await p.status()).state).toBe('off');
    expect(shown(id)).toEqual(USER_RULES);
  });

  it('is not on until Linode shows the new rules, nor off until it shows them gone', async () => {
    const { config, p } = made();
    l.applyAfterReads = 3;
    await p.enable({ allowlisted: ALLOWLISTED });
    expect((await p.status()).state).toBe('off');
    expect(l.diverting(config)).toBe('off');
    let state = 'off';
    for (let i = 0; i < 5 && state !== 'on'; i++) state = (await p.status()).state;
    expect(state).toBe('on');
    expect(l.diverting(config)).toBe('on');

    await p.disable();
    expect((await p.status()).state).toBe('on');
    for (let i = 0; i < 5 && state !== 'off'; i++) state = (await p.status()).state;
    expect(state).toBe('off');
    expect(l.diverting(config)).toBe('off');
  });

  it('refuses a wrong token as Linode does, once; an unknown firewall too; retries a failing API', async () => {
    const { id, config } = made();
    const wrong = provider(config, '0b'.repeat(32));
    const before = l.requests.length;
    const err = await refusal(wrong.enable({ allowlisted: ALLOWLISTED }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('HTTP 401 (Invalid Token)');
    expect(l.requests.slice(before)).toEqual([`GET /v4/networking/firewalls/${id}`]);
    expect((await refusal(wrong.test())).retryable).toBe(false);
    expect(shown(id)).toEqual(USER_RULES);

    const missing = await refusal(provider({ ...config, firewall_id: 99 }).status());
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('HTTP 404 (Not found)');

    const { p } = made();
    l.failNext(1, 503);
    const failed = await refusal(p.enable({ allowlisted: ALLOWLISTED }));
    expect(failed.retryable).toBe(true);
    expect(failed.message).toContain('HTTP 503 (Please try again later)');
    l.failNext(1, 429);
    expect((await refusal(p.status())).retryable).toBe(true);
    l.failNext(1, 0);
    const timedOut = await refusal(provider(config, l.apiToken, 300).disable());
    expect(timedOut.retryable).toBe(true);
    expect(timedOut.message).toContain('Linode API unreachable');
  });

  it('has a stand-in that checks a rules PUT as Linode does', async () => {
    const id = l.addFirewall();
    const put = async (body: unknown) => {
      const res = await fetch(`${l.baseUrl}/networking/firewalls/${id}/rules`, { method: 'PUT', headers: { authorization: `Bearer ${l.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const rule = { label: 'ok-rule', action: 'DROP', protocol: 'TCP', ports: '22, 80, 1000-2000', addresses: ANYWHERE };
    const cases: Array<[unknown, string, string]> = [
      [{ ...rule, protocol: 'ICMP' }, 'inbound[0].ports', 'not allowed for ICMP'],
      [{ ...rule, protocol: 'SCTP' }, 'inbound[0].protocol', 'Must be one of'],
      [{ ...rule, action: 'REJECT' }, 'inbound[0].action', 'Must be one of ACCEPT, DROP'],
      [{ ...rule, label: 'x' }, 'inbound[0].label', '3-32 characters'],
      [{ ...rule, label: 'a-label-well-over-thirty-two-chars' }, 'inbound[0].label', '3-32 characters'],
      [{ ...rule, ports: '080' }, 'inbound[0].ports', 'Invalid port'],
      [{ ...rule, ports: Array.from({ length: 8 }, (_, i) => `${i * 10 + 1}-${i * 10 + 2}`).join(', ') }, 'inbound[0].ports', 'At most 15'],
      [{ ...rule, addresses: { ipv4: ['192.0.2.1'] } }, 'inbound[0].addresses.ipv4', 'IP/mask'],
      [{ ...rule, addresses: { ipv4: ['2001:db8::/32'] } }, 'inbound[0].addresses.ipv4', 'Invalid IPv4'],
    ];
    for (const [bad, field, reason] of cases) {
      const res = await put({ inbound: [bad], inbound_policy: 'ACCEPT', outbound: [], outbound_policy: 'ACCEPT' });
      expect(res.status, field).toBe(400);
      expect(res.body.errors[0].field).toBe(field);
      expect(res.body.errors[0].reason).toContain(reason);
    }
    const tooMany = await put({ inbound: Array.from({ length: 20 }, () => rule), outbound: Array.from({ length: 6 }, () => rule) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].reason).toContain('at most 25 rules, inbound and outbound combined (got 26)');
    expect(shown(id)).toEqual(USER_RULES);
    const ok = await put({ inbound: [rule], inbound_policy: 'ACCEPT', outbound_policy: 'ACCEPT' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ inbound: [rule], outbound: [], version: 2 });
    expect(ok.body.fingerprint).toMatch(/^[0-9a-f]{8}$/);
  });
});
