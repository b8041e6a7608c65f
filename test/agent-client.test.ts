// The agent's API client against the real API, through a loopback proxy that can play
// an outage: ordered delivery, Retry-After, a bounded outbox, refused messages skipped,
// incident reports never held up behind telemetry.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentApiClient } from '../agent/api-client.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let user: { call: Caller };
let proxy: Server;
let proxyUrl: string;
/** What the proxy does: forward, or answer 503 with Retry-After. */
let outage = false;
/** Requests to this path answer 500, as a server bug on one message would. */
let failing: string | null = null;
/** Requests to this path answer 429 with Retry-After: 60, as a throttled heartbeat would. */
let throttled: string | null = null;
const seen: string[] = [];

beforeAll(async () => {
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push(`${outage ? 'x' : '>'} ${req.method} ${req.url}`);
    if (failing && req.url === failing) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: { code: 'internal_error', message: 'an internal error occurred; it has been logged' } }));
      return;
    }
    if (throttled && req.url === throttled) {
      res.writeHead(429, { 'retry-after': '60', 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: { code: 'rate_limited', message: 'slow down' } }));
      return;
    }
    if (outage) {
      res.writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: { code: 'unavailable', message: 'maintenance' } }));
      return;
    }
    const upstream = await fetch(stack.baseUrl + req.url, {
      method: req.method,
      headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
      body: chunks.length ? Buffer.concat(chunks) : undefined,
    });
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(await upstream.text());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await stack?.stop();
});

async function newNode(name: string) {
  const res = await user.call('POST', '/api/v1/nodes', { name, ip: '203.0.113.120' });
  return { uuid: res.body.node.uuid as string, key: res.body.api_key as string };
}

describe('agent API client', () => {
  it('delivers an incident’s open, updates and resolve in order, across an outage, honouring Retry-After', async () => {
    const node = await newNode('client-1');
    const client = new AgentApiClient({ baseUrl: proxyUrl, nodeKey: node.key, backoffMs: 50 });
    expect((await client.config()).node.uuid).toBe(node.uuid);

    outage = true;
    seen.length = 0;
    const t0 = Date.now();
    client.openIncident({ ref: 'c1', started_at: new Date().toISOString(), pps: 5000, bps: 4e7, classification: { family: 'syn_flood', confidence: 0.9 } });
    client.updateIncident('c1', { pps: 90_000, bps: 7e8 });
    client.updateIncident('c1', { pps: 40_000, bps: 3e8 });
    client.resolveIncident('c1');
    await expect.poll(() => seen.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(client.queued).toBe(4);
    // Retry-After: 1 s between the first two attempts, whatever the backoff says.
    outage = false;
    await client.flush();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    const delivered = seen.filter((s) => s.startsWith('>')).map((s) => s.split(' ').pop());
    expect(delivered).toEqual(['/api/v1/agent/incidents', '/api/v1/agent/incidents/c1/update', '/api/v1/agent/incidents/c1/update', '/api/v1/agent/incidents/c1/resolve']);

    const list = await user.call('GET', `/api/v1/incidents?node=${node.uuid}`);
    expect(list.body.incidents).toHaveLength(1);
    expect(list.body.incidents[0]).toMatchObject({ status: 'resolved', family: 'syn_flood', peak_pps: 90_000 });
    client.stop();
  });

  it('keeps incident messages and drops the oldest metrics when the outbox is full', async () => {
    const node = await newNode('client-2');
    const client = new AgentApiClient({ baseUrl: proxyUrl, nodeKey: node.key, maxQueued: 5, backoffMs: 50 });
    outage = true;
    client.openIncident({ ref: 'c2', started_at: new Date().toISOString(), pps: 5000, bps: 4e7 });
    const at = (s: number) => new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000 + s * 1000).toISOString();
    for (let s = 0; s < 8; s++) client.metrics([{ at: at(s), pps: s, bps: s }]);
    expect(client.queued).toBe(5);
    expect(client.dropped).toBe(4);
    outage = false;
    await client.flush();
    const node2 = (await user.call('GET', `/api/v1/nodes/${node.uuid}`)).body.node;
    expect(node2.last_pps).toBe(7);
    expect((await user.call('GET', `/api/v1/incidents?node=${node.uuid}`)).body.total).toBe(1);
    client.stop();
  });

  it('skips a message the API refuses as invalid instead of blocking the rest', async () => {
    const node = await newNode('client-3');
    const client = new AgentApiClient({ baseUrl: proxyUrl, nodeKey: node.key, backoffMs: 50 });
    client.updateIncident('never-opened', { pps: 1, bps: 1 });
    client.heartbeat({ traffic_state: 'elevated', pps: 12, bps: 34 });
    await client.flush();
    expect(client.rejected).toBe(1);
    expect((await user.call('GET', `/api/v1/nodes/${node.uuid}`)).body.node).toMatchObject({ status: 'elevated', last_pps: 12 });
    client.stop();
  });

  it('sets aside a message the API keeps failing on (500), so the incident behind it gets through', async () => {
    const node = await newNode('client-4');
    const aside: string[] = [];
    const client = new AgentApiClient({ baseUrl: proxyUrl, nodeKey: node.key, backoffMs: 20, maxServerErrors: 3, onDeadLetter: (m) => aside.push(m.path) });
    failing = '/api/v1/agent/heartbeat';
    const from = seen.length;
    try {
      client.heartbeat({ traffic_state: 'attack', pps: 1, bps: 1 });
      client.openIncident({ ref: 'behind', started_at: new Date().toISOString(), pps: 5000, bps: 4e7 });
      await client.flush();
    } finally {
      failing = null;
    }
    expect(client.deadLettered).toBe(1);
    expect(aside).toEqual(['/api/v1/agent/heartbeat']);
    expect(seen.slice(from).filter((l) => l === '> POST /api/v1/agent/heartbeat')).toHaveLength(3);
    expect((await user.call('GET', `/api/v1/incidents?node=${node.uuid}`)).body.incidents.map((i: { status: string }) => i.status)).toEqual(['open']);
    client.stop();
  });

  it('sends an incident report at once, while a heartbeat waits out its Retry-After', async () => {
    const node = await newNode('client-5');
    const client = new AgentApiClient({ baseUrl: proxyUrl, nodeKey: node.key, backoffMs: 50 });
    throttled = '/api/v1/agent/heartbeat';
    const from = seen.length;
    try {
      client.heartbeat({ traffic_state: 'attack', pps: 1, bps: 1 });
      await expect.poll(() => seen.slice(from).includes('> POST /api/v1/agent/heartbeat'), { timeout: 5000 }).toBe(true);
      client.openIncident({ ref: 'not-behind', started_at: new Date().toISOString(), pps: 5000, bps: 4e7 });
      await expect.poll(async () => (await user.call('GET', `/api/v1/incidents?node=${node.uuid}`)).body.total, { timeout: 10_000, interval: 100 }).toBe(1);
      // The heartbeat is still waiting for its minute to pass.
      expect(client.queued).toBe(1);
    } finally {
      throttled = null;
      client.stop();
    }
  });
});
