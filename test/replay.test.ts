// Workflow code must stay deterministic: histories recorded from earlier versions
// (test/histories/*.history.pb) must replay against the current code. A change that breaks
// replay breaks every rule in flight during a deploy.
// Record new fixtures with: RECORD_HISTORIES=1 npx vitest run test/replay.test.ts (and
// test/orphan-rules.test.ts, test/agent-hostile.test.ts, test/scrubbing-cloudflare.test.ts,
// test/scrubbing-rules.test.ts and test/attack-profiles-api.test.ts, which record the
// orphan-rule sweep starting a rule, an incident adopting a rule of an earlier run, a
// diversion, a rule holding a diversion, and a profile roll-out replacing a profile)
// Fixtures are binary protobuf: the SDK's JSON history conversion does not load under vitest.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { request, startStack, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const HISTORIES = join(dirname(fileURLToPath(import.meta.url)), 'histories');

let stack: Stack;
let hooks: WebhookReceiver;
beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

const bundle = () => ({ workflowBundle: { codePath: inject('env').workflowBundlePath } });

describe('workflow replay', () => {
  it('replays every recorded history against the current workflow code', async () => {
    const files = readdirSync(HISTORIES).filter((f) => f.endsWith('.history.pb'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const history = temporal.api.history.v1.History.decode(readFileSync(join(HISTORIES, file)));
      await Worker.runReplayHistory(bundle(), history, file);
    }
  });

  it('replays the histories this run produces (withdrawn, expired, failed rules; incidents, one opened at a tier, one with node commands)', async () => {
    const { call } = await stack.tenant();
    const hook = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'h', endpoint: hooks.url, auth_token: 's' });
    const dead = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'd', endpoint: 'http://127.0.0.1:9/x' });
    const withdrawn = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.90', intent_type: 'blackhole', adapter_id: hook.body.adapter.id });
    await call('POST', `/api/v1/mitigation/rules/${withdrawn.body.rule.id}/withdraw`);
    const expired = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.91', intent_type: 'flowspec', adapter_id: hook.body.adapter.id, ttl: 1 });
    const failed = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.92', intent_type: 'blackhole', adapter_id: dead.body.adapter.id });
    expect(failed.status).toBe(502);

    // A bulk request's batch: one rule withdrawn by hand, then the other; one that the speaker never answered.
    const batch = await call('POST', '/api/v1/mitigation/rules', { target_ips: ['203.0.113.95', '203.0.113.96'], intent_type: 'blackhole', adapter_id: hook.body.adapter.id });
    expect(batch.status).toBe(200);
    for (const r of batch.body.rules) await call('POST', `/api/v1/mitigation/rules/${r.id}/withdraw`);
    const failedBatch = await call('POST', '/api/v1/mitigation/rules', { target_ips: ['203.0.113.97', '203.0.113.98'], intent_type: 'blackhole', adapter_id: dead.body.adapter.id });
    expect(failedBatch.status).toBe(502);

    // An incident that escalates to a FlowSpec rule, steps down and ends.
    await call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 1000 }, adapter_id: hook.body.adapter.id, hold_down_seconds: 0 });
    const node = await call('POST', '/api/v1/nodes', { name: 'replay', ip: '203.0.113.93' });
    const agent = (path: string, body: unknown) => request(stack.baseUrl, 'POST', `/api/v1/agent${path}`, body, { authorization: `Bearer ${node.body.api_key}` });
    const opened = await agent('/incidents', { ref: 'r1', started_at: new Date().toISOString(), pps: 5000, bps: 4e7, classification: { family: 'udp_flood' } });
    await expect.poll(async () => (await call('GET', `/api/v1/incidents/${opened.body.incident.id}`)).body.incident.tier, { timeout: 10_000 }).toBe(1);
    await agent('/incidents/r1/resolve', {});

    // An incident whose geo lockdown goes to the node's firewall: commands as child
    // workflows, answered here the way the agent answers them.
    await call('POST', '/api/v1/mitigation/escalation', { geo_lockdown: { enabled: true, countries: ['KP'], action: 'firewall' } });
    const geoNode = await call('POST', '/api/v1/nodes', { name: 'replay-geo', ip: '203.0.113.94' });
    const geoAgent = (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${geoNode.body.api_key}` });
    const answer = async (type: string) => {
      const polled = await geoAgent('GET', '/commands?wait=10');
      expect(polled.body.commands.map((c: { command: { type: string } }) => c.command.type)).toEqual([type]);
      await geoAgent('POST', `/commands/${polled.body.commands[0].id}/result`, { ok: true });
    };
    // Opened on the counters' guess, it waits for the capture's verdict; an attack verdict
    // applies it, a benign one lifts it again.
    const geo = await geoAgent('POST', '/incidents', { ref: 'r2', started_at: new Date().toISOString(), pps: 5000, bps: 4e7 });
    const attack = { family: 'udp_flood', verdict: 'attack', evidence: 'capture', packets: 500, signature: { match: { protocols: [17] }, coverage: 0.99, collateral: 0, why: 'udp' } };
    await geoAgent('POST', '/incidents/r2/update', { pps: 5000, bps: 4e7, classification: attack });
    await answer('apply_ruleset');
    await geoAgent('POST', '/incidents/r2/update', { pps: 5000, bps: 4e7, classification: { family: 'unknown', verdict: 'benign', evidence: 'capture', packets: 500, reasons: ['replies'] } });
    await answer('remove_ruleset');
    await geoAgent('POST', '/incidents/r2/resolve', {});

    const cases: Array<[string, string]> = [
      ['rule-withdrawn', `rule:${withdrawn.body.rule.id}`],
      ['rule-expired', `rule:${expired.body.rule.id}`],
      ['rule-failed', `rule:${failed.body.rule.id}`],
      ['rule-batch-withdrawn', batch.body.rules[0].workflow_id],
      ['rule-batch-failed', failedBatch.body.rules[0].workflow_id],
      ['incident-escalated', `incident:${opened.body.incident.id}`],
      ['incident-geo-verdict', `incident:${geo.body.incident.id}`],
      // Opened over tier 1: its plan and tier 1's rule in one local activity.
      ['incident-opened-at-tier', `incident:${opened.body.incident.id}`],
    ];
    for (const [name, workflowId] of cases) {
      const handle = stack.temporal.workflow.getHandle(workflowId);
      await handle.result();
      const history = await handle.fetchHistory();
      await Worker.runReplayHistory(bundle(), history, workflowId);
      if (process.env.RECORD_HISTORIES) {
        writeFileSync(join(HISTORIES, `${name}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
      }
    }
  });
});
