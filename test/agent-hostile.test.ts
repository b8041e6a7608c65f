// The agent protocol against a hostile or broken agent: a node key is a credential on a host
// exposed to the internet. Each case here was accepted before (issue: harden the agent
// protocol), and each is refused now without a 5xx and without side effects.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { desc, eq } from 'drizzle-orm';
import { appendChunk, createPcap } from '../db/pcaps.js';
import { agentCommands, incidents, nodes } from '../db/schema.js';
import { ipv4, pcapFile, udp } from './support/packets.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let hooks: WebhookReceiver;
let user: { call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  user = await stack.tenant();
  // Tier 1 at 1,000 pps: a FlowSpec discard through the webhook, as in the report.
  const hook = await user.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'h', endpoint: hooks.url, auth_token: 's' });
  await user.call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 1000 }, adapter_id: hook.body.adapter.id, hold_down_seconds: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

async function node(name: string, ip: string, prefixes?: string[]) {
  const res = await user.call('POST', '/api/v1/nodes', { name, ip, ...(prefixes ? { prefixes } : {}) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const key = res.body.api_key as string;
  return {
    uuid: res.body.node.uuid as string,
    key: `Bearer ${key}`,
    agent: (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${key}` }),
  };
}

const open = (ref: string, extra: Record<string, unknown> = {}) => ({ ref, started_at: new Date().toISOString(), pps: 50_000, bps: 4e8, ...extra });

describe('what a node may report attacks on', () => {
  it('refuses a target that is not the node’s, records it on the node, and announces nothing', async () => {
    const a = await node('victim-a', '203.0.113.10');
    await node('victim-b', '203.0.113.20');
    for (const target of ['1.1.1.1', '203.0.113.20', '203.0.113.11']) {
      expectError(await a.agent('POST', '/incidents', open(`r-${target}`, { target_ip: target })), 403, 'forbidden', target);
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(hooks.received).toEqual([]);
    expect((await user.call('GET', '/api/v1/incidents')).body.incidents).toEqual([]);
    const shown = await user.call('GET', `/api/v1/nodes/${a.uuid}`);
    expect(shown.body.security_events.map((e: { kind: string }) => e.kind)).toEqual(['target_refused', 'target_refused', 'target_refused']);
    expect(shown.body.security_events[2].message).toContain('1.1.1.1');
  });

  it('takes the node’s own address and addresses within the prefixes assigned to it', async () => {
    const n = await node('edge-p', '203.0.113.30', ['198.51.100.0/28']);
    const own = await n.agent('POST', '/incidents', open('own'));
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.incident.target_ip).toBe('203.0.113.30');
    expect((await n.agent('POST', '/incidents', open('in-prefix', { target_ip: '198.51.100.9' }))).status).toBe(200);
    expectError(await n.agent('POST', '/incidents', open('outside', { target_ip: '198.51.100.16' })), 403, 'forbidden');
    // Assigned later, through the nodes API.
    const patched = await user.call('PATCH', `/api/v1/nodes/${n.uuid}`, { prefixes: ['198.51.100.0/28', '198.51.100.16/28'] });
    expect(patched.body.node.prefixes).toEqual(['198.51.100.0/28', '198.51.100.16/28']);
    expect((await n.agent('POST', '/incidents', open('outside-now-in', { target_ip: '198.51.100.16' }))).status).toBe(200);
    for (const ref of ['own', 'in-prefix', 'outside-now-in']) await n.agent('POST', `/incidents/${ref}/resolve`, {});
  });

  it.each([
    ['0.0.0.0/0', ['0.0.0.0/0'], 'broader'],
    ['an IPv4 /7', ['10.0.0.0/7'], 'broader'],
    ['an IPv6 /15', ['2000::/15'], 'broader'],
    ['host bits', ['203.0.113.5/24'], 'host bits'],
    ['not a prefix', ['nope'], 'prefixes'],
    ['65 prefixes', Array.from({ length: 65 }, (_, i) => `198.51.${i}.0/24`), 'at most 64'],
  ])('refuses assigning %s', async (_label, prefixes, mention) => {
    expectError(await user.call('POST', '/api/v1/nodes', { name: `bad-${Math.random()}`, ip: '203.0.113.40', prefixes }), 400, 'invalid_parameter', mention);
  });
});

describe('an incident’s life by its ref', () => {
  const incidentOf = async (id: number) => (await user.call('GET', `/api/v1/incidents/${id}`)).body;
  const events = (body: { timeline: Array<{ kind: string }> }, kind: string) => body.timeline.filter((e) => e.kind === kind).length;

  it('a resolved ref stays resolved: opening it again is refused and announces nothing', async () => {
    const n = await node('reopen', '203.0.113.50');
    const opened = await n.agent('POST', '/incidents', open('r1'));
    const id = opened.body.incident.id as number;
    await expect.poll(async () => (await incidentOf(id)).incident.tier, { timeout: 10_000 }).toBe(1);
    await n.agent('POST', '/incidents/r1/resolve', {});
    const handle = stack.temporal.workflow.getHandle(`incident:${id}`);
    await handle.result();
    const announced = hooks.received.filter((h) => h.body.event === 'announce').length;

    expectError(await n.agent('POST', '/incidents', open('r1')), 409, 'conflict', 'new ref');
    // A second resolve is fine, and reaches nothing that runs.
    expect((await n.agent('POST', '/incidents/r1/resolve', {})).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooks.received.filter((h) => h.body.event === 'announce').length).toBe(announced);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect((await incidentOf(id)).incident).toMatchObject({ status: 'resolved', tier: 0 });
  });

  it('a repeated open answers the incident as it stands and feeds the workflow nothing new', async () => {
    const n = await node('dup', '203.0.113.51');
    const first = await n.agent('POST', '/incidents', open('d1', { pps: 500, bps: 4000 }));
    const again = await n.agent('POST', '/incidents', open('d1', { pps: 900_000, bps: 7e9 }));
    expect(again.body.incident).toMatchObject({ id: first.body.incident.id, current_pps: 500, current_bps: 4000 });
    await new Promise((r) => setTimeout(r, 1500));
    const body = await incidentOf(first.body.incident.id);
    expect(body.incident.tier).toBe(0);
    expect(JSON.stringify(body.timeline)).not.toContain('900000');
    await n.agent('POST', '/incidents/d1/resolve', {});
  });

  it('keeps every timeline entry when an incident’s workflow is started again', async () => {
    const n = await node('restart', '203.0.113.52');
    // A captured attack verdict: only that drives a tier's dropping rule.
    const classification = { family: 'udp_flood', verdict: 'attack', evidence: 'capture', packets: 500, signature: { match: { protocols: [17] }, coverage: 1, collateral: 0, why: 'all UDP' } };
    const opened = await n.agent('POST', '/incidents', open('w1', { classification }));
    const id = opened.body.incident.id as number;
    await expect.poll(async () => events(await incidentOf(id), 'tier_changed'), { timeout: 10_000 }).toBe(1);
    // Gone (terminated by an operator, say): the next report starts it again from the row.
    await stack.temporal.workflow.getHandle(`incident:${id}`).terminate('test');
    await n.agent('POST', '/incidents/w1/update', { pps: 60_000, bps: 5e8 });
    await expect.poll(async () => events(await incidentOf(id), 'tier_changed'), { timeout: 10_000 }).toBe(2);
    // The new run adopted the rule the first one announced, so it withdraws it at the end.
    const body = await incidentOf(id);
    expect(body.rules.map((r: { id: number }) => r.id)).toHaveLength(1);
    await n.agent('POST', '/incidents/w1/resolve', {});
    await expect.poll(async () => (await incidentOf(id)).rules[0].status, { timeout: 10_000 }).toBe('withdrawn');
    // Kept as a replay fixture: the workflow adopting a rule an earlier run started.
    const run = stack.temporal.workflow.getHandle(`incident:${id}`);
    await run.result();
    const history = await run.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('env').workflowBundlePath } }, history, run.workflowId);
    if (process.env.RECORD_HISTORIES) {
      writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'histories', 'incident-adopted-rule.history.pb'), temporal.api.history.v1.History.encode(history).finish());
    }
  });
});

describe('what an agent may send', () => {
  const baseline = { mode: 'dynamic', hour: 3, samples: 600, ready: true, pps: { p50: 100, p95: 180, p99: 200 }, bps: { p50: 8e5, p95: 1.4e6, p99: 1.6e6 }, threshold: { pps: 600, bps: 4.8e6 } };

  it.each([
    ['a lone surrogate in agent_version', '/heartbeat', { agent_version: 'a\ud800b' }, 'agent_version'],
    ['a lone surrogate in a field name', '/heartbeat', { ['x\udc00']: 1 }, 'field name'],
    ['a lone surrogate in a subtype', '/incidents', open('s1', { classification: { family: 'udp_flood', subtype: '\ud83d' } }), 'classification.subtype'],
    ['a lone surrogate in a size histogram key', '/incidents', open('s2', { classification: { family: 'udp_flood', size_histogram: { ['\ud800']: 1 } } }), 'classification.size_histogram'],
    ['a protocol mix adding up to 3.6', '/heartbeat', { protocol_mix: { tcp: 0.9, udp: 0.9, icmp: 0.9, other: 0.9 } }, 'add up to at most 1'],
    ['a free-form baseline', '/heartbeat', { baseline: { junk: 'x'.repeat(60_000) } }, 'baseline'],
    ['a metric from year 1', '/metrics', { samples: [{ at: '0001-01-01T00:00:00Z', pps: 1, bps: 1 }] }, 'samples.0.at'],
    ['a metric from 9999', '/metrics', { samples: [{ at: '9999-12-31T00:00:00Z', pps: 1, bps: 1 }] }, 'samples.0.at'],
    ['an attack that started in year 1', '/incidents', open('s3', { started_at: '0001-01-01T00:00:00Z' }), 'started_at'],
    ['a capture from 2099', '/incidents/none/pcaps', { size_bytes: 100, sha256: 'a'.repeat(64), captured_at: '2099-01-01T00:00:00Z' }, 'captured_at'],
    ['pps 1.5', '/heartbeat', { pps: 1.5 }, 'pps must be a whole number'],
    ['pps "5"', '/heartbeat', { pps: '5' }, 'pps must be a number, not a string'],
    ['pps null', '/heartbeat', { pps: null }, 'pps must be a number, not null'],
    ['bps "5" in an open', '/incidents', open('s4', { bps: '5' }), 'bps must be a number, not a string'],
  ])('refuses %s (400, naming it)', async (_label, path, body, mention) => {
    const n = await node(`send-${Math.random()}`, '203.0.113.60');
    expectError(await n.agent('POST', path, body), 400, 'invalid_parameter', mention);
  });

  it('takes the baseline the agent reports, and shows it on the node', async () => {
    const n = await node('with-baseline', '203.0.113.61');
    expect((await n.agent('POST', '/heartbeat', { baseline })).status).toBe(200);
    expect((await user.call('GET', `/api/v1/nodes/${n.uuid}`)).body.node.baseline).toEqual(baseline);
  });

  it('refuses an end before the start, and a year-1 end that would read back as 2001', async () => {
    const n = await node('ends', '203.0.113.62');
    const startedAt = new Date(Date.now() - 60_000).toISOString();
    await n.agent('POST', '/incidents', open('e1', { started_at: startedAt, pps: 10, bps: 10 }));
    expectError(await n.agent('POST', '/incidents/e1/resolve', { ended_at: new Date(Date.now() - 120_000).toISOString() }), 400, 'invalid_parameter', "started_at");
    expectError(await n.agent('POST', '/incidents/e1/resolve', { ended_at: '0001-01-01T00:00:00Z' }), 400, 'invalid_parameter', 'ended_at');
    const resolved = await n.agent('POST', '/incidents/e1/resolve', { ended_at: new Date().toISOString() });
    expect(resolved.status).toBe(200);
  });

  it('answers a node key on an agent path that does not exist with 404, and a wrong method with 405', async () => {
    const n = await node('paths', '203.0.113.63');
    expectError(await n.agent('GET', '/nonexistent'), 404, 'not_found');
    expectError(await n.agent('POST', '/incidents/x/nothing', {}), 404, 'not_found');
    const wrong = await n.agent('GET', '/heartbeat');
    expectError(wrong, 405, 'method_not_allowed');
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});

describe('captures that are not captures', () => {
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const put = (n: Awaited<ReturnType<typeof node>>, id: number, data: Buffer) =>
    fetch(`${stack.baseUrl}/api/v1/agent/pcaps/${id}/data?offset=0`, { method: 'PUT', headers: { authorization: n.key, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) }).then(
      async (r) => ({ status: r.status, body: await r.json(), headers: r.headers }),
    );

  it.each([
    ['text', Buffer.from('this is not a capture, only some text that goes on for a while')],
    ['pcapng', Buffer.concat([Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]), Buffer.alloc(60)])],
    ['a pcap of an unknown link type', pcapFile([]).fill(0xff, 20, 24)],
  ])('refuses %s at the first chunk (422), storing nothing', async (_label, bytes) => {
    const n = await node(`cap-${Math.random()}`, '203.0.113.70');
    const incident = (await n.agent('POST', '/incidents', open('c1'))).body.incident;
    const started = await n.agent('POST', '/incidents/c1/pcaps', { size_bytes: bytes.length, sha256: sha(bytes), captured_at: new Date().toISOString() });
    const res = await put(n, started.body.pcap.id, bytes);
    expectError(res, 422, 'unprocessable', 'pcap');
    const listed = (await user.call('GET', `/api/v1/pcaps?incident_id=${incident.id}`)).body.pcaps;
    expect(listed).toMatchObject([{ id: started.body.pcap.id, status: 'uploading', received_bytes: 0 }]);
  });

  it('answers 422 with the reason for a stored file that cannot be read', async () => {
    // As uploads made before the header check left them.
    const n = await node('legacy', '203.0.113.71');
    const incident = (await n.agent('POST', '/incidents', open('l1'))).body.incident;
    const junk = Buffer.from('junk junk junk junk junk junk junk');
    const [ws] = await stack.db.db.select().from(incidents).where(eq(incidents.id, incident.id));
    const created = await createPcap(stack.db.db, { workspaceId: ws!.workspaceId, nodeId: ws!.nodeId!, incidentId: incident.id, sha256: sha(junk), sizeBytes: junk.length, capturedAt: new Date() });
    if (!created.ok) throw new Error(created.reason);
    const row = created.row;
    expect((await appendChunk(stack.db.db, row.id, 0, junk)).ok).toBe(true);
    expectError(await user.call('GET', `/api/v1/pcaps/${row.id}/packets`), 422, 'unprocessable', 'magic number');
    expectError(await user.call('GET', `/api/v1/pcaps/${row.id}/analysis`), 422, 'unprocessable', 'magic number');
  });
});

describe('command results', () => {
  const ruleset = { name: 'block_dns', rules: [{ action: 'drop', protocol: 'udp', sourcePorts: [{ from: 53, to: 53 }] }] };
  const issue = (uuid: string) => user.call('POST', `/api/v1/nodes/${uuid}/commands`, { type: 'apply_ruleset', suite: 'nftables', ruleset });
  /** The newest command row of a node, as a hostile agent would guess its id. */
  async function newestCommand(uuid: string): Promise<number> {
    for (let i = 0; i < 50; i++) {
      const [row] = await stack.db.db
        .select({ id: agentCommands.id })
        .from(agentCommands)
        .innerJoin(nodes, eq(nodes.id, agentCommands.nodeId))
        .where(eq(nodes.uuid, uuid))
        .orderBy(desc(agentCommands.id))
        .limit(1);
      if (row) return row.id;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no command row');
  }

  it('refuses a result for a command never delivered to the node, and the user is not told anything', async () => {
    const n = await node('undelivered', '203.0.113.80');
    const issued = issue(n.uuid);
    const id = await newestCommand(n.uuid);
    expectError(await n.agent('POST', `/commands/${id}/result`, { ok: true, detail: { forged: true } }), 409, 'conflict', 'never delivered');
    // Another node's key cannot answer it either.
    const other = await node('bystander', '203.0.113.81');
    expectError(await other.agent('POST', `/commands/${id}/result`, { ok: true }), 404, 'not_found');
    // Delivered and answered for real, the user hears the real answer.
    const polled = (await n.agent('GET', '/commands?wait=10')).body.commands;
    expect(polled.map((c: { id: number }) => c.id)).toEqual([id]);
    expect((await n.agent('POST', `/commands/${id}/result`, { ok: false, error: 'nft: permission denied' })).status).toBe(200);
    expect((await issued).body.command).toMatchObject({ status: 'failed', error: 'nft: permission denied' });
  });

  it('takes one of two results posted at once, and the record says what the user was told', async () => {
    const n = await node('racing', '203.0.113.82');
    const issued = issue(n.uuid);
    const [cmd] = (await n.agent('GET', '/commands?wait=10')).body.commands;
    const answers = await Promise.all([
      n.agent('POST', `/commands/${cmd.id}/result`, { ok: true, detail: { rules: 1 } }),
      n.agent('POST', `/commands/${cmd.id}/result`, { ok: false, error: 'second opinion' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const told = (await issued).body.command;
    const [row] = await stack.db.db.select().from(agentCommands).where(eq(agentCommands.id, cmd.id));
    expect(told.status).toBe(row!.status);
    expect(row!.result).toEqual(told.status === 'succeeded' ? { ok: true, detail: told.result } : { ok: false, error: told.error });
    expect(answers.find((a) => a.status === 200)!.body.status).toBe(told.status);
  });

  it('refuses results nested 10,000 deep or with a detail over 16 KiB (400, never a 500)', async () => {
    const n = await node('deep', '203.0.113.83');
    const deep = `{"ok":true,"detail":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const res = await fetch(`${stack.baseUrl}/api/v1/agent/commands/1/result`, { method: 'POST', headers: { authorization: n.key, 'content-type': 'application/json' }, body: deep });
    expectError({ status: res.status, body: await res.json() }, 400, 'invalid_parameter', 'levels deep');
    const lists = `{"ok":true,"detail":{"x":${'['.repeat(30_000)}${']'.repeat(30_000)}}}`;
    const res2 = await fetch(`${stack.baseUrl}/api/v1/agent/commands/1/result`, { method: 'POST', headers: { authorization: n.key, 'content-type': 'application/json' }, body: lists });
    expect(res2.status).toBeLessThan(500);
    expectError(await n.agent('POST', '/commands/1/result', { ok: true, detail: { blob: 'x'.repeat(17_000) } }), 400, 'invalid_parameter', 'detail');
  });
});

describe('capture quotas', () => {
  let tight: Stack;
  let owner: { call: Caller };
  beforeAll(async () => {
    tight = await startStack(inject('env'), { pcapQuota: { nodeBytes: 2000, workspaceBytes: 3000, nodeUploading: 2, nodePerHour: 3 } });
    owner = await tight.tenant();
  });
  afterAll(async () => {
    await tight?.stop();
  });

  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  async function tightNode(name: string, tenant = owner) {
    const res = await tenant.call('POST', '/api/v1/nodes', { name, ip: '203.0.113.90' });
    const key = `Bearer ${res.body.api_key}`;
    const agent = (method: string, path: string, body?: unknown) => request(tight.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: key });
    await agent('POST', '/incidents', open('q'));
    return {
      start: (size: number, seed: string) => agent('POST', '/incidents/q/pcaps', { size_bytes: size, sha256: sha(Buffer.from(seed)), captured_at: new Date().toISOString() }),
      async upload(file: Buffer) {
        const started = await agent('POST', '/incidents/q/pcaps', { size_bytes: file.length, sha256: sha(file), captured_at: new Date().toISOString() });
        if (started.status !== 200) return started;
        const r = await fetch(`${tight.baseUrl}/api/v1/agent/pcaps/${started.body.pcap.id}/data?offset=0`, { method: 'PUT', headers: { authorization: key, 'content-type': 'application/octet-stream' }, body: new Uint8Array(file) });
        return { status: r.status, body: await r.json() };
      },
    };
  }

  it('bounds uploads in progress per node, and lets one resume', async () => {
    const n = await tightNode('q-progress');
    expect((await n.start(100, 'a')).status).toBe(200);
    expect((await n.start(100, 'b')).status).toBe(200);
    expectError(await n.start(100, 'c'), 403, 'quota_exceeded', 'in progress');
    expect((await n.start(100, 'a')).status).toBe(200);
  });

  it('bounds what a node and a workspace keep, in declared bytes', async () => {
    const a = await tightNode('q-bytes-a');
    expect((await a.start(1500, 'a1')).status).toBe(200);
    expectError(await a.start(600, 'a2'), 403, 'quota_exceeded', 'this node keeps');
    const b = await tightNode('q-bytes-b');
    // The workspace already keeps 1,500 (here) plus 200 (the test before).
    expect((await b.start(1000, 'b1')).status).toBe(200);
    expectError(await b.start(400, 'b2'), 403, 'quota_exceeded', 'the workspace keeps');
  });

  it('bounds captures started per node and hour', async () => {
    // A workspace of its own, so the byte quotas above are far away.
    const n = await tightNode('q-hourly', await tight.tenant());
    const file = (i: number) => pcapFile([ipv4({ src: '198.51.100.1', dst: '203.0.113.90', protocol: 17 }, udp(1, 2, Buffer.from(`p${i}`)))]);
    for (let i = 0; i < 3; i++) expect((await n.upload(file(i))).status).toBe(200);
    expectError(await n.upload(file(3)), 403, 'quota_exceeded', 'last hour');
  });
});
