// One rule for every kind of input, applied everywhere, and the answers that go with it:
// ids in and out of range, NUL characters, wrong types, coercion, unknown query
// parameters, empty bodies on action endpoints, 401/405/501 with their headers, and answers
// in the request's vocabulary.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let hooks: WebhookReceiver;
let a: { token: string; call: Caller };
let b: { token: string; call: Caller };
let adapterId: number;
let thresholdId: number;
let allowId: number;

beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  a = await stack.tenant();
  b = await stack.tenant();
  adapterId = (await a.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'hook', endpoint: hooks.url })).body.adapter.id;
  thresholdId = (await a.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '203.0.113.1', thresholds: { tier1_pps: 1000 } })).body.threshold.id;
  allowId = (await a.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.1' })).body.entry.id;
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

const rule = (patch: Record<string, unknown> = {}) => ({ target_ip: '203.0.113.50', intent_type: 'blackhole', adapter_id: adapterId, ...patch });

describe('ids', () => {
  it.each([
    ['DELETE', '/api/v1/mitigation/adapters/2147483648'],
    ['POST', '/api/v1/mitigation/adapters/2147483648/test'],
    ['DELETE', '/api/v1/allowlist/2147483648'],
    ['DELETE', '/api/v1/mitigation/thresholds/2147483648'],
    ['GET', '/api/v1/mitigation/rules/9223372036854775808'],
    ['POST', '/api/v1/mitigation/rules/99999999999999999999/withdraw'],
    ['GET', '/api/v1/incidents/9007199254740993'],
    ['GET', '/api/v1/pcaps/4294967296/analysis'],
  ])('%s %s: an id beyond the column’s range is no row’s: 404', async (method, path) => {
    const res = await a.call(method, path);
    expectError(res, 404, 'not_found');
    // Named as it was written, not as a float ("Infinity", "9223372036854776000").
    expect(res.body.error.message).toContain(path.match(/\d{6,}/)![0]);
  });

  it.each([
    [rule({ adapter_id: 4294967296 }), '/api/v1/mitigation/rules'],
    [rule({ adapter_id: 2147483648 }), '/api/v1/mitigation/rules'],
    [rule({ adapter_id: '2147483648' }), '/api/v1/mitigation/rules'],
    [{ adapter_id: 2147483648 }, '/api/v1/mitigation/escalation'],
    [{ id: 2147483648, adapter_type: 'webhook', name: 'x', endpoint: 'http://127.0.0.1:9/x' }, '/api/v1/mitigation/adapters'],
  ])('%j to %s: a body id out of range is 400 naming the field', async (body, path) => {
    const res = await a.call('POST', path, body);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toMatch(/^(adapter_id|id) must be /);
  });

  it.each(['abc', '1e3', '0x10', '-3', '0', '1.5', '%20', '1%00'])('a path id "%s" is 400 (decimal digits only)', async (id) => {
    const res = await a.call('GET', `/api/v1/mitigation/rules/${id}`);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toBe('id must be a positive integer id');
  });
});

describe('NUL characters', () => {
  it.each([
    ['/api/v1/mitigation/rules', { target_ip: '203.0.113.50', intent_type: 'blackhole', adapter_id: 1, reason: 'flood\u0000' }, 'reason'],
    ['/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'a\u0000b', endpoint: 'http://127.0.0.1:9/x' }, 'name'],
    ['/api/v1/mitigation/adapters', { adapter_type: 'exabgp', name: 'x', endpoint: '127.0.0.1:5000', config: { communities: ['65001:666\u0000'] } }, 'config.communities.0'],
    ['/api/v1/allowlist', { ip_address: '198.51.100.2', label: '\u0000' }, 'label'],
    ['/api/v1/mitigation/thresholds', { target_ip: '203.0.113.2', label: 'x\u0000', thresholds: { tier1_pps: 10 } }, 'label'],
    ['/api/v1/nodes', { name: 'n\u0000', ip: '203.0.113.3' }, 'name'],
  ])('in %s is refused, naming %s', async (path, body, field) => {
    const res = await a.call('POST', path, body);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toBe(`${field} must not contain NUL characters`);
  });

  it('in a key, the agent protocol and a query string too', async () => {
    const key = await a.call('POST', '/api/v1/mitigation/rules', { ...rule(), ['re\u0000ason']: 'x' });
    expectError(key, 400, 'invalid_parameter', 'NUL');
    const node = await a.call('POST', '/api/v1/nodes', { name: 'nul-agent', ip: '203.0.113.4' });
    const agent = await request(stack.baseUrl, 'POST', '/api/v1/agent/heartbeat', { agent_version: '1\u0000' }, { authorization: `Bearer ${node.body.api_key}` });
    expectError(agent, 400, 'invalid_parameter');
    expect(agent.body.error.message).toBe('agent_version must not contain NUL characters');
    expectError(await a.call('GET', '/api/v1/incidents?family=udp_flood%00'), 400, 'invalid_parameter');
  });
});

describe('types, coercion and messages', () => {
  it.each([
    [({ ttl: '60' }), 'ttl must be a number, not a string'],
    [({ ttl: 1.5 }), 'ttl must be a whole number'],
    [({ adapter_id: '2' }), 'adapter_id must be a number, not a string'],
    [({ reason: 7 }), 'reason must be a string, not a number'],
    [({ target_ip: 'nope' }), 'target_ip: '],
    [({ adapter_id: undefined }), 'adapter_id is required'],
    [({ ttl: -5 }), 'ttl must be >= 0'],
    [({ target_ip: undefined, target_ips: [] }), 'target_ips must hold at least 1 item'],
  ])('%j -> "%s"', async (body: Record<string, unknown>, message) => {
    const res = await a.call('POST', '/api/v1/mitigation/rules', rule(body));
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message.startsWith(message), res.body.error.message).toBe(true);
    expect(res.body.error.message).not.toMatch(/(\w+): \1:/);
  });

  it('names an adapter token of the wrong type, and an unknown config key once', async () => {
    const token = await a.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'x', endpoint: 'http://127.0.0.1:9/x', auth_token: 12345 });
    expectError(token, 400, 'invalid_parameter');
    expect(token.body.error.message).toBe('auth_token must be a string, not a number');
    const config = await a.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'exabgp', name: 'x', endpoint: '127.0.0.1:5000', config: { foo: 1 } });
    expectError(config, 400, 'invalid_parameter');
    expect(config.body.error.message).toBe('unknown field "config.foo"');
  });

  it.each([
    '/api/v1/mitigation/rules/history?limit=abc',
    '/api/v1/mitigation/rules/history?limit=1e2',
    '/api/v1/incidents?offset=0x10',
    '/api/v1/nodes?limit=',
    '/api/v1/pcaps?incident_id=-1',
  ])('a query number that is not decimal digits: %s', async (path) => {
    const res = await a.call('GET', path);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).not.toContain('is required');
  });

  it.each([
    '/api/v1/mitigation/rules?foo=1',
    '/api/v1/mitigation/rules/history?foo=1',
    '/api/v1/mitigation/adapters?foo=1',
    '/api/v1/mitigation/escalation?foo=1',
    '/api/v1/mitigation/thresholds?foo=1',
    '/api/v1/allowlist?foo=1',
    '/api/v1/nodes?foo=1',
    '/api/v1/incidents?foo=1',
    '/api/v1/pcaps?foo=1',
  ])('an unknown query parameter is refused everywhere: %s', async (path) => {
    const res = await a.call('GET', path);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toBe('unknown query parameter "foo"');
  });

  it('a node-scoped allowlist entry names a node of this workspace', async () => {
    const theirs = await b.call('POST', '/api/v1/nodes', { name: 'theirs', ip: '203.0.113.5' });
    for (const node of [theirs.body.node.uuid, '00000000-0000-4000-8000-000000000000']) {
      const res = await a.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.3', scope: 'node', node });
      expectError(res, 400, 'invalid_parameter');
      expect(res.body.error.message).toBe(`node: no node ${node} in this workspace`);
    }
  });

  it('geo lockdown names countries the GeoIP data set knows', async () => {
    const res = await a.call('POST', '/api/v1/mitigation/escalation', { geo_lockdown: { enabled: true, countries: ['XX', 'KP'] } });
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toContain('XX');
  });
});

