// Nodes and the agent protocol through HTTP: node keys, heartbeats, config pull, metrics,
// and the contract (validation, isolation, subscription gate).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { nodes } from '../db/schema.js';
import { setSubscription } from '../db/workspaces.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { expectError } from './support/expect-error.js';

let stack: Stack;
let a: { token: string; call: Caller };
let b: { token: string; call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'));
  a = await stack.tenant();
  b = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
});

const agentCall = (key: string) => (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, path, body, { authorization: `Bearer ${key}` });

describe('nodes', () => {
  it('registers a node and shows its key once', async () => {
    const res = await a.call('POST', '/api/v1/nodes', { name: 'edge-01', ip: '203.0.113.10', location: 'Frankfurt', os: 'Debian 12', interface: 'eth0' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.api_key).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.node).toMatchObject({ name: 'edge-01', ip: '203.0.113.10', location: 'Frankfurt', interface: 'eth0', status: 'offline', last_seen_at: null });
    const got = await a.call('GET', `/api/v1/nodes/${res.body.node.uuid}`);
    expect(got.body.node.uuid).toBe(res.body.node.uuid);
    expect(JSON.stringify(got.body)).not.toContain(res.body.api_key);
    expect(JSON.stringify((await a.call('GET', '/api/v1/nodes')).body)).not.toContain(res.body.api_key);
  });

  it('lists with paging and a status filter, updates and deletes', async () => {
    const n2 = await a.call('POST', '/api/v1/nodes', { name: 'edge-02', ip: '2001:db8::10' });
    const n3 = await a.call('POST', '/api/v1/nodes', { name: 'edge-03', ip: '203.0.113.30' });
    const page = await a.call('GET', '/api/v1/nodes?limit=2&offset=0');
    expect(page.body.total).toBe(3);
    expect(page.body.nodes.map((n: any) => n.name)).toEqual(['edge-03', 'edge-02']);
    expect((await a.call('GET', '/api/v1/nodes?limit=2&offset=2')).body.nodes.map((n: any) => n.name)).toEqual(['edge-01']);

    // A heartbeat brings a node online; a reported attack shows.
    await agentCall(n2.body.api_key)('POST', '/api/v1/agent/heartbeat', { traffic_state: 'normal', pps: 120, bps: 96000, agent_version: '0.1.0' });
    await agentCall(n3.body.api_key)('POST', '/api/v1/agent/heartbeat', { traffic_state: 'elevated', pps: 9000, bps: 7e6 });
    expect((await a.call('GET', '/api/v1/nodes?status=online')).body.nodes.map((n: any) => n.name)).toEqual(['edge-02']);
    expect((await a.call('GET', '/api/v1/nodes?status=elevated')).body.nodes.map((n: any) => n.name)).toEqual(['edge-03']);
    expect((await a.call('GET', '/api/v1/nodes?status=offline')).body.nodes.map((n: any) => n.name)).toEqual(['edge-01']);
    const online = await a.call('GET', `/api/v1/nodes/${n2.body.node.uuid}`);
    expect(online.body.node).toMatchObject({ status: 'online', last_pps: 120, last_bps: 96000, agent_version: '0.1.0' });

    const patched = await a.call('PATCH', `/api/v1/nodes/${n3.body.node.uuid}`, { location: 'Paris', interface: 'ens3' });
    expect(patched.body.node).toMatchObject({ name: 'edge-03', location: 'Paris', interface: 'ens3', status: 'elevated' });
    expectError(await a.call('PATCH', `/api/v1/nodes/${n3.body.node.uuid}`, { name: 'edge-02' }), 409, 'conflict', 'name');

    expect((await a.call('DELETE', `/api/v1/nodes/${n3.body.node.uuid}`)).body).toEqual({ ok: true, deleted: n3.body.node.uuid });
    expectError(await a.call('GET', `/api/v1/nodes/${n3.body.node.uuid}`), 404, 'not_found');
    // Its key died with it.
    expectError(await agentCall(n3.body.api_key)('POST', '/api/v1/agent/heartbeat', {}), 401, 'unauthorized');
  });

  it('refuses bad input with the field named', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ip: '203.0.113.1' }, 'name'],
      [{ name: 'x' }, 'ip'],
      [{ name: 'x', ip: '203.0.113.300' }, 'ip'],
      [{ name: 'x', ip: '203.0.113.0/24' }, 'ip'],
      [{ name: '', ip: '203.0.113.1' }, 'name'],
      [{ name: 'x', ip: '203.0.113.1', interface: 'eth0; rm -rf /' }, 'interface'],
      [{ name: 'x', ip: '203.0.113.1', key: 'mine' }, 'key'],
    ];
    for (const [body, field] of cases) expectError(await a.call('POST', '/api/v1/nodes', body), 400, 'invalid_parameter', field);
    expectError(await a.call('POST', '/api/v1/nodes', { name: 'edge-01', ip: '203.0.113.1' }), 409, 'conflict', 'edge-01');
    expectError(await a.call('GET', '/api/v1/nodes/not-a-uuid'), 400, 'invalid_parameter');
    expectError(await a.call('GET', '/api/v1/nodes?status=burning'), 400, 'invalid_parameter', 'status');
    expectError(await a.call('GET', '/api/v1/nodes?limit=0'), 400, 'invalid_parameter', 'limit');
    const any = (await a.call('GET', '/api/v1/nodes')).body.nodes[0];
    expectError(await a.call('PATCH', `/api/v1/nodes/${any.uuid}`, {}), 400, 'invalid_parameter');
  });

  it('keeps workspaces apart', async () => {
    const mine = (await a.call('GET', '/api/v1/nodes')).body.nodes[0];
    expect((await b.call('GET', '/api/v1/nodes')).body).toEqual({ ok: true, nodes: [], total: 0 });
    expectError(await b.call('GET', `/api/v1/nodes/${mine.uuid}`), 404, 'not_found');
    expectError(await b.call('PATCH', `/api/v1/nodes/${mine.uuid}`, { location: 'x' }), 404, 'not_found');
    expectError(await b.call('DELETE', `/api/v1/nodes/${mine.uuid}`), 404, 'not_found');
  });
});

