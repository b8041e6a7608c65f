// Runbooks against the real stack: the reference's example, every step type, a failed step
// re-run from where it failed after its config is fixed, cancel, a worker restart in the
// middle of a wait, and incidents triggering exactly the runbooks they match, once.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startCloudflareWafApi, type CloudflareWafApi } from './support/cloudflare-waf-api.js';
import { dryRunNode } from './support/dry-run-incidents.js';
import { expectError } from './support/expect-error.js';
import { replayAndRecord } from './support/histories.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let user: { call: Caller };
let other: { call: Caller };
let hooks: WebhookReceiver;
let pages: WebhookReceiver;
let cf: CloudflareWafApi;
let channelId: number;
let otherChannelId: number;
let waf: { id: number; zone: string };
const HMAC = 'runbook-hmac-secret-0123456789';

beforeAll(async () => {
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  other = await stack.tenant();
  hooks = await startWebhookReceiver();
  pages = await startWebhookReceiver();
  cf = await startCloudflareWafApi();
  const channel = await user.call('POST', '/api/v1/channels', { type: 'webhook', name: 'ops hook', config: { url: pages.url }, secret: { hmac_secret: 'channel-hmac-secret-0123456789' }, events: [] });
  expect(channel.status, JSON.stringify(channel.body)).toBe(200);
  channelId = channel.body.channel.id;
  otherChannelId = (await other.call('POST', '/api/v1/channels', { type: 'webhook', name: 'theirs', config: { url: pages.url }, secret: { hmac_secret: 'channel-hmac-secret-0123456789' } })).body.channel.id;
  const made = cf.integration();
  const integration = await user.call('POST', '/api/v1/scrubbing', { type: 'cloudflare_waf', name: 'edge zone', config: made.config, credentials: made.credentials, base_url: cf.baseUrl });
  expect(integration.status, JSON.stringify(integration.body)).toBe(200);
  waf = { id: integration.body.integration.id, zone: made.config.zone_id as string };
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
  await pages?.close();
  await cf?.close();
});