describe('action endpoints', () => {
  it('take an empty body, with or without a JSON content type', async () => {
    const created = await a.call('POST', '/api/v1/mitigation/rules', rule({ target_ip: '203.0.113.51' }));
    expect(created.status).toBe(200);
    const empty = (path: string) =>
      fetch(`${stack.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' } }).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect((await empty(`/api/v1/mitigation/adapters/${adapterId}/test`)).status).toBe(200);
    const withdrawn = await empty(`/api/v1/mitigation/rules/${created.body.rule.id}/withdraw`);
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    expect(withdrawn.body.rule.status).toBe('withdrawn');
    const node = await a.call('POST', '/api/v1/nodes', { name: 'empty-body', ip: '203.0.113.6' });
    const agent = (path: string, init: RequestInit = {}) =>
      fetch(`${stack.baseUrl}${path}`, { method: 'POST', ...init, headers: { authorization: `Bearer ${node.body.api_key}`, 'content-type': 'application/json', ...init.headers } });
    expect((await agent('/api/v1/agent/incidents', { body: JSON.stringify({ ref: 'e1', started_at: new Date().toISOString(), pps: 1, bps: 1 }) })).status).toBe(200);
    expect((await agent('/api/v1/agent/incidents/e1/resolve')).status).toBe(200);
    // A body that is there but broken is still an error.
    expectError(await a.call('POST', `/api/v1/mitigation/rules/${created.body.rule.id}/withdraw`, '{"reason":'), 400, 'invalid_json');
  });
});

describe('status codes and their headers', () => {
  it('401 says how to authenticate', async () => {
    const none = await fetch(`${stack.baseUrl}/api/v1/mitigation/rules`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="bulwark"');
    const wrong = await fetch(`${stack.baseUrl}/api/v1/mitigation/rules`, { headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="bulwark", error="invalid_token"');
    const agent = await fetch(`${stack.baseUrl}/api/v1/agent/config`);
    expect(agent.headers.get('www-authenticate')).toBe('Bearer realm="bulwark"');
  });

  it.each([
    ['PUT', '/api/v1/mitigation/rules', 'GET, POST'],
    ['DELETE', '/api/v1/mitigation/rules/1', 'GET'],
    ['GET', '/api/v1/mitigation/rules/1/withdraw', 'POST'],
    ['PATCH', '/api/v1/allowlist/1', 'DELETE'],
  ])('%s %s is 405 with Allow: %s', async (method, path, allow) => {
    const res = await a.call(method, path);
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')).toBe(allow);
  });

  it('an unknown path is still 404', async () => {
    expectError(await a.call('GET', '/api/v1/nothing-here'), 404, 'not_found');
  });
});

describe('answers in the request’s vocabulary', () => {
  it('a FlowSpec rule echoes match and action as they were asked', async () => {
    const res = await a.call('POST', '/api/v1/mitigation/rules', {
      target_ip: '203.0.113.52',
      intent_type: 'flowspec',
      adapter_id: adapterId,
      match: { protocol: ['udp', 6], source: '192.0.2.0/24', source_port: 53, destination_port: ['1000-2000', 80], packet_length: '0-100', tcp_flags: ['syn'], fragment: ['is-fragment'] },
      action: { type: 'rate_limit', bytes_per_second: 125000 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rule.match).toEqual({
      protocol: ['tcp', 'udp'],
      source: '192.0.2.0/24',
      source_port: [53],
      destination_port: ['1000-2000', 80],
      packet_length: ['0-100'],
      tcp_flags: ['syn'],
      fragment: ['is-fragment'],
    });
    expect(res.body.rule.action).toEqual({ type: 'rate_limit', bytes_per_second: 125000 });
    const listed = (await a.call('GET', '/api/v1/mitigation/rules')).body.rules.find((r: { id: number }) => r.id === res.body.rule.id);
    expect(listed.match).toEqual(res.body.rule.match);
  });
});

describe('still 404 for another workspace’s ids in range', () => {
  it('adapters, thresholds and allowlist entries', async () => {
    expectError(await b.call('DELETE', `/api/v1/mitigation/adapters/${adapterId}`), 404, 'not_found');
    expectError(await b.call('DELETE', `/api/v1/mitigation/thresholds/${thresholdId}`), 404, 'not_found');
    expectError(await b.call('DELETE', `/api/v1/allowlist/${allowId}`), 404, 'not_found');
  });
});

describe('figures beyond 32 bits, where the protocol allows them', () => {
  it('stores a metric sample and a heartbeat of 2^31 pps and more (found by the fuzzer as a 500)', async () => {
    const node = await a.call('POST', '/api/v1/nodes', { name: 'big-figures', ip: '203.0.113.7' });
    const agent = (path: string, body: unknown) => request(stack.baseUrl, 'POST', `/api/v1/agent${path}`, body, { authorization: `Bearer ${node.body.api_key}` });
    const metrics = await agent('/metrics', { samples: [{ at: new Date().toISOString(), pps: 2 ** 31, bps: 2 ** 40 }] });
    expect(metrics.status, JSON.stringify(metrics.body)).toBe(200);
    expect((await agent('/heartbeat', { pps: 3e9, bps: 4e12 })).status).toBe(200);
    expect((await a.call('GET', `/api/v1/nodes/${node.body.node.uuid}`)).body.node).toMatchObject({ last_pps: 3e9, last_bps: 4e12 });
  });
});
