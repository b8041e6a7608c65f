// `intent_type: "scrubbing"` rules: the rule (workflow `rule:<id>`) holds its integration's
// diversion (`scrubbing:<id>`, its child) against a local stand-in of the provider's API:
// active once the provider confirmed, withdrawn or expired with the provider turned off,
// ended when the diversion is withdrawn through the scrubbing API, and refused when the
// target lies outside the integration, the integration diverts by hand, or another rule
// holds it. Records the replay fixtures of a rule holding a diversion.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startVultrApi, type VultrApi } from './support/vultr-api.js';

let stack: Stack;
let vultr: VultrApi;
let user: { call: Caller };
let octet = 8;

beforeAll(async () => {
  stack = await startStack(inject('env'), { scrubbingWatchSeconds: 1 });
  vultr = await startVultrApi();
  user = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
  await vultr?.close();
});

/** An integration diverting a /30 of its own; the rule targets its first address. */
async function integration() {
  const made = vultr.integration();
  const prefix = `203.0.113.${(octet += 4)}/30`;
  const config = { ...made.config, prefixes: [prefix] };
  const res = await user.call('POST', '/api/v1/scrubbing', { type: 'vultr', name: 'rules', config, credentials: made.credentials, base_url: vultr.baseUrl });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.integration.id as number, config, target: `203.0.113.${octet + 1}` };
}
const rule = (scrubbingId: number, target: string, extra: Record<string, unknown> = {}) =>
  user.call('POST', '/api/v1/mitigation/rules', { target_ip: target, intent_type: 'scrubbing', scrubbing_id: scrubbingId, reason: 'volumetric flood', ...extra });
const getRule = async (id: number) => (await user.call('GET', `/api/v1/mitigation/rules/${id}`)).body.rule;
const integrationRow = async (id: number) => (await user.call('GET', '/api/v1/scrubbing')).body.integrations.find((i: { id: number }) => i.id === id);