describe('agent protocol', () => {
  let key: string;
  let uuid: string;
  beforeAll(async () => {
    const res = await a.call('POST', '/api/v1/nodes', { name: 'agent-host', ip: '203.0.113.50' });
    key = res.body.api_key;
    uuid = res.body.node.uuid;
  });

  it('accepts only node keys on /agent and only deploy tokens elsewhere', async () => {
    expectError(await agentCall(a.token)('GET', '/api/v1/agent/config'), 401, 'unauthorized', 'node key');
    expectError(await agentCall(key)('GET', '/api/v1/nodes'), 401, 'unauthorized');
    expectError(await request(stack.baseUrl, 'GET', '/api/v1/agent/config'), 401, 'unauthorized');
  });

  it('serves the detection config: policy tiers with the per-host override applied, capture bounds, allowlist', async () => {
    await a.call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 50_000, tier2_pps: 500_000, tier2_bps: 4e9 }, baseline_mode: 'dynamic' });
    await a.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '203.0.113.50', thresholds: { tier1_pps: 5_000 } });
    await a.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.7', label: 'monitoring' });
    await a.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.8', scope: 'node', node: uuid });
    const res = await agentCall(key)('GET', '/api/v1/agent/config');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.config).toMatchObject({
      node: { uuid, ip: '203.0.113.50' },
      baseline_mode: 'dynamic',
      detection: { pps: 5_000, bps: null },
      tiers: [
        { level: 1, pps: 5_000, bps: null },
        { level: 2, pps: 500_000, bps: 4e9 },
      ],
    });
    expect(res.body.config.capture.max_packets).toBeGreaterThan(0);
    expect(res.body.config.allowlist.sort()).toEqual(['198.51.100.7', '198.51.100.8']);
  });

  it('stores metric batches and updates the node’s last figures', async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 120_000;
    const samples = Array.from({ length: 60 }, (_, i) => ({ at: new Date(t0 + i * 1000).toISOString(), pps: 1000 + i, bps: 8e5 + i, protocol_mix: { udp: 0.5, tcp: 0.5 } }));
    const res = await agentCall(key)('POST', '/api/v1/agent/metrics', { samples });
    expect(res.body).toEqual({ ok: true, stored: 60 });
    // A retried batch stores nothing twice.
    expect((await agentCall(key)('POST', '/api/v1/agent/metrics', { samples })).body).toEqual({ ok: true, stored: 0 });
    const node = (await a.call('GET', `/api/v1/nodes/${uuid}`)).body.node;
    expect(node).toMatchObject({ status: 'online', last_pps: 1059, last_bps: 800059, protocol_mix: { udp: 0.5, tcp: 0.5 } });
  });

  it('refuses bad agent input with the field named', async () => {
    const call = agentCall(key);
    const now = new Date().toISOString();
    expectError(await call('POST', '/api/v1/agent/metrics', { samples: [] }), 400, 'invalid_parameter', 'samples');
    expectError(await call('POST', '/api/v1/agent/metrics', { samples: [{ at: 'yesterday', pps: 1, bps: 1 }] }), 400, 'invalid_parameter', 'at');
    expectError(await call('POST', '/api/v1/agent/metrics', { samples: [{ at: now, pps: -1, bps: 1 }] }), 400, 'invalid_parameter', 'pps');
    const many = Array.from({ length: 601 }, () => ({ at: now, pps: 1, bps: 1 }));
    expectError(await call('POST', '/api/v1/agent/metrics', { samples: many }), 400, 'invalid_parameter', '600');
    expectError(await call('POST', '/api/v1/agent/heartbeat', { traffic_state: 'panic' }), 400, 'invalid_parameter', 'traffic_state');
    expectError(await call('POST', '/api/v1/agent/heartbeat', { protocol_mix: { udp: 2 } }), 400, 'invalid_parameter', 'protocol_mix');
    expectError(await call('POST', '/api/v1/agent/incidents', { ref: 'a b', started_at: now, pps: 1, bps: 1 }), 400, 'invalid_parameter', 'ref');
    expectError(await call('POST', '/api/v1/agent/incidents', { ref: 'x', started_at: now, pps: 1, bps: 1, classification: { family: 'alien' } }), 400, 'invalid_parameter', 'family');
    expectError(await call('POST', '/api/v1/agent/incidents/nope/update', { pps: 1, bps: 1 }), 404, 'not_found');
    expectError(await call('POST', '/api/v1/agent/incidents', { ref: 'x', started_at: now, pps: 1, bps: 1, classification: { family: 'udp_flood', verdict: 'maybe' } }), 400, 'invalid_parameter', 'verdict');
    expectError(await call('POST', '/api/v1/agent/incidents', { ref: 'x', started_at: now, pps: 1, bps: 1, classification: { family: 'udp_flood', signature: { match: { packet_lengths: [{ from: 90, to: 40 }] }, coverage: 1, collateral: 0, why: '' } } }), 400, 'invalid_parameter', 'from <= to');
  });

  it('reads the family names of agents older than the reference’s vocabulary as today’s', async () => {
    const made = await a.call('POST', '/api/v1/nodes', { name: 'legacy-agent', ip: '203.0.113.61' });
    const call = agentCall(made.body.api_key);
    const now = new Date().toISOString();
    const opened = await call('POST', '/api/v1/agent/incidents', { ref: 'old-1', started_at: now, pps: 1, bps: 1, classification: { family: 'amplification', subtype: 'ntp', packets: 10 } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    expect(opened.body.incident).toMatchObject({ family: 'udp_flood', subtype: 'ntp_amplification', verdict: 'attack', evidence: 'capture' });
    const updated = await call('POST', '/api/v1/agent/incidents/old-1/update', { pps: 1, bps: 1, classification: { family: 'ack_flood' } });
    expect(updated.body.incident).toMatchObject({ family: 'tcp_flood', subtype: 'ack', evidence: 'counters' });
  });

  it('refuses agent writes for a workspace without an active subscription', async () => {
    const inactive = await stack.tenant();
    const node = await inactive.call('POST', '/api/v1/nodes', { name: 'n', ip: '203.0.113.60' });
    await setSubscription(stack.db.db, inactive.name, 'inactive');
    const call = agentCall(node.body.api_key);
    expect((await call('GET', '/api/v1/agent/config')).status).toBe(200);
    expectError(await call('POST', '/api/v1/agent/heartbeat', {}), 402, 'subscription_required');
  });

  it('limits each node key on its own, with Retry-After', async () => {
    const limited = await startStack(inject('env'), { agentRateLimit: 3 });
    try {
      const t = await limited.tenant();
      const keys = await Promise.all(['n1', 'n2'].map(async (name) => (await t.call('POST', '/api/v1/nodes', { name, ip: '203.0.113.61' })).body.api_key as string));
      const call = (k: string) => request(limited.baseUrl, 'POST', '/api/v1/agent/heartbeat', {}, { authorization: `Bearer ${k}` });
      for (let i = 0; i < 3; i++) expect((await call(keys[0]!)).status).toBe(200);
      const over = await call(keys[0]!);
      expectError(over, 429, 'rate_limited', 'node key');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(over.headers.get('x-ratelimit-limit')).toBe('3');
      // Another node's budget is its own.
      expect((await call(keys[1]!)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('refuses a flooding key before any database work, and bounds its requests in flight', async () => {
    const limited = await startStack(inject('env'), { agentRateLimit: 10, agentMaxConcurrent: 2 });
    try {
      const t = await limited.tenant();
      const node = (await t.call('POST', '/api/v1/nodes', { name: 'flood', ip: '203.0.113.62' })).body;
      const call = (method: string, path: string) => request(limited.baseUrl, method, path, method === 'POST' ? {} : undefined, { authorization: `Bearer ${node.api_key}` });
      // Two long polls hold the key's two places; a third request is refused at once.
      const polls = [call('GET', '/api/v1/agent/commands?wait=6'), call('GET', '/api/v1/agent/commands?wait=6')];
      // (Once both polls have arrived: on a busy machine that can take a moment.)
      await expect.poll(async () => (await call('POST', '/api/v1/agent/heartbeat')).body.error?.message ?? 'admitted', { timeout: 5000, interval: 200 }).toContain('at once');
      for (const p of polls) expect((await p).status).toBe(200);

      const answers = [];
      for (let i = 0; i < 30; i++) answers.push((await call('POST', '/api/v1/agent/heartbeat')).status);
      expect(answers.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
      // The shared counter saw only what was let through: the rest cost no database work.
      const [row] = await limited.db.db.select({ id: nodes.id }).from(nodes).where(eq(nodes.uuid, node.node.uuid));
      const counted = await limited.db.db.execute(sql`select coalesce(sum(count), 0)::int as n from node_rate_limit_windows where node_id = ${row!.id}`);
      const n = Number((Array.isArray(counted) ? counted[0] : (counted as { rows: Array<{ n: number }> }).rows[0])!.n);
      expect(n).toBeLessThanOrEqual(10);
    } finally {
      await limited.stop();
    }
  });
});
