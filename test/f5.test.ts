// The f5 adapter through the whole stack against a local stand-in of BIG-IP's iControl REST
// API over HTTPS with a self-signed certificate: the adapter test, a blackhole route made and
// deleted, a login again after the token expired, a refused login never retried, a
// certificate not verified without the configured CA, FlowSpec refused. In AFM mode: targets
// in Bulwark's address list behind its drop rule, put first in the user's policy (made when
// missing) beside the user's rules, which stay as they were; the list and the rule gone with
// the last target; TTL expiry; what list() reports; the reconciler putting back a drop rule
// removed or altered by hand and taking out a target no rule owns.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AFM_RULE, createF5Adapter } from '../activities/adapters/f5.js';
import { expectError } from './support/expect-error.js';
import { startF5Api, type F5Api, type F5FirewallRule } from './support/f5-api.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let call: Caller;
let f5: F5Api;
let adapterId: number;

beforeAll(async () => {
  f5 = await startF5Api();
  stack = await startStack(inject('env'));
  ({ call } = await stack.tenant());
  const res = await call('POST', '/api/v1/mitigation/adapters', {
    adapter_type: 'f5',
    name: 'BIG-IP edge',
    endpoint: f5.baseUrl,
    auth_token: f5.credentials,
    config: { tls_ca: f5.ca },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.adapter.capabilities).toEqual(['blackhole']);
  adapterId = res.body.adapter.id;
});
afterAll(async () => {
  await stack?.stop();
  await f5?.close();
});

describe('f5', () => {
  it('answers the adapter test with the BIG-IP’s version', async () => {
    const res = await call('POST', `/api/v1/mitigation/adapters/${adapterId}/test`);
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ ok: true, success: true });
    expect(JSON.stringify(res.body)).toContain('BIG-IP 17.1.0');
  });

  it('makes a blackhole route per rule and deletes it, logging in again once the token expired', async () => {
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.90', intent_type: 'blackhole' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect(rule.body.rule.status).toBe('active');
    expect(f5.routes.get('Common/bulwark_203.0.113.90_32')).toEqual({ name: 'bulwark_203.0.113.90_32', partition: 'Common', network: '203.0.113.90/32', blackhole: true });
    f5.expireTokens();
    const withdrawn = await call('POST', `/api/v1/mitigation/rules/${rule.body.rule.id}/withdraw`);
    expect(withdrawn.body.rule?.status ?? withdrawn.body.status, JSON.stringify(withdrawn.body)).toBe('withdrawn');
    expect(f5.routes.size).toBe(0);
  });

  it('retries what a retry can mend: the BIG-IP busy for a moment', async () => {
    f5.failNext(2, 503);
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.93', intent_type: 'blackhole' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect(rule.body.rule.status).toBe('active');
    expect(f5.routes.has('Common/bulwark_203.0.113.93_32')).toBe(true);
    await call('POST', `/api/v1/mitigation/rules/${rule.body.rule.id}/withdraw`);
    expect(f5.routes.size).toBe(0);
  });

  it('never retries a refused login, and never trusts a certificate it cannot verify', async () => {
    const bad = await call('POST', '/api/v1/mitigation/adapters', {
      adapter_type: 'f5',
      name: 'wrong password',
      endpoint: f5.baseUrl,
      auth_token: 'admin:wrong',
      config: { tls_ca: f5.ca },
    });
    // The reconciler tries the credentials once, then no more until the adapter is saved
    // (a BIG-IP locks an account after a few failed logins).
    const badAdapter = async () => (await call('GET', '/api/v1/mitigation/adapters')).body.adapters.find((a: { id: number }) => a.id === bad.body.adapter.id);
    await expect.poll(async () => (await badAdapter()).reconcile_error, { timeout: 20_000, interval: 250 }).toBe(
      'F5 BIG-IP refused the login: Authentication failed.; reconciliation paused until the adapter is saved',
    );
    const before = f5.logins;
    const tested = await call('POST', `/api/v1/mitigation/adapters/${bad.body.adapter.id}/test`);
    expect(tested.body).toMatchObject({ ok: true, success: false });
    expect(JSON.stringify(tested.body)).toContain('F5 BIG-IP refused the login: Authentication failed.');
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: bad.body.adapter.id, target_ip: '203.0.113.91', intent_type: 'blackhole' });
    expect(rule.status).toBe(502);
    // More than a reconciliation interval (5 s) later: the test's login and the rule's, each once, and nothing else.
    await new Promise((r) => setTimeout(r, 6000));
    expect(f5.logins - before).toBe(2);
    // Saved with the right credentials: reconciled again.
    const fixed = await call('POST', '/api/v1/mitigation/adapters', { id: bad.body.adapter.id, adapter_type: 'f5', name: 'wrong password', endpoint: f5.baseUrl, auth_token: f5.credentials, config: { tls_ca: f5.ca } });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    await expect.poll(async () => (await badAdapter()).last_reconciled_at, { timeout: 20_000, interval: 250 }).not.toBeNull();
    expect((await badAdapter()).reconcile_error).toBeNull();

    const untrusted = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'no CA', endpoint: f5.baseUrl, auth_token: f5.credentials });
    const refused = await call('POST', `/api/v1/mitigation/adapters/${untrusted.body.adapter.id}/test`);
    expect(refused.body).toMatchObject({ ok: true, success: false });
    expect(JSON.stringify(refused.body)).toContain('TLS certificate does not verify');
  });

  it('refuses FlowSpec, and settings that are not an appliance’s', async () => {
    expectError(
      await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.92', intent_type: 'flowspec', match: { protocol: 'udp' } }),
      400,
      'invalid_parameter',
      'flowspec',
    );
    expectError(
      await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'x', endpoint: f5.baseUrl, config: { partition: '../etc' } }),
      400,
      'invalid_parameter',
      'config.partition',
    );
    expectError(await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'x', endpoint: '10.0.0.5:443' }), 400, 'invalid_parameter', 'endpoint');
  });
});

