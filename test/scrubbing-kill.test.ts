// A diversion survives its worker killed with SIGKILL: the worker runs as a process of its
// own (`npm run worker`'s entry point, test/support/deployment.ts) beside the test's API,
// against the run's Temporal server and database, and is killed -9 mid-diversion, then a new
// worker process is started. Killed once while the provider (a Vultr stand-in) is still
// applying a diversion on and another off, and once while diversions are held, one of them
// with a TTL that runs out while no worker lives: the provider ends diverted while held and
// off after withdraw or TTL, never enabled twice, and the integration's row and status agree.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { killGroup, startWorkerProcess } from './support/deployment.js';
import { startStack, TEST_SECRET_KEY, type Caller, type Stack } from './support/stack.js';
import { startVultrApi, type VultrApi } from './support/vultr-api.js';

const INSTANCES = Array.from({ length: 4 }, (_, i) => `5f0c1d2e-3b4a-4c5d-8e6f-7a8b9c0d1e0${i}`);
const TTL_SECONDS = 4;

let stack: Stack;
let vultr: VultrApi;
let user: { call: Caller };
let worker: ChildProcess | undefined;
let next = 0;
const env = inject('env');
const dir = mkdtempSync(join(env.workDir, 'scrubbing-kill-'));

/** A worker process on the stack's task queue; resolves once it runs. */
const startWorker = () => startWorkerProcess({ env, taskQueue: stack.taskQueue, secretKey: TEST_SECRET_KEY, dir, extraEnv: { PRIVATE_HTTP_TARGETS: 'allow' } });

beforeAll(async () => {
  stack = await startStack(env, { scrubbingWatchSeconds: 1 });
  // Only the worker process serves the stack's task queue.
  await stack.stopWorker();
  vultr = await startVultrApi(INSTANCES);
  user = await stack.tenant();
  worker = await startWorker();
});
afterAll(async () => {
  await killGroup(worker);
  await stack?.stop();
  await vultr?.close();
});

