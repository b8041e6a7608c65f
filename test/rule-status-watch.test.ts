// What POST /mitigation/rules and withdraw wait on (db/rule-settled.ts): a rule's status as
// its activities NOTIFY it, through real PostgreSQL LISTEN; the once-a-second read of the
// rows when a notification never comes; the deadline; and a cancelled wait.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDb, type DbHandle } from '../db/client.js';
import { notifyRuleStatus, watchRuleStatus, type RuleStatusWatch } from '../db/rule-settled.js';
import { mitigationRules, type RuleStatus } from '../db/schema.js';
import { createWorkspace } from '../db/workspaces.js';
import { insertIdleAdapter, insertRuleRows } from './support/rule-rows.js';

let handle: DbHandle;
let watch: RuleStatusWatch;
let ids: number[];

beforeAll(async () => {
  handle = await openDb({ databaseUrl: inject('env').databaseUrl, dataDir: '/nonexistent' });
  watch = watchRuleStatus(handle);
  const ws = await createWorkspace(handle.db, `watch-${Date.now()}`, 'active');
  const adapterId = await insertIdleAdapter(handle.db, ws.id);
  ids = await insertRuleRows(handle.db, { workspaceId: ws.id, adapterId, n: 6, status: 'pending' });
});
afterAll(async () => {
  await watch?.close();
  await handle?.close();
});

const setStatus = (id: number, status: RuleStatus) => handle.db.update(mitigationRules).set({ status }).where(eq(mitigationRules.id, id));

describe('waiting for a rule status', () => {
  it('answers at the notification of the milestone, not before', async () => {
    const [id] = ids as [number];
    const settled = await watch.wait(id, 'settled', 10_000);
    const ended = await watch.wait(id, 'ended', 10_000);
    // The row still says pending: only the notification can answer.
    await notifyRuleStatus(handle.db, id, 'active');
    expect(await settled.status).toBe('active');
    await setStatus(id, 'withdrawing');
    await notifyRuleStatus(handle.db, id, 'withdrawing');
    await setStatus(id, 'withdrawn');
    await notifyRuleStatus(handle.db, id, 'withdrawn');
    expect(await ended.status).toBe('withdrawn');
  });

  it('finds the status in the row when no notification comes', async () => {
    const id = ids[1]!;
    const settled = await watch.wait(id, 'settled', 10_000);
    await setStatus(id, 'failed'); // no NOTIFY: a lost notification
    expect(await settled.status).toBe('failed');
  });

  it('answers null at the deadline, and for a cancelled wait', async () => {
    const pending = await watch.wait(ids[2]!, 'settled', 200);
    expect(await pending.status).toBeNull();
    const cancelled = await watch.wait(ids[3]!, 'ended', null);
    cancelled.cancel();
    expect(await cancelled.status).toBeNull();
  });

  it("ignores another rule's notification", async () => {
    const mine = await watch.wait(ids[4]!, 'settled', 1500);
    await setStatus(ids[5]!, 'active');
    await notifyRuleStatus(handle.db, ids[5]!, 'active');
    expect(await mine.status).toBeNull();
  });
});
