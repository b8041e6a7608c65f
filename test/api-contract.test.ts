// The REST contract: envelopes, auth, rate limits, subscriptions, tenant isolation,
// validation, and the rule life cycle through a real webhook receiver.
import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mitigationAdapters } from '../db/schema.js';
import { revokeTokens } from '../db/workspaces.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';
import { expectError } from './support/expect-error.js';

let stack: Stack;
let hooks: WebhookReceiver;
let a: { id: number; token: string; call: Caller };
let b: { id: number; token: string; call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  a = await stack.tenant();
  b = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

async function webhookAdapter(call: Caller, secret = 'hook-secret', url = hooks.url) {
  const res = await call('POST', '/api/v1/mitigation/adapters', {
    adapter_type: 'webhook',
    name: 'Customer hook',
    endpoint: url,
    auth_token: secret,
    config: { communities: ['65001:666'], timeout_ms: 2000 },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.adapter.id as number;
}

describe('health and documentation', () => {
  it('answers /healthz without a token', async () => {
    const res = await request(stack.baseUrl, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, database: 'ok', temporal: 'ok' });
  });

  it('serves an OpenAPI 3.1 document generated from the request schemas, and a reference page', async () => {
    const res = await request(stack.baseUrl, 'GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    for (const path of ['/mitigation/rules', '/mitigation/rules/history', '/mitigation/rules/{id}/withdraw', '/mitigation/adapters', '/mitigation/adapters/{id}/test', '/allowlist', '/allowlist/{id}']) {
      expect(Object.keys(res.body.paths)).toContain(path);
    }
    const createRule = res.body.components.schemas.CreateRule;
    expect(createRule.required).toEqual(expect.arrayContaining(['intent_type']));
    // target_ip, or target_ips for many (one of the two, checked per request); adapter_id is
    // required for blackhole and flowspec, scrubbing_id for scrubbing (checked per intent).
    expect(Object.keys(createRule.properties)).toEqual(expect.arrayContaining(['target_ip', 'target_ips', 'adapter_id', 'scrubbing_id']));
    expect(createRule.properties.target_ips.maxItems).toBe(1024);
    expect(createRule.additionalProperties).toBe(false);
    // Every operation in one resource group; the user's first, the agent protocol last.
    const doc = res.body;
    const tags = doc.tags.map((t: { name: string }) => t.name);
    expect(tags[0]).toBe('Mitigation rules');
    expect(tags.at(-1)).toBe('Agent protocol');
    // ...and every status it can answer: a back end down, the body's limits, an unknown id, the subscription gate.
    for (const [path, methods] of Object.entries<Record<string, { tags?: string[]; requestBody?: unknown; responses: Record<string, unknown> }>>(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const statuses = Object.keys(op.responses);
        expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['200', '400', '401', '429', '503']));
        if (op.requestBody) expect(statuses, `${method} ${path}`).toContain('413');
        if (path.includes('{')) expect(statuses, `${method} ${path}`).toContain('404');
        if (method !== 'get') expect(statuses, `${method} ${path}`).toContain('402');
        expect(op.tags, `${method} ${path}`).toHaveLength(1);
        expect(tags, `${method} ${path}`).toContain(op.tags![0]);
        if (path.startsWith('/agent/')) expect(op.tags![0]).toBe('Agent protocol');
      }
    }
    // The reference page and its renderer come from this app, never a CDN.
    const page = await fetch(`${stack.baseUrl}/api/v1/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self';");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of html.matchAll(/(?:href|src)="(docs\/assets\/[^"]+)"/g)) {
      const res = await fetch(`${stack.baseUrl}/api/v1/${asset[1]}`);
      expect(res.status, asset[1]).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset[1]).toBeGreaterThan(100);
    }
  });
});

describe('the reference\'s examples', () => {
  it('shows a request and an answer on every operation, and every request example is one the API takes', async () => {
    const doc = (await request(stack.baseUrl, 'GET', '/api/v1/openapi.json')).body;
    const user = await stack.tenant();
    const node = await user.call('POST', '/api/v1/nodes', { name: 'examples', ip: '192.0.2.200' });
    const refused: string[] = [];
    for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) {
        const answer = Object.entries<any>(op.responses).find(([status]) => status.startsWith('2'))![1];
        if (answer.content?.['application/json']) expect(answer.content['application/json'].example, `${method} ${path} answer`).toBeDefined();
        const body = op.requestBody?.content?.['application/json'];
        if (!body) continue;
        expect(body.example, `${method} ${path} request`).toBeDefined();
        // Sent as it is shown (ids that exist nowhere here): anything but a validation refusal.
        const url = `/api/v1${path.replace(/\{[a-z_]+\}/g, (p) => (p === '{uuid}' ? '00000000-0000-4000-8000-000000000000' : p === '{ref}' ? 'no-such-ref' : '999999999'))}`;
        const auth = path.startsWith('/agent/') ? { authorization: `Bearer ${node.body.api_key}` } : { authorization: `Bearer ${user.token}` };
        const res = await request(stack.baseUrl, method.toUpperCase(), url, body.example, auth);
        if (res.status === 400) refused.push(`${method} ${path}: ${JSON.stringify(body.example)} -> ${res.body.error.message}`);
      }
    }
    expect(refused).toEqual([]);
  }, 120_000);
});

describe('authentication', () => {
  it('refuses missing, malformed, unknown and revoked tokens with 401', async () => {
    expectError(await request(stack.baseUrl, 'GET', '/api/v1/mitigation/rules'), 401, 'unauthorized');
    expectError(await request(stack.baseUrl, 'GET', '/api/v1/mitigation/rules', undefined, { authorization: 'Bearer nothex' }), 401, 'unauthorized');
    expectError(await request(stack.baseUrl, 'GET', '/api/v1/mitigation/rules', undefined, { authorization: `Bearer ${'ab'.repeat(32)}` }), 401, 'unauthorized');
    expectError(await request(stack.baseUrl, 'GET', '/api/v1/mitigation/rules', undefined, { authorization: `Basic ${a.token}` }), 401, 'unauthorized');
    const c = await stack.tenant();
    expect((await c.call('GET', '/api/v1/allowlist')).status).toBe(200);
    expect(await revokeTokens(stack.db.db, c.token.slice(0, 8))).toBe(1);
    expectError(await c.call('GET', '/api/v1/allowlist'), 401, 'unauthorized');
  });

  it('answers unknown endpoints with a not_found envelope', async () => {
    expectError(await a.call('GET', '/api/v1/nope'), 404, 'not_found');
    expectError(await request(stack.baseUrl, 'GET', '/nope'), 404, 'not_found');
  });
});

describe('rate limiting', () => {
  it('counts per token, reports X-RateLimit-* and answers 429 with Retry-After', async () => {
    const t = await stack.tenant({ rateLimit: 5 });
    for (let i = 0; i < 5; i++) {
      const res = await t.call('GET', '/api/v1/allowlist');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    }
    const over = await t.call('GET', '/api/v1/allowlist');
    expectError(over, 429, 'rate_limited');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(over.headers.get('x-ratelimit-remaining')).toBe('0');
    // Another tenant's budget is untouched; the default limit is 1,000.
    const other = await b.call('GET', '/api/v1/allowlist');
    expect(other.status).toBe(200);
    expect(other.headers.get('x-ratelimit-limit')).toBe('1000');
  });

  it('slides: a burst across a minute boundary is one budget, not two', async () => {
    const minute = 60_000;
    let now = Math.ceil(Date.now() / minute) * minute + 10 * minute;
    const clocked = await startStack(inject('env'), { clock: () => now });
    try {
      const t = await clocked.tenant({ rateLimit: 10 });
      now -= 1000; // the last second of a minute
      for (let i = 0; i < 10; i++) expect((await t.call('GET', '/api/v1/allowlist')).status).toBe(200);
      now += 2000; // the first second of the next
      const after = [];
      for (let i = 0; i < 10; i++) after.push((await t.call('GET', '/api/v1/allowlist')).status);
      // A fixed window would let all ten through (twenty in two seconds).
      expect(after.filter((s) => s === 429).length).toBeGreaterThanOrEqual(9);
      const over = await t.call('GET', '/api/v1/allowlist');
      const wait = Number(over.headers.get('retry-after'));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(120);
      // Once Retry-After has passed, there is room again.
      now += wait * 1000;
      expect((await t.call('GET', '/api/v1/allowlist')).status).toBe(200);
    } finally {
      await clocked.stop();
    }
  });
});

describe('subscriptions', () => {
  it('lets an inactive workspace read but not write', async () => {
    const t = await stack.tenant({ active: false });
    expect((await t.call('GET', '/api/v1/allowlist')).status).toBe(200);
    expect((await t.call('GET', '/api/v1/mitigation/rules')).status).toBe(200);
    expectError(await t.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.10' }), 402, 'subscription_required');
    expectError(await t.call('DELETE', '/api/v1/allowlist/1'), 402, 'subscription_required');
    expectError(await t.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'x', endpoint: hooks.url }), 402, 'subscription_required');
  });
});

describe('allowlist', () => {
  it('follows the reference example and keeps tenants apart', async () => {
    const res = await a.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.10', label: 'Monitoring Server', scope: 'workspace' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, entry: { ip_address: '198.51.100.10', label: 'Monitoring Server', scope: 'workspace' } });
    const id = res.body.entry.id;
    expectError(await a.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.10' }), 409, 'conflict');

    const node = (await a.call('POST', '/api/v1/nodes', { name: 'allowlisted-node', ip: '203.0.113.199' })).body.node.uuid;
    const scoped = await a.call('POST', '/api/v1/allowlist', { ip_address: '2001:db8:10::/48', scope: 'node', node });
    expect(scoped.status).toBe(200);
    const forNode = await a.call('GET', `/api/v1/allowlist?node=${node}`);
    expect(forNode.body.entries.map((e: any) => e.ip_address)).toEqual(['198.51.100.10', '2001:db8:10::/48']);
    const otherNode = await a.call('GET', '/api/v1/allowlist?node=00000000-0000-4000-8000-000000000000');
    expect(otherNode.body.entries.map((e: any) => e.ip_address)).toEqual(['198.51.100.10']);

    expect((await b.call('GET', '/api/v1/allowlist')).body.entries).toEqual([]);
    expectError(await b.call('DELETE', `/api/v1/allowlist/${id}`), 404, 'not_found');
    expect((await a.call('DELETE', `/api/v1/allowlist/${id}`)).body).toEqual({ ok: true, deleted: id });
    expectError(await a.call('DELETE', `/api/v1/allowlist/${id}`), 404, 'not_found');
    await a.call('DELETE', `/api/v1/allowlist/${scoped.body.entry.id}`);
  });

  it.each([
    [{ ip_address: 'not-an-ip' }, 'ip_address'],
    [{ ip_address: '203.0.113.5/24' }, 'host bits'],
    [{ ip_address: '0.0.0.0/0' }, '/0'],
    [{ ip_address: '10.0.0.1', scope: 'node' }, 'node is required'],
    [{ ip_address: '10.0.0.1', scope: 'node', node: 'abc' }, 'UUID'],
    [{ ip_address: '10.0.0.1', colour: 'red' }, 'unknown field "colour"'],
    [{}, 'ip_address is required'],
  ])('refuses %j', async (body, hint) => {
    const res = await a.call('POST', '/api/v1/allowlist', body);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toContain(hint);
  });
});

describe('adapters', () => {
  it('creates the reference ExaBGP adapter and never returns its secret', async () => {
    const res = await a.call('POST', '/api/v1/mitigation/adapters', {
      adapter_type: 'exabgp',
      name: 'Core Router BGP',
      endpoint: '10.0.0.1:5000',
      auth_token: 'bridge-secret-123',
      config: { local_as: 65001, communities: ['65001:666'] },
      capabilities: ['blackhole', 'flowspec'],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, adapter: { adapter_type: 'exabgp', name: 'Core Router BGP', status: 'configured', auth_token_set: true } });
    const id = res.body.adapter.id;
    const list = await a.call('GET', '/api/v1/mitigation/adapters');
    expect(JSON.stringify(list.body)).not.toContain('bridge-secret-123');
    expect(list.body.adapters.map((x: any) => x.id)).toContain(id);

    // Encrypted at rest.
    const [row] = await stack.db.db.select().from(mitigationAdapters).where(eq(mitigationAdapters.id, id));
    expect(row!.authTokenEnc).not.toContain('bridge-secret-123');
    expect(stack.secrets.open(row!.authTokenEnc!)).toBe('bridge-secret-123');

    // Update by id: an omitted token is kept, null clears it.
    const upd = await a.call('POST', '/api/v1/mitigation/adapters', { id, adapter_type: 'exabgp', name: 'Renamed', endpoint: '10.0.0.1:5000' });
    expect(upd.body.adapter).toMatchObject({ id, name: 'Renamed', auth_token_set: true });
    const cleared = await a.call('POST', '/api/v1/mitigation/adapters', { id, adapter_type: 'exabgp', name: 'Renamed', endpoint: '10.0.0.1:5000', auth_token: null });
    expect(cleared.body.adapter.auth_token_set).toBe(false);

    // Another tenant cannot see, update, test or delete it.
    expect((await b.call('GET', '/api/v1/mitigation/adapters')).body.adapters).toEqual([]);
    expectError(await b.call('POST', '/api/v1/mitigation/adapters', { id, adapter_type: 'exabgp', name: 'x', endpoint: '10.0.0.1:5000' }), 404, 'not_found');
    expectError(await b.call('POST', `/api/v1/mitigation/adapters/${id}/test`), 404, 'not_found');
    expectError(await b.call('DELETE', `/api/v1/mitigation/adapters/${id}`), 404, 'not_found');

    expect((await a.call('DELETE', `/api/v1/mitigation/adapters/${id}`)).body).toMatchObject({ ok: true, deleted: id, withdrawn_rules: 0 });
    expectError(await a.call('DELETE', `/api/v1/mitigation/adapters/${id}`), 404, 'not_found');
  });

  it('tests a webhook adapter through a workflow and reports latency', async () => {
    const id = await webhookAdapter(a.call);
    const res = await a.call('POST', `/api/v1/mitigation/adapters/${id}/test`);
    expect(res.status).toBe(200);
    expect(res.body.success).toBe(true);
    expect(res.body.latency_ms).toBeGreaterThan(0);
    expect(hooks.received.at(-1)!.body.event).toBe('test');
    const dead = await webhookAdapter(a.call, 's', 'http://127.0.0.1:9/nothing');
    const failed = await a.call('POST', `/api/v1/mitigation/adapters/${dead}/test`);
    expect(failed.body).toMatchObject({ ok: true, success: false });
    expect(failed.body.error).toContain('unreachable');
  });

  it.each([
    [{ adapter_type: 'quagga', name: 'x', endpoint: '192.0.2.1:179' }, 'adapter_type'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: 'http://bridge' }, 'host:port'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: '192.0.2.1:99999' }, 'host:port'],
    [{ adapter_type: 'webhook', name: 'x', endpoint: 'ftp://x' }, 'http'],
    [{ adapter_type: 'exabgp', name: '', endpoint: '192.0.2.1:5000' }, 'name'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: '192.0.2.1:5000', config: { communties: ['1:1'] } }, 'communties'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: '192.0.2.1:5000', config: { communities: ['65536:1'] } }, '0-65535'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: '192.0.2.1:5000', config: { next_hop: '127.0.0.1' } }, 'next_hop'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: '192.0.2.1:5000', config: { max_prefix_v4: 8 } }, 'max_prefix_v4'],
    [{ adapter_type: 'frr', name: 'x', endpoint: '192.0.2.1:2605', capabilities: ['flowspec'] }, 'FlowSpec'],
    [{ adapter_type: 'exabgp', name: 'x', endpoint: '192.0.2.1:5000', capabilities: ['teleport'] }, 'capabilities'],
  ])('refuses %j', async (body, hint) => {
    const res = await a.call('POST', '/api/v1/mitigation/adapters', body);
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toContain(hint);
  });
});

describe('rules through a webhook adapter', () => {
  let adapterId: number;
  beforeAll(async () => {
    adapterId = await webhookAdapter(a.call);
  });

  function verifySignature(hook: { headers: any; raw: string }, secret = 'hook-secret') {
    const expected = `sha256=${createHmac('sha256', secret).update(hook.raw).digest('hex')}`;
    expect(hook.headers['x-bulwark-signature']).toBe(expected);
  }

  it('announces, lists, refuses a duplicate, withdraws and keeps history', async () => {
    const before = hooks.received.length;
    const res = await a.call('POST', '/api/v1/mitigation/rules', {
      target_ip: '203.0.113.50/32',
      intent_type: 'blackhole',
      adapter_id: adapterId,
      ttl: 3600,
      reason: 'Manual mitigation for UDP flood',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ ok: true, rule: { target_ip: '203.0.113.50/32', intent_type: 'blackhole', status: 'active' } });
    const rule = res.body.rule;
    expect(rule.communities).toEqual(['65535:666', '65535:65281', '65001:666']);
    expect(rule.workflow_id).toBe(`rule:${rule.id}`);
    expect(new Date(rule.expires_at).getTime() - new Date(rule.announced_at).getTime()).toBeCloseTo(3600_000, -3);

    const announce = hooks.received.slice(before).find((h) => h.body.event === 'announce')!;
    verifySignature(announce);
    expect(announce.body.intent).toMatchObject({ kind: 'blackhole', prefix: '203.0.113.50/32', communities: ['65535:666', '65535:65281', '65001:666'] });

    expect((await a.call('GET', '/api/v1/mitigation/rules')).body.rules.map((r: any) => r.id)).toContain(rule.id);
    expect((await b.call('GET', '/api/v1/mitigation/rules')).body.rules).toEqual([]);
    expectError(await b.call('GET', `/api/v1/mitigation/rules/${rule.id}`), 404, 'not_found');
    expectError(await b.call('POST', `/api/v1/mitigation/rules/${rule.id}/withdraw`), 404, 'not_found');

    const dup = await a.call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.50', intent_type: 'blackhole', adapter_id: adapterId });
    expectError(dup, 409, 'conflict');
    expect(dup.body.error.message).toContain(`rule ${rule.id}`);

    const w = await a.call('POST', `/api/v1/mitigation/rules/${rule.id}/withdraw`, { reason: 'attack over' });
    expect(w.status).toBe(200);
    expect(w.body.rule).toMatchObject({ id: rule.id, status: 'withdrawn', status_reason: 'attack over' });
    const withdraw = hooks.received.slice(before).find((h) => h.body.event === 'withdraw')!;
    verifySignature(withdraw);
    expect(withdraw.body.intent.prefix).toBe('203.0.113.50/32');
    expectError(await a.call('POST', `/api/v1/mitigation/rules/${rule.id}/withdraw`), 409, 'conflict');

    const history = await a.call('GET', '/api/v1/mitigation/rules/history?limit=1');
    expect(history.body.rules).toHaveLength(1);
    expect(history.body.rules[0]).toMatchObject({ id: rule.id, status: 'withdrawn' });
    expect((await b.call('GET', '/api/v1/mitigation/rules/history')).body.rules).toEqual([]);
    expect((await a.call('GET', '/api/v1/mitigation/rules')).body.rules.map((r: any) => r.id)).not.toContain(rule.id);
  });

  it('withdraws on TTL expiry and records it as expired', async () => {
    const res = await a.call('POST', '/api/v1/mitigation/rules', {
      target_ip: '203.0.113.51',
      intent_type: 'flowspec',
      adapter_id: adapterId,
      ttl: 2,
      match: { protocol: 'udp', source_port: 53, packet_length: '512-65535' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rule.match).toEqual({ protocol: ['udp'], source_port: [53], packet_length: ['512-65535'] });
    expect(res.body.rule.action).toEqual({ type: 'discard' });
    const id = res.body.rule.id;
    await expect.poll(async () => (await a.call('GET', `/api/v1/mitigation/rules/${id}`)).body.rule.status, { timeout: 10_000, interval: 250 }).toBe('expired');
    const rule = (await a.call('GET', `/api/v1/mitigation/rules/${id}`)).body.rule;
    expect(rule.status_reason).toBe('ttl expired');
    expect(new Date(rule.ended_at).getTime()).toBeGreaterThanOrEqual(new Date(rule.expires_at).getTime() - 50);
    expect(hooks.received.some((h) => h.body.event === 'withdraw' && h.body.intent.destination === '203.0.113.51/32')).toBe(true);
  });

  it('retries a webhook that answers 5xx, then succeeds', async () => {
    hooks.failNext(2, 503);
    const res = await a.call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.52', intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rule.status).toBe('active');
    expect(res.body.rule.expires_at).toBeNull();
    const attempts = hooks.received.filter((h) => h.body.event === 'announce' && h.body.intent.prefix === '203.0.113.52/32');
    expect(attempts).toHaveLength(3);
    await a.call('POST', `/api/v1/mitigation/rules/${res.body.rule.id}/withdraw`);
  });

  it('ends failed with the adapter error when the announcement keeps failing', async () => {
    const dead = await webhookAdapter(a.call, 's', 'http://127.0.0.1:9/unreachable');
    const res = await a.call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.53', intent_type: 'blackhole', adapter_id: dead });
    expectError(res, 502, 'adapter_error');
    expect(res.body.rule).toMatchObject({ status: 'failed' });
    expect(res.body.rule.status_reason).toContain('unreachable');
    const history = await a.call('GET', '/api/v1/mitigation/rules/history');
    expect(history.body.rules.find((r: any) => r.id === res.body.rule.id).status).toBe('failed');
  });

  it('withdraws live rules before deleting their adapter', async () => {
    const id = await webhookAdapter(a.call);
    const rule = await a.call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.54', intent_type: 'blackhole', adapter_id: id });
    expect(rule.body.rule.status).toBe('active');
    const del = await a.call('DELETE', `/api/v1/mitigation/adapters/${id}`);
    expect(del.body).toMatchObject({ ok: true, deleted: id, withdrawn_rules: 1 });
    expect((await a.call('GET', `/api/v1/mitigation/rules/${rule.body.rule.id}`)).body.rule.status).toBe('withdrawn');
  });

  describe('refuses bad input with a clear 4xx, never a 5xx', () => {
    const base = () => ({ intent_type: 'blackhole', adapter_id: adapterId, target_ip: '203.0.113.60' });
    it.each([
      [{ target_ip: '300.1.2.3' }, 400, 'invalid_parameter', 'target_ip'],
      [{ target_ip: 'example.com' }, 400, 'invalid_parameter', 'target_ip'],
      [{ target_ip: '203.0.113.5/24' }, 400, 'invalid_parameter', 'host bits'],
      [{ target_ip: '0.0.0.0/0' }, 400, 'invalid_parameter', 'broader'],
      [{ target_ip: '::/0' }, 400, 'invalid_parameter', 'broader'],
      [{ target_ip: '203.0.112.0/23' }, 400, 'invalid_parameter', '/24 or longer'],
      [{ target_ip: '2001:db8::/32' }, 400, 'invalid_parameter', '/48 or longer'],
      [{ target_ip: '10.1.2.3' }, 400, 'invalid_parameter', 'reserved'],
      [{ target_ip: '127.0.0.1' }, 400, 'invalid_parameter', 'loopback'],
      [{ target_ip: 'fe80::1' }, 400, 'invalid_parameter', 'link-local'],
      [{ target_ip: '224.0.0.5' }, 400, 'invalid_parameter', 'multicast'],
      [{ intent_type: 'nuke' }, 400, 'invalid_parameter', 'intent_type'],
      [{ adapter_id: 'one' }, 400, 'invalid_parameter', 'adapter_id'],
      [{ adapter_id: 999999 }, 404, 'not_found', 'adapter 999999'],
      [{ ttl: -1 }, 400, 'invalid_parameter', 'ttl'],
      [{ ttl: 1.5 }, 400, 'invalid_parameter', 'ttl'],
      [{ target: '203.0.113.60' }, 400, 'invalid_parameter', 'unknown field "target"'],
      [{ match: { protocol: 'udp' } }, 400, 'invalid_parameter', 'flowspec'],
      [{ intent_type: 'scrubbing' }, 400, 'invalid_parameter', 'scrubbing_id'],
      [{ intent_type: 'flowspec', match: { destination_port: 70000 } }, 400, 'invalid_parameter', 'destination_port'],
      [{ intent_type: 'flowspec', match: { source_port: '900-80' } }, 400, 'invalid_parameter', 'low end'],
      [{ intent_type: 'flowspec', match: { packet_length: '1-99999' } }, 400, 'invalid_parameter', 'packet_length'],
      [{ intent_type: 'flowspec', match: { protocol: 'bogus' } }, 400, 'invalid_parameter', 'protocol'],
      [{ intent_type: 'flowspec', match: { protocol: 300 } }, 400, 'invalid_parameter', 'protocol'],
      [{ intent_type: 'flowspec', match: { tcp_flags: ['xmas'] } }, 400, 'invalid_parameter', 'tcp_flags'],
      [{ intent_type: 'flowspec', match: { protocol: 'udp', tcp_flags: ['syn'] } }, 400, 'invalid_parameter', 'tcp_flags'],
      [{ intent_type: 'flowspec', match: { fragment: ['sometimes'] } }, 400, 'invalid_parameter', 'fragment'],
      [{ intent_type: 'flowspec', match: { source: '2001:db8::/64' } }, 400, 'invalid_parameter', 'IPv6'],
      [{ intent_type: 'flowspec', match: { sauce: 1 } }, 400, 'invalid_parameter', 'sauce'],
      [{ intent_type: 'flowspec', action: { type: 'rate_limit', bytes_per_second: -5 } }, 400, 'invalid_parameter', 'bytes_per_second'],
      [{ intent_type: 'flowspec', action: { type: 'redirect' } }, 400, 'invalid_parameter', 'action'],
    ])('%j -> %i %s', async (patch, status, code, hint) => {
      const res = await a.call('POST', '/api/v1/mitigation/rules', { ...base(), ...patch });
      expectError(res, status, code);
      expect(res.body.error.message).toContain(hint);
    });

    it('refuses an allowlisted target, and a prefix that covers one', async () => {
      await a.call('POST', '/api/v1/allowlist', { ip_address: '203.0.113.77', label: 'Office VPN' });
      for (const target of ['203.0.113.77', '203.0.113.0/24']) {
        const res = await a.call('POST', '/api/v1/mitigation/rules', { ...base(), target_ip: target });
        expectError(res, 400, 'invalid_parameter');
        expect(res.body.error.message).toContain('allowlisted');
        expect(res.body.error.message).toContain('Office VPN');
      }
    });

    it('answers malformed JSON, a wrong body type and a huge body with envelopes', async () => {
      expectError(await a.call('POST', '/api/v1/mitigation/rules', '{"target_ip": '), 400, 'invalid_json');
      expectError(await a.call('POST', '/api/v1/mitigation/rules', '[1,2,3]'), 400, 'invalid_parameter');
      expectError(await a.call('POST', '/api/v1/mitigation/rules', JSON.stringify({ ...base(), reason: 'x'.repeat(100_000) })), 413, 'payload_too_large');
      expectError(await a.call('GET', '/api/v1/mitigation/rules/history?limit=0'), 400, 'invalid_parameter');
      expectError(await a.call('GET', '/api/v1/mitigation/rules/history?limit=501'), 400, 'invalid_parameter');
      expectError(await a.call('GET', '/api/v1/mitigation/rules/abc'), 400, 'invalid_parameter');
      expectError(await a.call('POST', '/api/v1/mitigation/rules/-3/withdraw'), 400, 'invalid_parameter');
    });
  });
});
