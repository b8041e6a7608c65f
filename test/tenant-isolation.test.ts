// Tenant isolation over every list and every count: two workspaces with data of every
// kind (B's larger than A's), and each of A's lists, totals and counters must hold exactly
// A's own rows. Per-resource 404s for foreign ids are tested beside each resource.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ipv4, pcapFile, udp } from './support/packets.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let hooks: WebhookReceiver;

interface Tenant {
  call: Caller;
  adapters: number[];
  liveRules: number[];
  endedRules: number[];
  allowlist: number[];
  nodeEntries: Map<string, number>;
  thresholds: number[];
  nodes: Array<{ uuid: string; key: string }>;
  incidents: number[];
  pcaps: number[];
  scrubbing: number[];
}

let a: Tenant;
let b: Tenant;
let octet = 10;

async function ok<T = any>(res: Promise<{ status: number; body: T }>): Promise<T> {
  const r = await res;
  expect([200, 202], JSON.stringify(r.body)).toContain(r.status);
  return r.body;
}

/** A workspace with `n` of most things (adapters, rules, entries, nodes with an incident and a capture each). */
async function populate(n: number): Promise<Tenant> {
  const { call } = await stack.tenant();
  const t: Tenant = { call, adapters: [], liveRules: [], endedRules: [], allowlist: [], nodeEntries: new Map(), thresholds: [], nodes: [], incidents: [], pcaps: [], scrubbing: [] };
  for (let i = 0; i < n; i++) {
    const adapter = (await ok(call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: `hook ${i}`, endpoint: hooks.url }))).adapter;
    t.adapters.push(adapter.id);
  }
  for (let i = 0; i < n; i++) {
    const live = await ok(call('POST', '/api/v1/mitigation/rules', { target_ip: `203.0.113.${octet++}`, intent_type: 'blackhole', adapter_id: t.adapters[0] }));
    t.liveRules.push(live.rule.id);
    const ended = await ok(call('POST', '/api/v1/mitigation/rules', { target_ip: `203.0.113.${octet++}`, intent_type: 'blackhole', adapter_id: t.adapters[0] }));
    await ok(call('POST', `/api/v1/mitigation/rules/${ended.rule.id}/withdraw`));
    t.endedRules.push(ended.rule.id);
    t.allowlist.push((await ok(call('POST', '/api/v1/allowlist', { ip_address: `198.51.100.${octet++}` }))).entry.id);
    t.thresholds.push((await ok(call('POST', '/api/v1/mitigation/thresholds', { target_ip: `203.0.113.${octet++}`, thresholds: { tier1_pps: 1000 + i } }))).threshold.id);
    const scrubbing = { type: 'vultr', name: `scrub ${i}`, config: { prefixes: [`203.0.113.${octet++}/32`], instance_id: 'cb676a46-66fd-4dfb-b839-443f2e6c0b60' }, credentials: { api_key: 'TENANTKEY000' }, base_url: 'http://127.0.0.1:9/v2' };
    t.scrubbing.push((await ok(call('POST', '/api/v1/scrubbing', scrubbing))).integration.id);
  }
  // Dry run: the incidents escalate on paper, so the rule counts above stay what they are.
  await ok(call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 1000 }, adapter_id: t.adapters[0], dry_run: true }));
  for (let i = 0; i < n; i++) {
    const ip = `203.0.113.${octet++}`;
    const node = await ok(call('POST', '/api/v1/nodes', { name: `node-${i}`, ip }));
    const uuid = node.node.uuid as string;
    t.nodes.push({ uuid, key: node.api_key });
    const entry = await ok(call('POST', '/api/v1/allowlist', { ip_address: `198.51.100.${octet++}`, scope: 'node', node: uuid }));
    t.nodeEntries.set(uuid, entry.entry.id);
    const agent = (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, path, body, { authorization: `Bearer ${node.api_key}` });
    const incident = await ok(agent('POST', '/api/v1/agent/incidents', { ref: `r-${i}`, started_at: new Date().toISOString(), pps: 50_000, bps: 5e8 }));
    t.incidents.push(incident.incident.id);
    const file = pcapFile([ipv4({ src: '198.51.100.200', dst: ip, protocol: 17 }, udp(53, 4000 + i, Buffer.alloc(64)))]);
    const sha256 = createHash('sha256').update(file).digest('hex');
    const upload = await ok(agent('POST', `/api/v1/agent/incidents/r-${i}/pcaps`, { size_bytes: file.length, sha256, captured_at: new Date().toISOString() }));
    const put = await fetch(`${stack.baseUrl}/api/v1/agent/pcaps/${upload.pcap.id}/data?offset=0`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${node.api_key}`, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(file),
    });
    expect(put.status).toBe(200);
    t.pcaps.push(upload.pcap.id);
  }
  return t;
}

const ids = (rows: Array<{ id: number }>) => rows.map((r) => r.id).sort((x, y) => x - y);
const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);

beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  a = await populate(1);
  b = await populate(2);
  // A live rule of B's whose id equals its adapter's id: a count that compares a rule's
  // adapter_id with the rule's own id (instead of the adapter's) counts it for every adapter.
  // Both sequences move forward to the same next value, so no id is ever reused.
  const next = async (seq: string) => {
    const rows = (await stack.db.db.execute(sql.raw(`select last_value + 1 as n from ${seq}`))) as unknown as Array<{ n: string }>;
    return Number(rows[0]!.n);
  };
  const target = Math.max(await next('mitigation_rules_id_seq'), await next('mitigation_adapters_id_seq'));
  await stack.db.db.execute(sql`select setval('mitigation_rules_id_seq', ${target - 1}), setval('mitigation_adapters_id_seq', ${target - 1})`);
  const adapterId = (await ok(b.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'same id', endpoint: hooks.url }))).adapter.id;
  b.adapters.push(adapterId);
  const same = await ok(b.call('POST', '/api/v1/mitigation/rules', { target_ip: `203.0.113.${octet++}`, intent_type: 'blackhole', adapter_id: adapterId }));
  expect([same.rule.id, adapterId]).toEqual([target, target]);
  b.liveRules.push(same.rule.id);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

describe('tenant isolation of every list and count', () => {
  it('rules and rule history', async () => {
    for (const t of [a, b]) {
      expect(ids((await ok(t.call('GET', '/api/v1/mitigation/rules'))).rules)).toEqual(sorted(t.liveRules));
      expect(ids((await ok(t.call('GET', '/api/v1/mitigation/rules/history'))).rules)).toEqual(sorted(t.endedRules));
    }
  });

  it('adapters and the live rules each one holds', async () => {
    for (const t of [a, b]) {
      const { adapters } = await ok(t.call('GET', '/api/v1/mitigation/adapters'));
      expect(ids(adapters)).toEqual(sorted(t.adapters));
      const rules = (await ok(t.call('GET', '/api/v1/mitigation/rules'))).rules as Array<{ adapter_id: number }>;
      for (const adapter of adapters) expect(adapter.active_rules, `adapter ${adapter.id}`).toBe(rules.filter((r) => r.adapter_id === adapter.id).length);
    }
  });

  it('scrubbing integrations', async () => {
    for (const t of [a, b]) expect(ids((await ok(t.call('GET', '/api/v1/scrubbing'))).integrations)).toEqual(sorted(t.scrubbing));
  });

  it('the allowlist, whole and for one node, and what an agent is told of it', async () => {
    for (const [t, other] of [[a, b], [b, a]] as const) {
      const all = (await ok(t.call('GET', '/api/v1/allowlist'))).entries;
      expect(ids(all)).toEqual(sorted([...t.allowlist, ...t.nodeEntries.values()]));
      const node = t.nodes[0]!;
      expect(ids((await ok(t.call('GET', `/api/v1/allowlist?node=${node.uuid}`))).entries)).toEqual(sorted([...t.allowlist, t.nodeEntries.get(node.uuid)!]));
      // Another workspace's node names none of this workspace's node entries, and none of its own.
      expect(ids((await ok(t.call('GET', `/api/v1/allowlist?node=${other.nodes[0]!.uuid}`))).entries)).toEqual(sorted(t.allowlist));
      const config = await ok(request(stack.baseUrl, 'GET', '/api/v1/agent/config', undefined, { authorization: `Bearer ${node.key}` }));
      expect(config.config.allowlist).toHaveLength(t.allowlist.length + 1);
      const mine = new Set(all.map((e: { ip_address: string }) => e.ip_address));
      for (const ip of config.config.allowlist) expect(mine.has(ip), ip).toBe(true);
    }
  });

  it('thresholds and the escalation policy', async () => {
    for (const t of [a, b]) {
      expect(ids((await ok(t.call('GET', '/api/v1/mitigation/thresholds'))).thresholds)).toEqual(sorted(t.thresholds));
      expect((await ok(t.call('GET', '/api/v1/mitigation/escalation'))).policy.adapter_id).toBe(t.adapters[0]);
    }
  });

  it('nodes, their totals and their status filter', async () => {
    for (const t of [a, b]) {
      const list = await ok(t.call('GET', '/api/v1/nodes'));
      expect(list.nodes.map((n: { uuid: string }) => n.uuid).sort()).toEqual(t.nodes.map((n) => n.uuid).sort());
      expect(list.total).toBe(t.nodes.length);
      const attacked = await ok(t.call('GET', '/api/v1/nodes?status=attack'));
      expect(attacked.total).toBe(t.nodes.length);
      expect(attacked.nodes).toHaveLength(t.nodes.length);
    }
  });

  it('incidents, their totals, filters and each one’s rules and timeline', async () => {
    for (const [t, other] of [[a, b], [b, a]] as const) {
      const list = await ok(t.call('GET', '/api/v1/incidents'));
      expect(ids(list.incidents)).toEqual(sorted(t.incidents));
      expect(list.total).toBe(t.incidents.length);
      const open = await ok(t.call('GET', '/api/v1/incidents?status=open'));
      expect(open.total).toBe(t.incidents.length);
      const foreignNode = await ok(t.call('GET', `/api/v1/incidents?node=${other.nodes[0]!.uuid}`));
      expect(foreignNode).toMatchObject({ incidents: [], total: 0 });
      for (const id of t.incidents) {
        const detail = await ok(t.call('GET', `/api/v1/incidents/${id}`));
        expect(detail.rules).toEqual([]);
        expect(detail.timeline.length).toBeGreaterThan(0);
      }
    }
  });

  it('captures and their totals, whole and per incident', async () => {
    for (const [t, other] of [[a, b], [b, a]] as const) {
      const list = await ok(t.call('GET', '/api/v1/pcaps'));
      expect(ids(list.pcaps)).toEqual(sorted(t.pcaps));
      expect(list.total).toBe(t.pcaps.length);
      const foreign = await ok(t.call('GET', `/api/v1/pcaps?incident_id=${other.incidents[0]}`));
      expect(foreign).toMatchObject({ pcaps: [], total: 0 });
    }
  });
});
