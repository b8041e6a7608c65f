// Hetzner Robot firewall through the provider itself, against a local stand-in of Robot's
// webservice: the discards and the allowlist's accepts put first, the user's input and
// output rules sent back as read, a disabled firewall enabled with an accept-all last rule
// and disabled again, the 10-rule limit refused with its numbers and without a change,
// Robot's asynchronous `in process` waited out, bad credentials never retried (Robot
// blocks the caller after three), and failures retried.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHetznerProvider } from '../activities/scrubbing/hetzner-mitigation.js';
import { config as configSchema } from '../domain/scrubbing/hetzner-mitigation.js';
import { refusal } from './support/expect-error.js';
import { DISCARD, USER_INPUT, USER_OUTPUT, startHetznerApi, type HetznerApi, type RobotRule } from './support/hetzner-api.js';

const TAG = 'bulwark-9';
const ALLOWLISTED = ['192.0.2.0/24', '2001:db8:7::/48', '198.18.5.0/24'];

let h: HetznerApi;
beforeAll(async () => {
  h = await startHetznerApi();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.applyAfterReads = 0;
  h.failNext(0);
  h.unblock();
});

function provider(config: Record<string, unknown>, password = h.password, timeoutMs = 2000) {
  return createHetznerProvider({ baseUrl: h.baseUrl, timeoutMs, targets: { allowPrivate: true }, tag: TAG, config: configSchema.parse(config), credentials: { username: h.username, password } });
}
function made(rules: unknown[] = DISCARD, fw = {}) {
  const server = h.addServer(fw);
  const config = { prefixes: ['203.0.113.10/32'], server_number: server, rules };
  return { server, config, p: provider(config) };
}
const writesTo = (server: number) => h.writes.filter((w) => w.path === `/firewall/${server}`);
const r = (fields: Partial<RobotRule>): RobotRule => ({ ip_version: 'ipv4', name: null, dst_ip: null, src_ip: null, dst_port: null, src_port: null, protocol: null, tcp_flags: null, action: null, ...fields });

