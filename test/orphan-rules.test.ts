// A rule row left pending without its workflow (the API died, or Temporal was down,
// between the insert and the start) is started by the orphan sweep, whatever its adapter:
// here a webhook adapter, which no reconciler watches.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureOrphanSweepSchedule } from '../clients/orphan-rules.js';
import { requestRules } from '../db/rules.js';
import { mitigationRules } from '../db/schema.js';
import { ORPHAN_SWEEP_SECONDS, orphanSweepScheduleId } from '../workflows/orphan-rules.contract.js';
import { ruleBatchWorkflowId, withdrawRulesSignal } from '../workflows/rule-batch.contract.js';
import { orphanRulesWorkflow } from '../workflows/orphan-rules.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let hooks: WebhookReceiver;
let call: Caller;
let workspaceId: number;
let adapterId: number;

beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  ({ call, id: workspaceId } = await stack.tenant());
  adapterId = (await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'h', endpoint: hooks.url, auth_token: 's' })).body.adapter.id;
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

/** What the API leaves when it dies between the insert and the start. */
async function orphan(target: string, ttl: number): Promise<number> {
  const requested = await requestRules(stack.db.db, { workspaceId, adapterId, intents: [{ kind: 'blackhole', target }], ttl, reason: 'orphan' });
  if (requested.outcome !== 'requested') throw new Error(JSON.stringify(requested));
  return requested.rules[0]!.id;
}

const statusOf = async (id: number) => (await call('GET', `/api/v1/mitigation/rules/${id}`)).body.rule.status;
const sweep = (id: string) => stack.temporal.workflow.start(orphanRulesWorkflow, { workflowId: id, taskQueue: stack.taskQueue });

describe('the orphan-rule sweep', () => {
  it('leaves young pending rows to the API, and starts the old ones, which then run their course', async () => {
    const id = await orphan('203.0.113.150/32', 3);
    expect((await (await sweep(`sweep-young-${id}`)).result()).started).not.toContain(id);
    expect(await statusOf(id)).toBe('pending');

    await stack.db.db.update(mitigationRules).set({ createdAt: sql`now() - interval '60 seconds'` }).where(eq(mitigationRules.id, id));
    const run = await sweep(`sweep-old-${id}`);
    expect((await run.result()).started).toEqual([id]);
    await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('active');
    expect(hooks.received.some((h) => h.body.event === 'announce' && h.body.intent.prefix === '203.0.113.150/32')).toBe(true);
    await expect.poll(() => statusOf(id), { timeout: 15_000 }).toBe('expired');

    // Kept as a replay fixture: the sweep starting a rule's workflow.
    const history = await run.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('env').workflowBundlePath } }, history, run.workflowId);
    if (process.env.RECORD_HISTORIES) {
      writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'histories', 'orphan-rules-started.history.pb'), temporal.api.history.v1.History.encode(history).finish());
    }
  }, 60_000);

  it("starts a bulk request's orphaned rules together, as the batch their rows name", async () => {
    const targets = ['203.0.113.160/32', '203.0.113.161/32', '203.0.113.162/32'];
    const batchId = ruleBatchWorkflowId(randomUUID());
    const requested = await requestRules(stack.db.db, { workspaceId, adapterId, intents: targets.map((target) => ({ kind: 'blackhole' as const, target })), ttl: 60, reason: 'orphan', workflowId: batchId });
    if (requested.outcome !== 'requested') throw new Error(JSON.stringify(requested));
    const ids = requested.rules.map((r) => r.id);
    await stack.db.db.update(mitigationRules).set({ createdAt: sql`now() - interval '60 seconds'` }).where(inArray(mitigationRules.id, ids));

    const result = await (await sweep(`sweep-batch-${ids[0]}`)).result();
    expect(result.started).toEqual(expect.arrayContaining(ids));
    for (const id of ids) await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('active');
    for (const t of targets) expect(hooks.received.some((h) => h.body.event === 'announce' && h.body.intent.prefix === t)).toBe(true);
    // The batch the rows name holds them: one of them withdrawn through the API is gone alone.
    const rule = (await call('GET', `/api/v1/mitigation/rules/${ids[0]}`)).body.rule;
    expect(rule.workflow_id).toBe(batchId);
    expect((await call('POST', `/api/v1/mitigation/rules/${ids[0]}/withdraw`)).body.rule.status).toBe('withdrawn');
    expect(await statusOf(ids[1]!)).toBe('active');

    // A second sweep finds nothing pending: no second batch.
    expect((await (await sweep(`sweep-batch-again-${ids[0]}`)).result()).started).not.toEqual(expect.arrayContaining([ids[1]]));
    await stack.temporal.workflow.getHandle(batchId).signal(withdrawRulesSignal, { ruleIds: ids.slice(1), reason: 'test done' });
    for (const id of ids.slice(1)) await expect.poll(() => statusOf(id), { timeout: 10_000 }).toBe('withdrawn');
  }, 60_000);

  it('does not start a second workflow for a rule whose workflow runs (a slow announce)', async () => {
    hooks.failNext(1000, 503);
    try {
      const res = call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.151/32', intent_type: 'blackhole', adapter_id: adapterId, ttl: 60 });
      await new Promise((r) => setTimeout(r, 1000));
      // This file's adapter: another file's rules for the same address share the database.
      const [row] = await stack.db.db.select().from(mitigationRules).where(and(eq(mitigationRules.targetIp, '203.0.113.151/32'), eq(mitigationRules.adapterId, adapterId)));
      expect(row!.status).toBe('pending');
      await stack.db.db.update(mitigationRules).set({ createdAt: sql`now() - interval '60 seconds'` }).where(eq(mitigationRules.id, row!.id));
      const result = await (await sweep(`sweep-running-${row!.id}`)).result();
      expect(result.running).toContain(row!.id);
      expect(result.started).not.toContain(row!.id);
      hooks.failNext(0);
      expect((await res).status).toBeLessThan(500);
    } finally {
      hooks.failNext(0);
    }
  }, 60_000);

  it('runs on a schedule per task queue', async () => {
    await ensureOrphanSweepSchedule(stack);
    const handle = stack.temporal.schedule.getHandle(orphanSweepScheduleId(stack.taskQueue));
    try {
      const described = await handle.describe();
      expect(described.spec.intervals).toMatchObject([{ every: ORPHAN_SWEEP_SECONDS * 1000 }]);
      expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'orphanRulesWorkflow', taskQueue: stack.taskQueue });
    } finally {
      await handle.delete();
    }
  });
});
