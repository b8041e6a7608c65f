// The radware adapter through the whole stack against a local stand-in of Radware Cyber
// Controller's REST API over HTTPS: a black list entry for the target applied by a policy
// update while the device is locked, removed on withdraw; every session logged out and the
// device unlocked after each change; a refused login reported and never retried.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { startRadwareApi, type RadwareApi } from './support/radware-api.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let call: Caller;
let radware: RadwareApi;
let adapterId: number;

beforeAll(async () => {
  radware = await startRadwareApi();
  stack = await startStack(inject('env'));
  ({ call } = await stack.tenant());
  const res = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'radware', name: 'DefensePro', endpoint: radware.baseUrl, auth_token: radware.credentials, config: { dp_ip: radware.dpIp, tls_ca: radware.ca } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.adapter.capabilities).toEqual(['blackhole']);
  adapterId = res.body.adapter.id;
});
afterAll(async () => {
  await stack?.stop();
  await radware?.close();
});

describe('radware', () => {
  it('answers the adapter test, and logs out', async () => {
    const res = await call('POST', `/api/v1/mitigation/adapters/${adapterId}/test`);
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ ok: true, success: true });
    expect(radware.openSessions()).toBe(0);
  });

  it('blocks a blackhole’s target on DefensePro and unblocks it, never leaving the device locked', async () => {
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.100', intent_type: 'blackhole' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect(radware.applied()).toEqual([{ name: expect.stringMatching(/^bwk_[0-9a-f]{12}$/), destination: '203.0.113.100/255.255.255.255' }]);
    expect(radware.locked()).toBe(false);
    expect(radware.openSessions()).toBe(0);
    const withdrawn = await call('POST', `/api/v1/mitigation/rules/${rule.body.rule.id}/withdraw`);
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    expect(radware.applied()).toEqual([]);
    expect(radware.locked()).toBe(false);
  });

  it('retries what a retry can mend: Cyber Controller unavailable for a moment', async () => {
    radware.failNext(1, 503);
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.102', intent_type: 'blackhole' });
    expect(rule.status, JSON.stringify(rule.body)).toBe(200);
    expect(radware.applied().map((a) => a.destination)).toEqual(['203.0.113.102/255.255.255.255']);
    await call('POST', `/api/v1/mitigation/rules/${rule.body.rule.id}/withdraw`);
    expect(radware.applied()).toEqual([]);
    expect(radware.locked()).toBe(false);
  });

  it('reports a refused login without retrying it, and refuses what it cannot do', async () => {
    const bad = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'radware', name: 'wrong', endpoint: radware.baseUrl, auth_token: 'radware:nope', config: { dp_ip: radware.dpIp, tls_ca: radware.ca } });
    // The reconciler tries the credentials once, then pauses (a refused login is never
    // tried again until the adapter is saved): counted from then on, only the rule's login.
    const badAdapter = async () => (await call('GET', '/api/v1/mitigation/adapters')).body.adapters.find((a: { id: number }) => a.id === bad.body.adapter.id);
    await expect.poll(async () => (await badAdapter()).reconcile_error, { timeout: 20_000, interval: 250 }).toContain('reconciliation paused');
    const before = radware.refusedLogins;
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: bad.body.adapter.id, target_ip: '203.0.113.101', intent_type: 'blackhole' });
    expect(rule.status).toBe(502);
    expect(rule.body.error.message).toContain('Radware refused the login: Incorrect user name or password');
    expect(radware.refusedLogins - before).toBe(1);
    expectError(await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'radware', name: 'x', endpoint: radware.baseUrl, capabilities: ['flowspec'], config: { dp_ip: radware.dpIp } }), 400, 'invalid_parameter', 'capabilities');
    expectError(await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'radware', name: 'x', endpoint: radware.baseUrl }), 400, 'invalid_parameter', 'config is required');
  });
});
