// The f5 adapter through the whole stack against a local stand-in of BIG-IP's iControl REST
// API over HTTPS with a self-signed certificate: the adapter test, a blackhole route made and
// deleted, a login again after the token expired, a refused login never retried, a
// certificate not verified without the configured CA, FlowSpec refused.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { startF5Api, type F5Api } from './support/f5-api.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let call: Caller;
let f5: F5Api;
let adapterId: number;

beforeAll(async () => {
  f5 = await startF5Api();
  stack = await startStack(inject('env'));
  ({ call } = await stack.tenant());
  const res = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'BIG-IP edge', endpoint: f5.baseUrl, auth_token: f5.credentials, config: { tls_ca: f5.ca } });
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
    const bad = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'wrong password', endpoint: f5.baseUrl, auth_token: 'admin:wrong', config: { tls_ca: f5.ca } });
    const before = f5.logins;
    const tested = await call('POST', `/api/v1/mitigation/adapters/${bad.body.adapter.id}/test`);
    expect(tested.body).toMatchObject({ ok: true, success: false });
    expect(JSON.stringify(tested.body)).toContain('F5 BIG-IP refused the login: Authentication failed.');
    const rule = await call('POST', '/api/v1/mitigation/rules', { adapter_id: bad.body.adapter.id, target_ip: '203.0.113.91', intent_type: 'blackhole' });
    expect(rule.status).toBe(502);
    expect(f5.logins - before).toBe(2); // the test's login and the rule's, each once

    const untrusted = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'no CA', endpoint: f5.baseUrl, auth_token: f5.credentials });
    const refused = await call('POST', `/api/v1/mitigation/adapters/${untrusted.body.adapter.id}/test`);
    expect(refused.body).toMatchObject({ ok: true, success: false });
    expect(JSON.stringify(refused.body)).toContain('TLS certificate does not verify');
  });

  it('refuses FlowSpec, and settings that are not an appliance’s', async () => {
    expectError(await call('POST', '/api/v1/mitigation/rules', { adapter_id: adapterId, target_ip: '203.0.113.92', intent_type: 'flowspec', match: { protocol: 'udp' } }), 400, 'invalid_parameter', 'flowspec');
    expectError(await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'x', endpoint: f5.baseUrl, config: { partition: '../etc' } }), 400, 'invalid_parameter', 'config.partition');
    expectError(await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'f5', name: 'x', endpoint: '10.0.0.5:443' }), 400, 'invalid_parameter', 'endpoint');
  });
});
