// GET /mitigation/rules a page at a time: limit and offset, total, newest first, only live
// rules, only the workspace's own, and 400s naming the parameter. Rows are inserted
// straight into the database (test/support/rule-rows.ts): the list reads rows, not workflows.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { insertIdleAdapter, insertRuleRows } from './support/rule-rows.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let a: { call: Caller; live: number[] };
let b: { call: Caller; live: number[] };

const LIVE_A = 250;

beforeAll(async () => {
  stack = await startStack(inject('env'));
  const ta = await stack.tenant({ rateLimit: 100_000 });
  const tb = await stack.tenant({ rateLimit: 100_000 });
  const adapterA = await insertIdleAdapter(stack.db.db, ta.id);
  const adapterB = await insertIdleAdapter(stack.db.db, tb.id);
  // A: live rules of every live status, and ended ones that the list leaves out.
  const live = [
    ...(await insertRuleRows(stack.db.db, { workspaceId: ta.id, adapterId: adapterA, n: LIVE_A - 20, block: 1 })),
    ...(await insertRuleRows(stack.db.db, { workspaceId: ta.id, adapterId: adapterA, n: 10, block: 2, status: 'pending' })),
    ...(await insertRuleRows(stack.db.db, { workspaceId: ta.id, adapterId: adapterA, n: 10, block: 3, status: 'withdrawing' })),
  ];
  await insertRuleRows(stack.db.db, { workspaceId: ta.id, adapterId: adapterA, n: 30, block: 4, status: 'withdrawn' });
  await insertRuleRows(stack.db.db, { workspaceId: ta.id, adapterId: adapterA, n: 5, block: 5, status: 'failed' });
  // B: more rules than A, interleaved in id order with A's.
  const liveB = await insertRuleRows(stack.db.db, { workspaceId: tb.id, adapterId: adapterB, n: 400, block: 6 });
  a = { call: ta.call, live: live.sort((x, y) => y - x) };
  b = { call: tb.call, live: liveB.sort((x, y) => y - x) };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const ids = (body: { rules: Array<{ id: number }> }) => body.rules.map((r) => r.id);

describe('GET /mitigation/rules', () => {
  it('answers the first 100 live rules, newest first, with the total', async () => {
    const res = await a.call('GET', '/api/v1/mitigation/rules');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(LIVE_A);
    expect(ids(res.body)).toEqual(a.live.slice(0, 100));
    expect(res.body.rules[0]).toMatchObject({ intent_type: 'blackhole', status: expect.stringMatching(/^(pending|active|withdrawing)$/), workflow_id: `rule:${a.live[0]}` });
  });

  it('pages through every live rule exactly once', async () => {
    const seen: number[] = [];
    for (let offset = 0; ; offset += 70) {
      const res = await a.call('GET', `/api/v1/mitigation/rules?limit=70&offset=${offset}`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(LIVE_A);
      if (res.body.rules.length === 0) break;
      expect(res.body.rules.length).toBe(Math.min(70, LIVE_A - offset));
      seen.push(...ids(res.body));
    }
    expect(seen).toEqual(a.live);
  });

  it('answers an empty page past the end, with the total', async () => {
    const res = await a.call('GET', `/api/v1/mitigation/rules?offset=${LIVE_A}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, rules: [], total: LIVE_A });
  });

  it('takes limit 1 and limit 1000', async () => {
    expect(ids((await a.call('GET', '/api/v1/mitigation/rules?limit=1&offset=3')).body)).toEqual([a.live[3]]);
    const all = await a.call('GET', '/api/v1/mitigation/rules?limit=1000');
    expect(ids(all.body)).toEqual(a.live);
  });

  it('lists only the workspace’s own rules and counts only those', async () => {
    const resB = await b.call('GET', '/api/v1/mitigation/rules?limit=1000');
    expect(resB.body.total).toBe(400);
    expect(ids(resB.body)).toEqual(b.live);
    const resA = await a.call('GET', '/api/v1/mitigation/rules?limit=1000');
    expect(ids(resA.body).some((id) => b.live.includes(id))).toBe(false);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1e3', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=0x10', 'offset'],
    ['offset=1.5', 'offset'],
    ['offset=99999999999999999999', 'offset'],
    ['cursor=abc', 'cursor'],
  ])('refuses ?%s with a 400 naming %s', async (query, param) => {
    expectError(await a.call('GET', `/api/v1/mitigation/rules?${query}`), 400, 'invalid_parameter', param);
  });

  it('documents limit and offset in the OpenAPI document', async () => {
    const doc = (await a.call('GET', '/api/v1/openapi.json')).body;
    const params = doc.paths['/mitigation/rules'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['limit', 'offset']));
  });
});
