// Every built scrubbing provider type through the same diversion cycle, by the API and the
// `scrubbing:<id>` workflow, against local stand-ins of the providers' documented APIs
// (test/support/*-api.ts): the provider's own state after announce, withdraw, a TTL,
// drift, a worker stopped mid-diversion, a provider that keeps failing, and refused
// credentials. Each scenario runs every built type at once; a failure names the type.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ProviderStandIn } from './support/provider-stand-in.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startAllStandIns } from './support/stand-ins.js';

let stack: Stack;
let providers: ProviderStandIn[];
let user: { call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'), { scrubbingWatchSeconds: 1 });
  providers = await startAllStandIns();
  user = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all((providers ?? []).map((p) => p.close()));
});

interface Made {
  p: ProviderStandIn;
  id: number;
  config: Record<string, unknown>;
}

/** An integration against `p`'s stand-in, on a resource of its own. */
async function integration(p: ProviderStandIn, credentials?: Record<string, unknown>): Promise<Made> {
  const made = p.integration();
  const res = await user.call('POST', '/api/v1/scrubbing', { type: p.type, name: `${p.type} test`, config: made.config, credentials: credentials ?? made.credentials, base_url: p.baseUrl });
  expect(res.status, `${p.type}: ${JSON.stringify(res.body)}`).toBe(200);
  return { p, id: res.body.integration.id, config: made.config };
}
/** Runs `scenario` for every provider at once. */
const everyProvider = (scenario: (p: ProviderStandIn) => Promise<void>) => Promise.all(providers.map((p) => scenario(p)));
const row = async (id: number) => (await user.call('GET', '/api/v1/scrubbing')).body.integrations.find((i: { id: number }) => i.id === id);
const announce = (m: Made, body?: unknown) => user.call('POST', `/api/v1/scrubbing/${m.id}/announce`, body);
const withdraw = (m: Made) => user.call('POST', `/api/v1/scrubbing/${m.id}/withdraw`);

describe('every scrubbing provider', () => {
  it('tests credentials and reachability', () =>
    everyProvider(async (p) => {
      const good = await integration(p);
      const res = await user.call('POST', `/api/v1/scrubbing/${good.id}/test`);
      expect(res.body, p.type).toMatchObject({ ok: true, success: true });
      const bad = await integration(p, p.badCredentials());
      const refused = await user.call('POST', `/api/v1/scrubbing/${bad.id}/test`);
      expect(refused.body, p.type).toMatchObject({ ok: true, success: false });
    }));

  it('diverts once the provider confirms, reports it, and withdraws', () =>
    everyProvider(async (p) => {
      const m = await integration(p);
      p.applyAfterReads = 2; // applied asynchronously: confirmed by polling
      const res = await announce(m, { reason: 'volumetric attack' });
      expect(res.body, p.type).toMatchObject({ ok: true, status: 'active', provider: p.type });
      expect(p.diverting(m.config), p.type).toBe('on');
      expect((await user.call('GET', `/api/v1/scrubbing/${m.id}/status`)).body, p.type).toMatchObject({ status: 'active', diverting: true, health: { reachable: true } });
      const withdrawn = await withdraw(m);
      expect(withdrawn.body, p.type).toMatchObject({ ok: true, status: 'inactive' });
      expect(p.diverting(m.config), p.type).toBe('off');
      p.applyAfterReads = 0;
    }));

  it('ends on its TTL', () =>
    everyProvider(async (p) => {
      const m = await integration(p);
      expect((await announce(m, { ttl: 2 })).body.status, p.type).toBe('active');
      await expect.poll(async () => (await row(m.id)).status, { timeout: 20_000, message: p.type }).toBe('inactive');
      expect((await row(m.id)).status_reason, p.type).toBe('ttl expired');
      expect(p.diverting(m.config), p.type).toBe('off');
    }));

  it('records drift when the diversion is undone in the provider’s console, and still withdraws', () =>
    everyProvider(async (p) => {
      const m = await integration(p);
      expect((await announce(m)).body.status, p.type).toBe('active');
      p.turnOff(m.config);
      await expect.poll(async () => ((await row(m.id)).status_reason ?? '') as string, { timeout: 15_000, message: p.type }).toContain('drift');
      expect((await withdraw(m)).body.status, p.type).toBe('inactive');
      expect(p.diverting(m.config), p.type).toBe('off');
    }));

  it('never retries refused credentials (some providers lock the caller out)', () =>
    everyProvider(async (p) => {
      const m = await integration(p, p.badCredentials());
      const before = p.requests.length;
      const res = await announce(m);
      expect(res.status, `${p.type}: ${JSON.stringify(res.body)}`).toBe(502);
      await new Promise((r) => setTimeout(r, 2000));
      const made = p.requests.slice(before);
      expect(made.length, p.type).toBeGreaterThan(0);
      expect(new Set(made).size, `${p.type}: ${made.join(', ')}`).toBe(made.length);
      expect(p.diverting(m.config), p.type).toBe('off');
      expect((await row(m.id)).status, p.type).toBe('failed');
    }));

  it('ends failed with the provider’s error when it keeps failing, and leaves nothing on', () =>
    everyProvider(async (p) => {
      const m = await integration(p);
      p.failNext(1000, 503);
      const res = await announce(m);
      p.failNext(0);
      expect(res.status, `${p.type}: ${JSON.stringify(res.body)}`).toBe(502);
      expect(res.body.error.message, p.type).toContain('503');
      expect((await row(m.id)).status, p.type).toBe('failed');
      expect(p.diverting(m.config), p.type).toBe('off');
    }), 90_000);

  it('survives its worker being stopped mid-diversion: every provider is turned off after all', async () => {
    const made = await Promise.all(providers.map((p) => integration(p)));
    for (const m of await Promise.all(made.map(async (m) => ({ m, res: await announce(m) })))) expect(m.res.body.status, m.m.p.type).toBe('active');
    await stack.stopWorker();
    await stack.startWorker();
    for (const m of made) expect(m.p.diverting(m.config), m.p.type).toBe('on');
    await Promise.all(made.map((m) => withdraw(m)));
    for (const m of made) {
      await expect.poll(() => m.p.diverting(m.config), { timeout: 60_000, interval: 500, message: m.p.type }).toBe('off');
      await expect.poll(async () => (await row(m.id)).status, { timeout: 10_000, message: m.p.type }).toBe('inactive');
    }
  }, 120_000);
});