async function integration() {
  const instance = INSTANCES[next++]!;
  const res = await user.call('POST', '/api/v1/scrubbing', {
    type: 'vultr',
    name: `killed ${next}`,
    config: { prefixes: [`198.51.100.${next}/32`], instance_id: instance },
    credentials: { api_key: vultr.apiKey },
    base_url: vultr.baseUrl,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.integration.id as number, instance };
}
const row = async (id: number) => (await user.call('GET', '/api/v1/scrubbing')).body.integrations.find((i: { id: number }) => i.id === id);
/** The instance was last switched `on` and polled since: the workflow has recorded the switch and now waits for it to apply. */
const polledSinceSwitch = (instance: string, on: boolean) => {
  const i = vultr.requests.lastIndexOf(`PATCH /v2/instances/${instance}`);
  return vultr.switches(instance).at(-1) === on && vultr.requests.slice(i + 1).includes(`GET /v2/instances/${instance}`);
};
async function killWorker() {
  await killGroup(worker);
  expect(worker!.signalCode).toBe('SIGKILL');
  worker = undefined;
}
/** The row, and the status endpoint asking the provider, both say `status` and whether it diverts. */
async function agree(id: number, status: string, diverting: boolean) {
  const res = await user.call('GET', `/api/v1/scrubbing/${id}/status`);
  expect(res.body).toMatchObject({ ok: true, status, diverting, integration: { status } });
}

it('killed -9 while the provider applies a diversion on and another off: both finish, nothing switched twice', async () => {
  const turningOn = await integration();
  const turningOff = await integration();
  expect((await user.call('POST', `/api/v1/scrubbing/${turningOff.id}/announce`)).body.status).toBe('active');

  vultr.applyAfterReads = 6; // each change applies after six status reads, ~12 s of polling
  const announcing = user.call('POST', `/api/v1/scrubbing/${turningOn.id}/announce`, { reason: 'kill test' });
  const withdrawing = user.call('POST', `/api/v1/scrubbing/${turningOff.id}/withdraw`);
  await expect.poll(() => polledSinceSwitch(turningOn.instance, true) && polledSinceSwitch(turningOff.instance, false), { timeout: 30_000, interval: 50 }).toBe(true);
  // Each diversion's next status read is left unanswered, so the worker dies inside an
  // activity: the new one waits for the server to time it out, then polls on.
  const asked = vultr.requests.length;
  vultr.failNext(2, 0);
  await expect.poll(() => vultr.requests.length - asked, { timeout: 30_000, interval: 50 }).toBe(2);
  expect(vultr.requests.slice(asked).sort()).toEqual([`GET /v2/instances/${turningOn.instance}`, `GET /v2/instances/${turningOff.instance}`].sort());
  await killWorker();
  // Killed mid-flight: both changes asked for, neither applied yet.
  expect([vultr.applying(turningOn.instance), vultr.protectedNow(turningOn.instance)]).toEqual([true, false]);
  expect([vultr.applying(turningOff.instance), vultr.protectedNow(turningOff.instance)]).toEqual([false, true]);
  expect((await row(turningOn.id)).status).toBe('activating');
  expect((await row(turningOff.id)).status).toBe('deactivating');

  worker = await startWorker();
  // The API's requests waited through it (or answered 202 after 30 s).
  expect(['active', 'activating']).toContain((await announcing).body.status);
  expect(['inactive', 'deactivating']).toContain((await withdrawing).body.status);
  await expect.poll(async () => (await row(turningOn.id)).status, { timeout: 90_000, interval: 500 }).toBe('active');
  await expect.poll(async () => (await row(turningOff.id)).status, { timeout: 90_000, interval: 500 }).toBe('inactive');
  expect(await row(turningOff.id)).toMatchObject({ status_reason: 'withdrawn by API request', workflow_id: null });
  expect(vultr.protectedNow(turningOn.instance)).toBe(true);
  expect(vultr.protectedNow(turningOff.instance)).toBe(false);
  // The new worker carried on from the recorded history: no enable (or disable) asked twice.
  expect(vultr.switches(turningOn.instance)).toEqual([true]);
  expect(vultr.switches(turningOff.instance)).toEqual([true, false]);
  await agree(turningOn.id, 'active', true);
  await agree(turningOff.id, 'inactive', false);

  vultr.applyAfterReads = 0;
  expect((await user.call('POST', `/api/v1/scrubbing/${turningOn.id}/withdraw`)).body.status).toBe('inactive');
  expect(vultr.protectedNow(turningOn.instance)).toBe(false);
  expect(vultr.switches(turningOn.instance)).toEqual([true, false]);
}, 300_000);

it('killed -9 while diversions are held: held stays diverted, a TTL that ran out meanwhile is turned off by the next worker', async () => {
  vultr.applyAfterReads = 0;
  const held = await integration();
  const expiring = await integration();
  expect((await user.call('POST', `/api/v1/scrubbing/${held.id}/announce`)).body.status).toBe('active');
  expect((await user.call('POST', `/api/v1/scrubbing/${expiring.id}/announce`, { ttl: TTL_SECONDS })).body.status).toBe('active');
  await killWorker();
  expect((await row(expiring.id)).status).toBe('active');
  // The TTL runs out with no worker alive: nothing turns the provider off yet.
  await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000));
  expect(vultr.protectedNow(expiring.instance)).toBe(true);
  expect((await row(expiring.id)).status).toBe('active');

  worker = await startWorker();
  await expect.poll(async () => (await row(expiring.id)).status, { timeout: 90_000, interval: 500 }).toBe('inactive');
  expect(await row(expiring.id)).toMatchObject({ status_reason: 'ttl expired', workflow_id: null });
  expect(vultr.protectedNow(expiring.instance)).toBe(false);
  expect(vultr.switches(expiring.instance)).toEqual([true, false]);
  await agree(expiring.id, 'inactive', false);

  // The held one is still held by the new worker, as it was.
  expect(vultr.protectedNow(held.instance)).toBe(true);
  expect(await row(held.id)).toMatchObject({ status: 'active', workflow_id: `scrubbing:${held.id}` });
  expect((await row(held.id)).status_reason ?? '').not.toContain('drift');
  await agree(held.id, 'active', true);
  expect(['inactive', 'deactivating']).toContain((await user.call('POST', `/api/v1/scrubbing/${held.id}/withdraw`)).body.status);
  await expect.poll(async () => (await row(held.id)).status, { timeout: 60_000, interval: 500 }).toBe('inactive');
  expect((await row(held.id)).status_reason).toBe('withdrawn by API request');
  expect(vultr.protectedNow(held.instance)).toBe(false);
  expect(vultr.switches(held.instance)).toEqual([true, false]);
}, 300_000);