describe('hetzner provider', () => {
  it('puts the allowlist’s accepts and the discards before the user’s rules, and sends every other rule back as it was', async () => {
    // Two rules of the user's, five accepts and three discards: Robot's ten.
    const { server, p } = made(DISCARD, { input: USER_INPUT.slice(0, 2) });
    expect((await p.test()).detail).toMatch(/server\(s\) in the account; server \d+ \(203\.0\.113\.\d+\): firewall active, 2 input rule\(s\) of its own, room for 3 discard rule\(s\)/);
    await p.enable({ allowlisted: ALLOWLISTED });
    expect(h.firewall(server).input).toEqual([
      r({ name: 'bulwark-9 a1', src_ip: '192.0.2.0/24', protocol: 'udp', dst_port: '27015-27030', action: 'accept' }),
      r({ name: 'bulwark-9 a2', src_ip: '198.18.5.0/24', protocol: 'udp', dst_port: '27015-27030', action: 'accept' }),
      r({ name: 'bulwark-9 a3', src_ip: '192.0.2.0/24', protocol: 'icmp', action: 'accept' }),
      r({ name: 'bulwark-9 a4', src_ip: '198.18.5.0/24', protocol: 'icmp', action: 'accept' }),
      // Only the allowlisted prefix inside the discard's source needs accepting; IPv6 never (Robot's rules are IPv4).
      r({ name: 'bulwark-9 a5', src_ip: '198.18.5.0/24', protocol: 'tcp', dst_port: '80', action: 'accept' }),
      r({ name: 'bulwark-9 d1', src_ip: '0.0.0.0/0', protocol: 'udp', dst_port: '27015-27030', action: 'discard' }),
      r({ name: 'bulwark-9 d2', src_ip: '0.0.0.0/0', protocol: 'icmp', action: 'discard' }),
      r({ name: 'bulwark-9 d3', src_ip: '198.18.0.0/15', protocol: 'tcp', dst_port: '80', action: 'discard' }),
      ...USER_INPUT.slice(0, 2),
    ]);
    expect(h.firewall(server).output).toEqual(USER_OUTPUT);
    await p.disable();
    expect(h.firewall(server).input).toEqual(USER_INPUT.slice(0, 2));
  });

  it('fits the allowlist in the limit or refuses with the numbers, changing nothing', async () => {
    const { server, config, p } = made();
    // 4 of the user's + 5 accepts + 3 discards = 12 > 10.
    const err = await refusal(p.enable({ allowlisted: ALLOWLISTED }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('holds 4 input rule(s) of its own; the diversion needs 5 accepting allowlisted sources and 3 discard rule(s), and Robot allows 10: free 2');
    expect(writesTo(server)).toHaveLength(0);
    await p.enable({ allowlisted: ['192.0.2.0/24'] });
    expect(h.firewall(server).input).toHaveLength(9);
    expect(h.diverting(config)).toBe('on');
    expect((await p.status()).state).toBe('on');
    expect(h.firewall(server).output).toEqual(USER_OUTPUT);
    const writes = writesTo(server).length;
    await p.enable({ allowlisted: ['192.0.2.0/24'] });
    expect(writesTo(server)).toHaveLength(writes);

    await p.disable();
    expect(h.firewall(server)).toMatchObject({ status: 'active', input: USER_INPUT, output: USER_OUTPUT, filter_ipv6: false, whitelist_hos: true, port: 'main' });
    expect(h.diverting(config)).toBe('off');
    expect((await p.status()).state).toBe('off');
    await p.disable();
    expect(writesTo(server)).toHaveLength(writes + 1);
    // The form: fields as Robot takes them, unset ones left out.
    const form = writesTo(server).at(-1)!.form;
    expect(form.get('status')).toBe('active');
    expect(form.get('rules[input][0][name]')).toBe('ssh office');
    expect(form.get('rules[input][0][src_ip]')).toBe('198.51.100.0/24');
    expect(form.has('rules[input][0][tcp_flags]')).toBe(false);
    expect(form.get('rules[output][0][action]')).toBe('accept');
  });

  it('turns a disabled firewall on with an accept-all last rule, and off again on withdraw', async () => {
    const { server, config, p } = made(DISCARD, { status: 'disabled' });
    await p.enable({ allowlisted: [] });
    const fw = h.firewall(server);
    expect(fw.status).toBe('active');
    expect(fw.input.at(-1)).toEqual(r({ name: 'bulwark-9 rest', action: 'accept' }));
    expect(fw.input.slice(3, -1)).toEqual(USER_INPUT);
    expect(h.diverting(config)).toBe('on');
    await p.disable();
    expect(h.firewall(server)).toMatchObject({ status: 'disabled', input: USER_INPUT });
  });

  it('is not on while Robot reads "in process", and retries a change Robot refuses meanwhile', async () => {
    const { server, config, p } = made();
    h.applyAfterReads = 3;
    await p.enable({ allowlisted: [] });
    const during = await p.status();
    expect(during.state).toBe('partial');
    expect(during.detail).toContain('applying a change');
    // The enable's change still in process: withdrawing waits for it (retryable), never judging by the old rules.
    const busy = await refusal(p.disable());
    expect(busy.retryable).toBe(true);
    let state = during.state;
    for (let i = 0; i < 5 && state !== 'on'; i++) state = (await p.status()).state;
    expect(state).toBe('on');
    expect(h.diverting(config)).toBe('on');
    h.applyAfterReads = 0;
    await p.disable();
    expect(h.firewall(server).input).toEqual(USER_INPUT);
  });

  it('reports drift when its rules are deleted in Robot, and withdraws without a write', async () => {
    const { server, config, p } = made();
    await p.enable({ allowlisted: [] });
    h.turnOff(config);
    expect((await p.status()).state).toBe('off');
    const writes = writesTo(server).length;
    await p.disable();
    expect(writesTo(server)).toHaveLength(writes);
  });

  it('sends a wrong password once and never again; Robot blocks the caller after three', async () => {
    const { server, config } = made();
    const wrong = provider(config, 'not-the-password');
    const before = h.requests.length;
    const err = await refusal(wrong.enable({ allowlisted: [] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('HTTP 401 (UNAUTHORIZED: Unauthorized)');
    expect(h.requests.slice(before)).toEqual([`GET /firewall/${server}`]);
    expect(h.badLogins()).toBe(1);
    // What a retrying client would bring about: blocked, the right password too.
    await refusal(wrong.status());
    await refusal(wrong.test());
    expect(h.blocked()).toBe(true);
    const locked = await refusal(provider(config).status());
    expect(locked.retryable).toBe(false);
    expect(locked.message).toContain('HTTP 403 (BLOCKED');
  });

  it('retries a failing or silent Robot; refuses an unknown server and an IPv6 source or prefix', async () => {
    const { config, p } = made();
    h.failNext(1, 500);
    expect((await refusal(p.enable({ allowlisted: [] }))).retryable).toBe(true);
    h.failNext(1, 0);
    const timedOut = await refusal(provider(config, h.password, 300).status());
    expect(timedOut.retryable).toBe(true);
    expect(timedOut.message).toContain('Hetzner Robot API unreachable');
    const missing = await refusal(provider({ ...config, server_number: 99 }).status());
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('SERVER_NOT_FOUND');
    const v6 = configSchema.safeParse({ ...config, rules: [{ protocol: 'udp', sources: ['2001:db8::/32'] }] });
    expect(v6.error?.issues[0]).toMatchObject({ path: ['rules', 0, 'sources', 0] });
    // An IPv6 address of the server: its traffic would be reported diverted and pass untouched.
    const v6Target = configSchema.safeParse({ ...config, prefixes: ['203.0.113.5', '2001:db8::/64'] });
    expect(v6Target.error?.issues[0]).toMatchObject({ path: ['prefixes', 1], message: expect.stringContaining('must be IPv4') });
    expect(configSchema.safeParse({ ...config, rules: Array.from({ length: 11 }, () => ({ protocol: 'udp' })) }).error?.issues[0]?.path).toEqual(['rules']);
  });

  it('has a stand-in that checks a firewall POST as Robot does', async () => {
    const server = h.addServer();
    const post = async (form: Record<string, string>) => {
      const res = await fetch(`${h.baseUrl}/firewall/${server}`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${h.username}:${h.password}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const base = { status: 'active', 'rules[input][0][ip_version]': 'ipv4', 'rules[input][0][action]': 'discard', 'rules[input][0][protocol]': 'udp' };
    const cases: Array<[Record<string, string>, string]> = [
      [{ ...base, 'rules[input][0][action]': 'drop' }, 'rules[input][0][action]'],
      [{ ...base, 'rules[input][0][src_ip]': '2001:db8::/32' }, 'rules[input][0][src_ip]'],
      [{ ...base, 'rules[input][0][protocol]': 'icmp', 'rules[input][0][dst_port]': '80' }, 'rules[input][0][dst_port]'],
      [{ ...base, status: 'on' }, 'status'],
      [{ ...base, 'rules[input][0][colour]': 'red' }, 'rules[input][0][colour]'],
    ];
    for (const [form, field] of cases) {
      const res = await post(form);
      expect(res.status, field).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.invalid).toContain(field);
    }
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`rules[input][${i}][action]`, 'accept']));
    expect((await post({ status: 'active', ...eleven })).body.error.invalid).toContain('rules[input]');
    expect(h.firewall(server).input).toEqual(USER_INPUT);
  });
});