describe('f5: AFM address list and drop rule', () => {
  const userRule: F5FirewallRule = {
    name: 'allow_mgmt',
    action: 'accept-decisively',
    ipProtocol: 'tcp',
    source: { addresses: [{ name: '198.51.100.0/24' }] },
    destination: { ports: [{ name: '22' }] },
  };
  const policyRules = (path = '/Common/edge') => f5.policies.get(path)?.rules ?? [];
  const listed = (path = '/Common/bulwark_edge') => f5.addressLists.get(path)?.addresses;
  let afmId: number;

  async function rule(target: string, extra: Record<string, unknown> = {}, adapter = afmId) {
    const res = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapter, target_ip: target, intent_type: 'blackhole', ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rule.status).toBe('active');
    return res.body.rule.id as number;
  }
  const withdraw = async (id: number) => expect((await call('POST', `/api/v1/mitigation/rules/${id}/withdraw`)).status).toBe(200);

  beforeAll(async () => {
    f5.policies.set('/Common/edge', { name: 'edge', partition: 'Common', rules: [structuredClone(userRule)] });
    const res = await call('POST', '/api/v1/mitigation/adapters', {
      adapter_type: 'f5',
      name: 'BIG-IP AFM',
      endpoint: f5.baseUrl,
      auth_token: f5.credentials,
      config: { mode: 'afm', policy: 'edge', tls_ca: f5.ca },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.adapter.capabilities).toEqual(['blackhole']);
    afmId = res.body.adapter.id;
  });

  it('answers the adapter test with the policy and the list it found', async () => {
    const res = await call('POST', `/api/v1/mitigation/adapters/${afmId}/test`);
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ ok: true, success: true });
    expect(res.body.detail).toContain(
      "17.1.0: logged in, AFM policy /Common/edge: 1 rule(s), Bulwark's drop rule not there (made with the first target); address list /Common/bulwark_edge holds 0 target(s)",
    );
  });

  it('puts targets in its list behind a drop rule placed first, leaves the user’s rule as it was, and takes both away with the last target', async () => {
    const a = await rule('203.0.113.110');
    const b = await rule('203.0.113.111');
    const net = await rule('203.0.113.128/28');
    const v6 = await rule('2001:db8:5::1');
    const v6net = await rule('2001:db8:6::/48');
    expect(listed()).toEqual(['203.0.113.110', '203.0.113.111', '203.0.113.128/28', '2001:db8:5::1', '2001:db8:6::/48']);
    expect(policyRules().map((r) => r.name)).toEqual([AFM_RULE, 'allow_mgmt']);
    expect(policyRules()[0]).toMatchObject({ action: 'drop', status: 'enabled', destination: { addressLists: ['/Common/bulwark_edge'] } });
    expect(policyRules()[1]).toEqual(userRule);
    const tested = await call('POST', `/api/v1/mitigation/adapters/${afmId}/test`);
    expect(tested.body.detail).toContain("2 rule(s), Bulwark's drop rule first; address list /Common/bulwark_edge holds 5 target(s)");

    // What the reconciler is told the BIG-IP holds.
    const direct = createF5Adapter({
      endpoint: f5.baseUrl,
      authToken: f5.credentials,
      timeoutMs: 5000,
      targets: { allowPrivate: true },
      config: { mode: 'afm', policy: 'edge', tls_ca: f5.ca },
    });
    try {
      expect((await direct.list!()).map((i) => i.kind === 'blackhole' && i.prefix)).toEqual([
        '203.0.113.110/32',
        '203.0.113.111/32',
        '203.0.113.128/28',
        '2001:db8:5::1/128',
        '2001:db8:6::/48',
      ]);
      // Withdrawing a target the list does not hold is done already.
      await direct.withdraw({ kind: 'blackhole', prefix: '203.0.113.119/32', nextHop: '192.0.2.1', communities: [] });
    } finally {
      await direct.close();
    }

    await withdraw(b);
    await withdraw(v6);
    expect(listed()).toEqual(['203.0.113.110', '203.0.113.128/28', '2001:db8:6::/48']);
    await withdraw(v6net);
    await withdraw(net);
    await withdraw(a);
    // BIG-IP keeps no empty list: the rule and the list are gone, the policy and the user's rule stay.
    expect(f5.addressLists.has('/Common/bulwark_edge')).toBe(false);
    expect(policyRules()).toEqual([userRule]);
  });

  it('keeps every target of a batch announced at once, and of withdrawals at once (BIG-IP replaces a list’s addresses as a whole)', async () => {
    const targets = Array.from({ length: 8 }, (_, i) => `203.0.113.${150 + i}`);
    const res = await call('POST', '/api/v1/mitigation/rules', { adapter_id: afmId, target_ips: targets, intent_type: 'blackhole' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rules.map((r: { status: string }) => r.status)).toEqual(targets.map(() => 'active'));
    expect([...listed()!].sort()).toEqual([...targets].sort());
    await Promise.all(res.body.rules.map((r: { id: number }) => withdraw(r.id)));
    expect(f5.addressLists.has('/Common/bulwark_edge')).toBe(false);
    expect(policyRules()).toEqual([userRule]);
  });

  it('ends a target on its TTL', async () => {
    const id = await rule('203.0.113.112', { ttl: 2 });
    expect(listed()).toEqual(['203.0.113.112']);
    await expect.poll(async () => (await call('GET', `/api/v1/mitigation/rules/${id}`)).body.rule.status, { timeout: 20_000, interval: 500 }).toBe('expired');
    expect(f5.addressLists.has('/Common/bulwark_edge')).toBe(false);
    expect(policyRules()).toEqual([userRule]);
  });

  it('makes the policy when it is missing', async () => {
    const res = await call('POST', '/api/v1/mitigation/adapters', {
      adapter_type: 'f5',
      name: 'new policy',
      endpoint: f5.baseUrl,
      auth_token: f5.credentials,
      config: { mode: 'afm', policy: 'bulwark_ddos', partition: 'Common', tls_ca: f5.ca },
    });
    const id = res.body.adapter.id as number;
    const tested = await call('POST', `/api/v1/mitigation/adapters/${id}/test`);
    expect(tested.body, JSON.stringify(tested.body)).toMatchObject({ success: true });
    expect(tested.body.detail).toContain('AFM policy /Common/bulwark_ddos does not exist: made with the first target');
    const r = await rule('203.0.113.113', {}, id);
    expect(policyRules('/Common/bulwark_ddos').map((x) => [x.name, x.destination?.addressLists])).toEqual([[AFM_RULE, ['/Common/bulwark_bulwark_ddos']]]);
    expect(listed('/Common/bulwark_bulwark_ddos')).toEqual(['203.0.113.113']);
    await withdraw(r);
    expect(f5.policies.has('/Common/bulwark_ddos')).toBe(true);
    expect(policyRules('/Common/bulwark_ddos')).toEqual([]);
  });

  it('the reconciler puts back a drop rule removed or altered by hand, and takes out a target no rule owns', async () => {
    const id = await rule('203.0.113.114');
    const policy = f5.policies.get('/Common/edge')!;
    policy.rules = policy.rules.filter((r) => r.name !== AFM_RULE);
    await expect.poll(() => policyRules().map((r) => r.name), { timeout: 20_000, interval: 500 }).toEqual([AFM_RULE, 'allow_mgmt']);
    expect((await call('GET', `/api/v1/mitigation/rules/${id}`)).body.repairs.map((x: { kind: string }) => x.kind)).toContain('reannounced');

    policy.rules[0]!.status = 'disabled';
    await expect.poll(() => policyRules()[0]?.status, { timeout: 20_000, interval: 500 }).toBe('enabled');
    expect(policyRules()[1]).toEqual(userRule);

    listed()!.push('203.0.113.115');
    await expect.poll(() => listed(), { timeout: 20_000, interval: 500 }).toEqual(['203.0.113.114']);
    const adapter = (await call('GET', '/api/v1/mitigation/adapters')).body.adapters.find((a: { id: number }) => a.id === afmId);
    expect(adapter.recent_repairs).toContainEqual(expect.objectContaining({ kind: 'withdrew_stray', rule_id: null, route: 'blackhole 203.0.113.115/32' }));
    await withdraw(id);
    expect(policyRules()).toEqual([userRule]);
  });

  it('refuses FlowSpec, and an AFM config without its policy or with a bad one', async () => {
    expectError(
      await call('POST', '/api/v1/mitigation/rules', { adapter_id: afmId, target_ip: '203.0.113.116', intent_type: 'flowspec', match: { protocol: 'udp' } }),
      400,
      'invalid_parameter',
      'flowspec',
    );
    const save = (config: Record<string, unknown>) => call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'x', endpoint: f5.baseUrl, config });
    expectError(await save({ mode: 'afm' }), 400, 'invalid_parameter', 'config.policy');
    expectError(await save({ mode: 'afm', policy: '../edge' }), 400, 'invalid_parameter', 'config.policy');
    expectError(await save({ policy: 'edge' }), 400, 'invalid_parameter', 'config.policy');
    expectError(await save({ mode: 'acl', policy: 'edge' }), 400, 'invalid_parameter', 'config.mode');
  });
});