describe('scrubbing rules', () => {
  it('is active once the provider diverts, listed like any rule, and withdrawn with the provider turned off', async () => {
    const s = await integration();
    const res = await rule(s.id, s.target);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rule).toMatchObject({ target_ip: `${s.target}/32`, intent_type: 'scrubbing', scrubbing_id: s.id, adapter_id: null, status: 'active', match: null });
    expect(vultr.diverting(s.config)).toBe('on');
    expect(await integrationRow(s.id)).toMatchObject({ status: 'active', workflow_id: `scrubbing:${s.id}` });
    const id = res.body.rule.id as number;
    expect((await user.call('GET', '/api/v1/mitigation/rules')).body.rules.map((r: { id: number }) => r.id)).toContain(id);
    // The diversion is the rule's child, as the Temporal UI shows it.
    const child = await stack.temporal.workflow.getHandle(`scrubbing:${s.id}`).describe();
    expect(child.parentExecution?.workflowId).toBe(`rule:${id}`);

    const withdrawn = await user.call('POST', `/api/v1/mitigation/rules/${id}/withdraw`, { reason: 'attack over' });
    expect(withdrawn.body.rule).toMatchObject({ status: 'withdrawn', status_reason: 'attack over' });
    expect(vultr.diverting(s.config)).toBe('off');
    expect(await integrationRow(s.id)).toMatchObject({ status: 'inactive' });
    expect((await user.call('GET', '/api/v1/mitigation/rules/history')).body.rules.map((r: { id: number }) => r.id)).toContain(id);

    // Kept as replay fixtures: the rule holding its diversion, and the diversion as its child.
    for (const [workflowId, file] of [
      [`rule:${id}`, 'rule-diversion-withdrawn'],
      [`scrubbing:${s.id}`, 'scrubbing-child-withdrawn'],
    ] as const) {
      const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { codePath: inject('env').workflowBundlePath } }, history, workflowId);
      if (process.env.RECORD_HISTORIES) writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'histories', `${file}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
    }
  });

  it('expires on its TTL, turning the provider off', async () => {
    const s = await integration();
    const id = (await rule(s.id, s.target, { ttl: 2 })).body.rule.id as number;
    expect(vultr.diverting(s.config)).toBe('on');
    await expect.poll(async () => (await getRule(id)).status, { timeout: 20_000 }).toBe('expired');
    expect(vultr.diverting(s.config)).toBe('off');
  });

  it('ends when its diversion is withdrawn through the scrubbing API', async () => {
    const s = await integration();
    const id = (await rule(s.id, s.target)).body.rule.id as number;
    expect((await user.call('POST', `/api/v1/scrubbing/${s.id}/withdraw`)).body.status).toBe('inactive');
    await expect.poll(async () => (await getRule(id)).status, { timeout: 10_000 }).toBe('withdrawn');
    expect((await getRule(id)).status_reason).toContain('the diversion ended outside the rule');
    expect(vultr.diverting(s.config)).toBe('off');
  });

  it('fails with the provider’s error when it refuses, and leaves nothing on', async () => {
    const s = await integration();
    await user.call('POST', '/api/v1/scrubbing', { id: s.id, type: 'vultr', name: 'bad key', config: s.config, credentials: vultr.badCredentials(), base_url: vultr.baseUrl });
    const res = await rule(s.id, s.target);
    expectError(res, 502, 'adapter_error', '401');
    const failed = (await user.call('GET', '/api/v1/mitigation/rules/history')).body.rules.find((r: { scrubbing_id: number }) => r.scrubbing_id === s.id);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(vultr.diverting(s.config)).toBe('off');
  });

  it('refuses what it cannot hold', async () => {
    const s = await integration();
    expectError(await rule(s.id, '198.51.100.7'), 400, 'invalid_parameter', 'lies outside what integration');
    expectError(await user.call('POST', '/api/v1/mitigation/rules', { target_ip: s.target, intent_type: 'scrubbing' }), 400, 'invalid_parameter', 'scrubbing_id');
    expectError(await rule(s.id, s.target, { adapter_id: 1 }), 400, 'invalid_parameter', 'adapter_id');
    expectError(await rule(s.id, s.target, { match: { protocol: 'udp' } }), 400, 'invalid_parameter', 'match');
    expectError(await rule(999_999, s.target), 404, 'not_found', 'scrubbing integration 999999');
    expectError(await user.call('POST', '/api/v1/mitigation/rules', { target_ip: s.target, intent_type: 'blackhole', adapter_id: 1, scrubbing_id: s.id }), 400, 'invalid_parameter', 'scrubbing_id');

    // One diversion per integration: a second rule conflicts, and so does a diversion announced by hand.
    const held = (await rule(s.id, s.target)).body.rule.id as number;
    expectError(await rule(s.id, s.target.replace(/\d+$/, (n) => String(Number(n) + 1))), 409, 'conflict', `rule ${held} already holds`);
    await user.call('POST', `/api/v1/mitigation/rules/${held}/withdraw`);
    const byHand = await integration();
    expect((await user.call('POST', `/api/v1/scrubbing/${byHand.id}/announce`)).body.status).toBe('active');
    expectError(await rule(byHand.id, byHand.target), 409, 'conflict', 'by hand');
    expect((await user.call('GET', '/api/v1/mitigation/rules')).body.rules.filter((r: { scrubbing_id: number }) => r.scrubbing_id === byHand.id)).toEqual([]);
    await user.call('POST', `/api/v1/scrubbing/${byHand.id}/withdraw`);
  });

  it('never holds a diversion that covers an allowlisted address, and an allowlist entry ends a running one', async () => {
    const s = await integration();
    const id = (await rule(s.id, s.target)).body.rule.id as number;
    const entry = await user.call('POST', '/api/v1/allowlist', { ip_address: s.target.replace(/\d+$/, (n) => String(Number(n) + 1)), label: 'monitoring' });
    expect(entry.body.withdrawn_diversions).toEqual([s.id]);
    expect(vultr.diverting(s.config)).toBe('off');
    await expect.poll(async () => (await getRule(id)).status, { timeout: 10_000 }).toBe('withdrawn');
    expectError(await rule(s.id, s.target), 400, 'invalid_parameter', 'allowlisted');
  });
});
