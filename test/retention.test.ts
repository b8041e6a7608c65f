// Retention: the hourly schedules and the workflows they start, which delete captures
// (and their bytes) and per-second metrics older than the configured ages, counted from
// when the server received them, and nothing else.
import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../cmd/runtime.js';
import { ensureRetentionSchedules } from '../clients/retention.js';
import { metricsRetentionScheduleId, retentionScheduleId } from '../workflows/retention.contract.js';
import { nodeMetrics, nodes, pcapChunks, pcaps } from '../db/schema.js';
import { metricsRetentionWorkflow, pcapRetentionWorkflow } from '../workflows/retention.js';
import { ipv4, pcapFile, udp } from './support/packets.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let user: { token: string; call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'));
  user = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
});

/** Uploads one small capture to a fresh incident; answers its id. */
async function capture(ref: string, key: string): Promise<number> {
  const agent = (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${key}` });
  await agent('POST', '/incidents', { ref, started_at: new Date().toISOString(), pps: 9e4, bps: 9e8 });
  const file = pcapFile([ipv4({ src: '198.51.100.1', dst: '203.0.113.70', protocol: 17 }, udp(1, 2, Buffer.from(ref)))]);
  const started = await agent('POST', `/incidents/${ref}/pcaps`, { size_bytes: file.length, sha256: createHash('sha256').update(file).digest('hex'), captured_at: new Date().toISOString() });
  const id = started.body.pcap.id as number;
  const put = await fetch(`${stack.baseUrl}/api/v1/agent/pcaps/${id}/data?offset=0`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
    body: new Uint8Array(file),
  });
  expect(put.status).toBe(200);
  return id;
}

describe('retention', () => {
  it('deletes captures past their age, with their bytes, and keeps the rest', async () => {
    const node = await user.call('POST', '/api/v1/nodes', { name: 'ret', ip: '203.0.113.70' });
    const old = await capture('old', node.body.api_key);
    const recent = await capture('recent', node.body.api_key);
    // Received 31 days ago; what the agent says of its capture time does not count.
    await stack.db.db.update(pcaps).set({ createdAt: sql`now() - interval '31 days'` }).where(eq(pcaps.id, old));
    await stack.db.db.update(pcaps).set({ capturedAt: sql`now() - interval '60 days'` }).where(eq(pcaps.id, recent));

    const result = await stack.temporal.workflow.execute(pcapRetentionWorkflow, { taskQueue: stack.taskQueue, workflowId: `retention-test-${old}`, args: [30] });
    expect(result).toEqual({ deleted: 1 });
    const left = (await user.call('GET', '/api/v1/pcaps')).body.pcaps.map((p: { id: number }) => p.id);
    expect(left).toEqual([recent]);
    expect(await stack.db.db.select().from(pcapChunks).where(eq(pcapChunks.pcapId, old))).toEqual([]);
    const download = await fetch(`${stack.baseUrl}/api/v1/pcaps/${recent}/download`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).subarray(-6).toString()).toBe('recent');
  });

  it('deletes per-second metrics past their age and keeps the rest', async () => {
    const node = await user.call('POST', '/api/v1/nodes', { name: 'ret-metrics', ip: '203.0.113.71' });
    const [row] = await stack.db.db.select({ id: nodes.id }).from(nodes).where(eq(nodes.uuid, node.body.node.uuid));
    const day = 86_400_000;
    const at = (msAgo: number) => new Date(Math.floor((Date.now() - msAgo) / 1000) * 1000);
    await stack.db.db.insert(nodeMetrics).values([8 * day, 7 * day + 60_000, 6 * day, 60_000].map((ago) => ({ nodeId: row!.id, at: at(ago), pps: 1, bps: 1 })));
    const result = await stack.temporal.workflow.execute(metricsRetentionWorkflow, { taskQueue: stack.taskQueue, workflowId: `metrics-retention-test-${row!.id}`, args: [7] });
    expect(result).toEqual({ deleted: 2 });
    const left = await stack.db.db.select({ at: nodeMetrics.at }).from(nodeMetrics).where(eq(nodeMetrics.nodeId, row!.id));
    expect(left).toHaveLength(2);
  });

  it('keeps one hourly schedule per task queue and kind, updated to the configured ages', async () => {
    const logger = createLogger('silent');
    const ids = [retentionScheduleId(stack.taskQueue), metricsRetentionScheduleId(stack.taskQueue)];
    try {
      await ensureRetentionSchedules(stack, { pcaps: 30, metrics: 14 }, logger);
      await ensureRetentionSchedules(stack, { pcaps: 7, metrics: 3 }, logger);
      const [pcapSchedule, metricsSchedule] = await Promise.all(ids.map((id) => stack.temporal.schedule.getHandle(id).describe()));
      expect(pcapSchedule!.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
      expect(pcapSchedule!.action).toMatchObject({ type: 'startWorkflow', workflowType: 'pcapRetentionWorkflow', taskQueue: stack.taskQueue, args: [7] });
      expect(metricsSchedule!.action).toMatchObject({ type: 'startWorkflow', workflowType: 'metricsRetentionWorkflow', taskQueue: stack.taskQueue, args: [3] });
    } finally {
      for (const id of ids) await stack.temporal.schedule.getHandle(id).delete();
    }
  });
});