async function runbook(body: Record<string, unknown>) {
  const res = await user.call('POST', '/api/v1/runbooks', { trigger_conditions: {}, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.runbook as { id: number; name: string; active: boolean; steps_count: number };
}

async function execution(runbookId: number, id: number) {
  const res = await user.call('GET', `/api/v1/runbooks/${runbookId}/executions/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.execution;
}

async function finished(runbookId: number, id: number, timeout = 20_000) {
  await expect.poll(async () => (await execution(runbookId, id)).status, { timeout, interval: 200 }).not.toBe('running');
  return execution(runbookId, id);
}

async function run(runbookId: number, body?: Record<string, unknown>) {
  const res = await user.call('POST', `/api/v1/runbooks/${runbookId}/run`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.execution as { id: number; status: string; workflow_id: string; temporal_ui_url: string };
}

const verify = (secret: string, headers: Record<string, unknown>, raw: string) =>
  headers['x-bulwark-signature'] === `sha256=${createHmac('sha256', secret).update(`${String(headers['x-bulwark-timestamp'])}.${raw}`).digest('hex')}`;

describe('the runbooks API', () => {
  it('creates the reference’s example runbook and answers its shape', async () => {
    const created = await user.call('POST', '/api/v1/runbooks', {
      name: 'Auto-mitigate UDP floods',
      description: 'Block UDP flood traffic and notify the team',
      trigger_conditions: { family: 'udp_flood', severity: 'critical', min_pps: 500000 },
      steps: [
        { action_type: 'log', action_config: { message: 'UDP flood detected, starting mitigation' } },
        { action_type: 'iptables', action_config: { cmd: 'block_udp_flood' } },
        { action_type: 'wait', action_config: { seconds: 30 } },
        { action_type: 'notify_channel', action_config: { channel_id: channelId } },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ ok: true, runbook: { name: 'Auto-mitigate UDP floods', active: true, steps_count: 4 } });
    const id = created.body.runbook.id;
    const listed = (await user.call('GET', '/api/v1/runbooks')).body.runbooks.find((r: { id: number }) => r.id === id);
    expect(listed).toMatchObject({ executions_count: 0, last_execution: null, trigger_conditions: { family: 'udp_flood', severity: 'critical', min_pps: 500000 } });
    expect((await user.call('GET', `/api/v1/runbooks/${id}`)).body.runbook.steps[1]).toEqual({ action_type: 'iptables', action_config: { cmd: 'block_udp_flood' } });
    // Another workspace sees none of it.
    expectError(await other.call('GET', `/api/v1/runbooks/${id}`), 404, 'not_found');
    expect((await other.call('GET', '/api/v1/runbooks')).body.runbooks).toEqual([]);
  });

  it.each([
    [{ steps: [{ action_type: 'wait', action_config: { seconds: 0 } }] }, 'steps.0.action_config.seconds'],
    [{ steps: [{ action_type: 'reboot', action_config: {} }] }, 'steps.0.action_type'],
    [{ steps: [{ action_type: 'log', action_config: { message: 'on {{incident.nope}}' } }] }, 'unknown placeholder {{incident.nope}}'],
    [{ steps: [{ action_type: 'iptables', action_config: { cmd: 'rm -rf /' } }] }, 'steps.0.action_config.cmd'],
    [{ steps: [{ action_type: 'webhook', action_config: { url: 'http://169.254.169.254/latest', body: {} } }] }, 'steps.0.action_config.url: 169.254.169.254 is link-local'],
    [{ steps: [{ action_type: 'webhook', action_config: { url: 'http://127.0.0.1:9/', body: { who: '{{incident.owner}}' } } }] }, 'steps.0.action_config.body'],
    [{ steps: [{ action_type: 'condition', action_config: { field: 'pps', op: 'within', value: 3 } }] }, 'steps.0.action_config'],
    [{ steps: [{ action_type: 'cloudflare_uam', action_config: { integration_id: 2_147_483_647 } }] }, 'steps.0.action_config.integration_id'],
    [{ steps: [{ action_type: 'log', action_config: { message: 'x' } }], trigger_conditions: { family: 'dns_water_torture' } }, 'trigger_conditions.family'],
    [{ steps: [{ action_type: 'log', action_config: { message: 'x' } }], trigger_conditions: { target_prefix: '203.0.113.5/24' } }, 'trigger_conditions.target_prefix'],
    [{ steps: [] }, 'steps'],
    [{ steps: [{ action_type: 'iptables', action_config: { cmd: 'remove' } }] }, 'steps.0.action_config.name is required with cmd "remove"'],
  ])('refuses %j naming %s', async (body, field) => {
    const res = await user.call('POST', '/api/v1/runbooks', { name: 'bad', trigger_conditions: {}, ...body });
    expectError(res, 400, 'invalid_parameter', field);
  });

  it('refuses a channel of another workspace as one that does not exist', async () => {
    const res = await user.call('POST', '/api/v1/runbooks', { name: 'x', trigger_conditions: {}, steps: [{ action_type: 'notify_channel', action_config: { channel_id: otherChannelId } }] });
    expectError(res, 400, 'invalid_parameter', `steps.0.action_config.channel_id: channel ${otherChannelId} does not exist`);
  });
});

describe('executions', () => {
  it('runs every step type by hand without a node: real webhooks and channels, the rest simulated', async () => {
    const rb = await runbook({
      name: 'every step',
      steps: [
        { action_type: 'log', action_config: { message: 'Attack {{incident.family}} on {{incident.target}}' } },
        { action_type: 'condition', action_config: { field: 'pps', op: 'gte', value: 1000 } },
        { action_type: 'webhook', action_config: { url: hooks.url, body: { incident: '{{incident.id}}', target: '{{incident.target}}', pps: '{{incident.pps}}' }, hmac_secret: HMAC, headers: { 'X-Api-Key': 'key-123' } } },
        { action_type: 'notify_channel', action_config: { channel_id: channelId, message: 'Runbook {{runbook.name}} on {{incident.target}}' } },
        { action_type: 'iptables', action_config: { cmd: 'block_udp_flood' } },
        { action_type: 'cloudflare_uam', action_config: { integration_id: waf.id } },
        { action_type: 'scrubbing_enable', action_config: { integration_id: waf.id } },
        { action_type: 'wait', action_config: { seconds: 1 } },
      ],
    });
    const got = hooks.received.length;
    const started = await run(rb.id);
    expect(started.workflow_id).toBe(`runbook-exec:${started.id}`);
    expect(started.temporal_ui_url).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/runbook-exec%3A${started.id}`);
    const done = await finished(rb.id, started.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done).toMatchObject({ simulated: true, trigger: 'manual', context: { incident_id: null, family: 'udp_flood', target: '192.0.2.1' } });
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded', 'simulated', 'simulated', 'simulated', 'succeeded']);
    expect(done.steps[0].output).toBe('Attack udp_flood on 192.0.2.1');
    expect(done.steps[1].output).toBe('pps gte 1000: true');
    expect(done.steps[2].output).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/hooks\/bulwark: HTTP 200 in \d+ ms$/);
    expect(done.steps[4].output).toContain('would apply block_udp_flood');
    expect(done.steps[7].duration_ms).toBeGreaterThanOrEqual(1000);

    // The webhook: rendered body, signed, with its stored header.
    const hook = hooks.received[got]!;
    expect(hook.body).toEqual({ incident: 'test', target: '192.0.2.1', pps: '1000000' });
    expect(verify(HMAC, hook.headers, hook.raw)).toBe(true);
    expect(hook.headers['x-api-key']).toBe('key-123');
    // The channel heard the step's message.
    expect(pages.received.some((p) => p.body.event === 'runbook' && p.body.text === 'Runbook every step on 192.0.2.1')).toBe(true);
    // Nothing real was touched.
    expect(cf.securityLevel(waf.zone)).toBe('medium');
    expect(cf.rules(waf.zone)).toEqual([]);
    // The Temporal UI holds the same execution.
    expect((await stack.temporal.workflow.getHandle(started.workflow_id).describe()).status.name).toBe('COMPLETED');
    // Secrets are never answered.
    const stored = (await user.call('GET', `/api/v1/runbooks/${rb.id}`)).body.runbook.steps[2].action_config;
    expect(stored).toMatchObject({ hmac_secret: '<stored>', headers: { 'X-Api-Key': '<stored>' } });
    expect(JSON.stringify((await user.call('GET', `/api/v1/runbooks/${rb.id}/executions`)).body)).not.toContain(HMAC);
  });

  it('fails at the broken step; after its config is fixed, a retry runs from that step with the same context', async () => {
    const rb = await runbook({
      name: 'breaks',
      steps: [
        { action_type: 'log', action_config: { message: 'first' } },
        { action_type: 'webhook', action_config: { url: `${hooks.url}?broken=1`, body: { n: 1 }, hmac_secret: HMAC } },
        { action_type: 'log', action_config: { message: 'last' } },
      ],
    });
    hooks.failNext(1, 400);
    const first = await finished(rb.id, (await run(rb.id)).id);
    expect(first.status).toBe('failed');
    expect(first.error).toMatch(/^step 2 \(webhook\): POST .*: HTTP 400/);
    expect(first.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'failed', 'skipped']);
    expectError(await user.call('POST', `/api/v1/runbooks/${rb.id}/executions/${first.id}/cancel`), 409, 'conflict');

    // The on-call engineer fixes the step (the stored secret kept by "<stored>") and re-runs.
    const steps = (await user.call('GET', `/api/v1/runbooks/${rb.id}`)).body.runbook.steps;
    steps[1].action_config.url = hooks.url;
    expect((await user.call('PATCH', `/api/v1/runbooks/${rb.id}`, { steps })).status).toBe(200);
    const got = hooks.received.length;
    const retry = await user.call('POST', `/api/v1/runbooks/${rb.id}/executions/${first.id}/retry`);
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
    const second = await finished(rb.id, retry.body.execution.id);
    expect(second).toMatchObject({ status: 'succeeded', trigger: 'retry', retry_of: first.id, from_step: 1, context: first.context });
    expect(second.steps.map((s: { status: string }) => s.status)).toEqual(['skipped', 'succeeded', 'succeeded']);
    expect(second.steps[0].output).toBe(`ran in execution ${first.id}`);
    expect(hooks.received.length).toBe(got + 1);
    expect(verify(HMAC, hooks.received[got]!.headers, hooks.received[got]!.raw)).toBe(true);
    // Only a failed (or cancelled) execution is re-run.
    expectError(await user.call('POST', `/api/v1/runbooks/${rb.id}/executions/${second.id}/retry`), 409, 'conflict');
    const listed = (await user.call('GET', `/api/v1/runbooks/${rb.id}/executions`)).body.executions;
    expect(listed.map((e: { id: number }) => e.id)).toEqual([second.id, first.id]);
    expect((await user.call('GET', `/api/v1/runbooks/${rb.id}`)).body.runbook).toMatchObject({ executions_count: 2, last_execution: { id: second.id, status: 'succeeded' } });
    // Another workspace cannot reach it.
    expectError(await other.call('POST', `/api/v1/runbooks/${rb.id}/executions/${first.id}/retry`), 404, 'not_found');
    // Kept as replay fixtures: an execution that failed at a step, and its retry from there.
    await replayAndRecord(stack.temporal, inject('env').workflowBundlePath, first.workflow_id, 'runbook-failed');
    await replayAndRecord(stack.temporal, inject('env').workflowBundlePath, second.workflow_id, 'runbook-retried');
  });

  it('with a node, runs for real: the iptables step has the node’s agent install the catalogue set, allowlist first', async () => {
    const made = await user.call('POST', '/api/v1/nodes', { name: 'fw-node', ip: '203.0.113.91' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const agent = (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${made.body.api_key}` });
    expect((await user.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.7', label: 'office' })).status).toBe(200);
    const rb = await runbook({
      name: 'firewall',
      steps: [
        { action_type: 'iptables', action_config: { cmd: 'block_amplification', suite: 'nftables' } },
        { action_type: 'iptables', action_config: { cmd: 'remove', name: 'block_amplification', suite: 'nftables' } },
      ],
    });
    const started = await run(rb.id, { node: made.body.node.uuid });
    // The agent's side, over its own API: the command, then its result.
    const first = (await agent('GET', '/commands?wait=10')).body.commands[0];
    expect(first.command).toMatchObject({ type: 'apply_ruleset', suite: 'nftables', ruleset: { name: 'cat_amplification' } });
    expect(first.command.ruleset.rules[0]).toMatchObject({ action: 'accept', sources: ['198.51.100.7/32'] });
    await agent('POST', `/commands/${first.id}/result`, { ok: true });
    const second = (await agent('GET', '/commands?wait=10')).body.commands[0];
    expect(second.command).toEqual({ type: 'remove_ruleset', suite: 'nftables', name: 'cat_amplification' });
    await agent('POST', `/commands/${second.id}/result`, { ok: false, error: 'nft: No such file or directory' });
    const done = await finished(rb.id, started.id);
    expect(done).toMatchObject({ status: 'failed', simulated: false, context: { node_name: 'fw-node', target: '203.0.113.91' } });
    expect(done.steps[0]).toMatchObject({ status: 'succeeded', output: 'applied block_amplification on fw-node (nftables, 1 allowlisted entry accepted first)' });
    expect(done.steps[1]).toMatchObject({ status: 'failed', error: "the node's agent answered: nft: No such file or directory" });
    expectError(await user.call('POST', `/api/v1/runbooks/${rb.id}/run`, { node: '5b0c3f47-0d5e-4d7a-9a51-7f1f0c2c9e11' }), 404, 'not_found');
  });

  it('with a node, Under Attack Mode goes on for real and the zone’s level comes back after restore_after_seconds', async () => {
    const made = await user.call('POST', '/api/v1/nodes', { name: 'uam-node', ip: '203.0.113.92' });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    expect(cf.securityLevel(waf.zone)).toBe('medium');
    const rb = await runbook({ name: 'uam for a while', steps: [{ action_type: 'cloudflare_uam', action_config: { integration_id: waf.id, restore_after_seconds: 10 } }] });
    const began = Date.now();
    const started = await run(rb.id, { node: made.body.node.uuid });
    // The steps are done (the row says so at once); the restore waits its 10 s (the shortest allowed), no incident to end it sooner.
    const done = await finished(rb.id, started.id);
    expect(done).toMatchObject({ status: 'succeeded', simulated: false, notes: [] });
    expect(cf.securityLevel(waf.zone)).toBe('under_attack');
    const progress = await stack.temporal.workflow.getHandle(started.workflow_id).query<{ pendingCleanups: string[] }>('progress');
    expect(progress.pendingCleanups).toEqual([`restore the zone's security level to medium after 10 s`]);
    await stack.temporal.workflow.getHandle(started.workflow_id).result();
    expect(Date.now() - began).toBeGreaterThanOrEqual(10_000);
    expect(cf.securityLevel(waf.zone)).toBe('medium');
    expect((await execution(rb.id, started.id)).notes).toEqual([`zone ${waf.zone}: security level restored to medium`]);
    // Its trigger conditions are empty: gone, so no later test's incident runs it too.
    expect((await user.call('DELETE', `/api/v1/runbooks/${rb.id}`)).status).toBe(200);
  });

  it('skips the steps after a false condition', async () => {
    const rb = await runbook({
      name: 'conditional',
      steps: [
        { action_type: 'condition', action_config: { field: 'family', op: 'in', value: ['syn_flood', 'tcp_flood'] } },
        { action_type: 'webhook', action_config: { url: hooks.url, body: {} } },
      ],
    });
    const got = hooks.received.length;
    const done = await finished(rb.id, (await run(rb.id)).id);
    expect(done.status).toBe('succeeded');
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'skipped']);
    await replayAndRecord(stack.temporal, inject('env').workflowBundlePath, done.workflow_id, 'runbook-condition-false');
    expect(done.steps[0].output).toBe('family in syn_flood|tcp_flood: false, the following steps are skipped');
    expect(hooks.received.length).toBe(got);
  });

  it('is cancelled in the middle of a wait', async () => {
    const rb = await runbook({ name: 'long wait', steps: [{ action_type: 'wait', action_config: { seconds: 600 } }, { action_type: 'log', action_config: { message: 'never' } }] });
    const started = await run(rb.id);
    await expect.poll(async () => (await execution(rb.id, started.id)).steps[0].status, { timeout: 10_000 }).toBe('running');
    const cancelled = await user.call('POST', `/api/v1/runbooks/${rb.id}/executions/${started.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    const done = await finished(rb.id, started.id);
    expect(done.status).toBe('cancelled');
    expect(done.steps.map((s: { status: string }) => s.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('survives its worker being stopped in the middle of a wait', async () => {
    const rb = await runbook({ name: 'durable wait', steps: [{ action_type: 'wait', action_config: { seconds: 3 } }, { action_type: 'log', action_config: { message: 'after the restart' } }] });
    const started = await run(rb.id);
    await expect.poll(async () => (await execution(rb.id, started.id)).steps[0].status, { timeout: 10_000 }).toBe('running');
    await stack.stopWorker();
    await new Promise((r) => setTimeout(r, 4000));
    expect((await execution(rb.id, started.id)).status).toBe('running');
    await stack.startWorker();
    const done = await finished(rb.id, started.id);
    expect(done.status).toBe('succeeded');
    expect(done.steps[1].output).toBe('after the restart');
  });

  it('deleted, it finishes what runs and starts nothing new; toggled off, it still runs by hand', async () => {
    const rb = await runbook({ name: 'to delete', steps: [{ action_type: 'wait', action_config: { seconds: 2 } }, { action_type: 'log', action_config: { message: 'finished' } }] });
    const started = await run(rb.id);
    const toggled = await user.call('POST', `/api/v1/runbooks/${rb.id}/toggle`);
    expect(toggled.body.runbook.active).toBe(false);
    expect((await user.call('POST', `/api/v1/runbooks/${rb.id}/toggle`)).body.runbook.active).toBe(true);
    expect((await user.call('DELETE', `/api/v1/runbooks/${rb.id}`)).body).toEqual({ ok: true, deleted: rb.id });
    expectError(await user.call('GET', `/api/v1/runbooks/${rb.id}`), 404, 'not_found');
    expectError(await user.call('POST', `/api/v1/runbooks/${rb.id}/run`), 404, 'not_found');
    const row = await stack.temporal.workflow.getHandle(started.workflow_id).result();
    expect(row).toEqual({ status: 'succeeded' });
  });
});

describe('incidents trigger runbooks', () => {
  it('start exactly the active runbooks whose conditions they meet, once; Under Attack Mode and the diversion end when the incident resolves', async () => {
    const { uuid: nodeUuid, agent } = await dryRunNode(stack.baseUrl, user.call, hooks.url, { name: 'rb-victim', ip: '203.0.113.90' });

    const uam = await runbook({
      name: 'udp at tier 1',
      trigger_conditions: { family: 'udp_flood', min_pps: 10_000, tier: 1, nodes: [nodeUuid], target_prefix: '203.0.113.0/24' },
      steps: [
        { action_type: 'cloudflare_uam', action_config: { integration_id: waf.id } },
        { action_type: 'scrubbing_enable', action_config: { integration_id: waf.id } },
        { action_type: 'log', action_config: { message: 'UAM on for {{incident.target}} at tier {{incident.tier}}' } },
      ],
    });
    const syn = await runbook({ name: 'syn only', trigger_conditions: { family: 'syn_flood' }, steps: [{ action_type: 'log', action_config: { message: 'syn' } }] });
    const off = await runbook({ name: 'inactive', trigger_conditions: { family: 'udp_flood' }, steps: [{ action_type: 'log', action_config: { message: 'off' } }] });
    await user.call('POST', `/api/v1/runbooks/${off.id}/toggle`);
    const gone = await runbook({ name: 'deleted', trigger_conditions: {}, steps: [{ action_type: 'log', action_config: { message: 'gone' } }] });
    await user.call('DELETE', `/api/v1/runbooks/${gone.id}`);
    const critical = await runbook({ name: 'critical only', trigger_conditions: { severity: 'critical' }, steps: [{ action_type: 'log', action_config: { message: 'critical' } }] });

    // An amplification attack is carried over UDP: it is a udp_flood.
    const opened = await agent('POST', '/incidents', { ref: 'rb-1', started_at: new Date().toISOString(), pps: 20_000, bps: 1.6e8, classification: { family: 'udp_flood', subtype: 'dns_amplification', confidence: 0.9 } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    const incidentId = opened.body.incident.id;
    const executionsOf = async (id: number) => (await user.call('GET', `/api/v1/runbooks/${id}/executions`)).body.executions;
    await expect.poll(async () => (await executionsOf(uam.id)).length, { timeout: 15_000 }).toBe(1);
    const [triggered] = await executionsOf(uam.id);
    expect(triggered).toMatchObject({ trigger: 'incident', incident_id: incidentId, simulated: false, context: { family: 'udp_flood', tier: 1, target: '203.0.113.90' } });
    const done = await finished(uam.id, triggered.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.steps[2].output).toBe('UAM on for 203.0.113.90 at tier 1');
    expect(done.steps[1].output).toBe(`cloudflare_waf "edge zone" diverting (workflow scrubbing:${waf.id}); withdrawn when the incident resolves`);
    expect(cf.securityLevel(waf.zone)).toBe('under_attack');
    expect(cf.rules(waf.zone).length).toBeGreaterThan(0);

    // Growing to tier 2 triggers nothing twice.
    await agent('POST', '/incidents/rb-1/update', { pps: 200_000, bps: 1.6e9 });
    await expect.poll(async () => (await user.call('GET', `/api/v1/incidents/${incidentId}`)).body.incident.tier, { timeout: 10_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await executionsOf(uam.id)).toHaveLength(1);
    for (const id of [syn.id, off.id, critical.id]) expect(await executionsOf(id)).toEqual([]);
    const timeline = (await user.call('GET', `/api/v1/incidents/${incidentId}`)).body.timeline;
    expect(timeline.filter((e: { kind: string }) => e.kind === 'runbook').map((e: { message: string }) => e.message)).toEqual(
      expect.arrayContaining([`runbook "udp at tier 1" started (execution ${triggered.id})`, 'runbook "udp at tier 1": UAM on for 203.0.113.90 at tier 1']),
    );

    // Resolved: the zone's security level goes back to what it was.
    await agent('POST', '/incidents/rb-1/resolve', {});
    await expect.poll(() => cf.securityLevel(waf.zone), { timeout: 40_000, interval: 500 }).toBe('medium');
    await stack.temporal.workflow.getHandle(triggered.workflow_id).result();
    expect(cf.rules(waf.zone)).toEqual([]);
    expect((await execution(uam.id, triggered.id)).notes).toEqual([`zone ${waf.zone}: security level restored to medium`, `diversion through scrubbing integration ${waf.id} ended: inactive`]);
    expect((await user.call('GET', `/api/v1/scrubbing/${waf.id}/status`)).body.status).toBe('inactive');
    // Kept as replay fixtures: the incident that triggered it, and the execution that held its cleanup until the end.
    await replayAndRecord(stack.temporal, inject('env').workflowBundlePath, `incident:${incidentId}`, 'incident-runbooks');
    await replayAndRecord(stack.temporal, inject('env').workflowBundlePath, triggered.workflow_id, 'runbook-restored-on-resolve');
  }, 90_000);
});
