// Scrubbing integrations through the API, each diversion a `scrubbing:<id>` workflow,
// against a local server implementing the provider's documented API (Vultr here): the
// provider's state after announce, withdraw, a TTL, drift, the worker stopped (shut down
// gracefully, in this process) mid-diversion, failures and refused credentials. A worker
// process killed with SIGKILL mid-diversion: test/scrubbing-kill.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startVultrApi, type VultrApi } from './support/vultr-api.js';

const INSTANCES = Array.from({ length: 32 }, (_, i) => `cb676a46-66fd-4dfb-b839-443f2e6c0b${String(i).padStart(2, '0')}`);

let stack: Stack;
let vultr: VultrApi;
let user: { call: Caller };
let other: { call: Caller };
let next = 0;

beforeAll(async () => {
  stack = await startStack(inject('env'), { scrubbingWatchSeconds: 1 });
  vultr = await startVultrApi(INSTANCES);
  user = await stack.tenant();
  other = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
  await vultr?.close();
});
beforeEach(() => {
  vultr.applyAfterReads = 0;
  vultr.failNext(0);
});

/** A Vultr integration on an instance of its own. */
async function integration(extra: Record<string, unknown> = {}) {
  const instance = INSTANCES[next++]!;
  const res = await user.call('POST', '/api/v1/scrubbing', {
    type: 'vultr',
    name: `vultr ${instance.slice(-2)}`,
    config: { prefixes: [`203.0.113.${next}/32`], instance_id: instance },
    credentials: { api_key: vultr.apiKey },
    base_url: vultr.baseUrl,
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { id: res.body.integration.id as number, instance, prefix: `203.0.113.${next}/32` };
}
const row = async (id: number) => (await user.call('GET', '/api/v1/scrubbing')).body.integrations.find((i: { id: number }) => i.id === id);

describe('scrubbing integrations', () => {
  it('saves an integration with its config checked per type, and never returns its credentials', async () => {
    const { id } = await integration();
    const listed = await user.call('GET', '/api/v1/scrubbing');
    expect(listed.body.integrations).toContainEqual(expect.objectContaining({ id, type: 'vultr', provider: 'vultr', status: 'inactive', credentials_set: true }));
    expect(JSON.stringify(listed.body)).not.toContain(vultr.apiKey);
    // Another workspace sees none of it.
    expect((await other.call('GET', '/api/v1/scrubbing')).body.integrations).toEqual([]);
    expectError(await other.call('POST', `/api/v1/scrubbing/${id}/announce`), 404, 'not_found');
    expectError(await other.call('DELETE', `/api/v1/scrubbing/${id}`), 404, 'not_found');
  });

  it.each([
    [{ config: { prefixes: ['203.0.113.1/32'] } }, 'config.instance_id'],
    [{ config: { prefixes: [], instance_id: INSTANCES[0] } }, 'config.prefixes'],
    [{ config: { prefixes: ['203.0.113.5/24'], instance_id: INSTANCES[0] } }, 'host bits'],
    [{ config: { prefixes: ['203.0.113.1/32'], instance_id: INSTANCES[0], extra: 1 } }, 'config'],
    [{ credentials: undefined }, 'credentials'],
    [{ credentials: { token: 'x' } }, 'credentials'],
    [{ base_url: 'http://169.254.169.254/v2' }, 'base_url'],
    [{ base_url: 'http://user:pw@127.0.0.1/v2' }, 'base_url'],
  ])('refuses %j (400, naming the field)', async (patch, field) => {
    const body = {
      type: 'vultr',
      name: 'bad',
      config: { prefixes: ['203.0.113.1/32'], instance_id: INSTANCES[0] },
      credentials: { api_key: vultr.apiKey },
      base_url: vultr.baseUrl,
      ...patch,
    };
    expectError(await user.call('POST', '/api/v1/scrubbing', body), 400, 'invalid_parameter', field);
  });

  it.each([
    ['ovh_mitigation', { prefixes: ['203.0.113.1/32'], rules: [{ protocol: 'udp' }] }, 'config.ip_block'],
    ['digitalocean', { prefixes: ['203.0.113.1/32'], firewall_id: 'cb676a46-66fd-4dfb-b839-443f2e6c0b60', close: [{ protocol: 'icmp', ports: '80' }] }, 'config.close.0.ports'],
    ['cloudflare_waf', { prefixes: ['203.0.113.1/32'], zone_id: '0123456789abcdef0123456789abcdef', sources: ['10.0.0.0/8'] }, 'config.sources.0'],
    ['linode', { prefixes: ['203.0.113.1/32'], firewall_id: 'fw-1', rules: [{ protocol: 'udp' }] }, 'config.firewall_id'],
  ])('checks each type’s own config: %s', async (type, config, field) => {
    expectError(await user.call('POST', '/api/v1/scrubbing', { type, name: type, config, credentials: {} }), 400, 'invalid_parameter', field);
  });

  it('tests credentials and reachability, and never retries a refused key', async () => {
    const { id } = await integration();
    const good = await user.call('POST', `/api/v1/scrubbing/${id}/test`);
    expect(good.body).toMatchObject({ ok: true, success: true });
    expect(good.body.latency_ms).toBeGreaterThanOrEqual(0);
    const bad = await integration({ credentials: { api_key: 'WRONGKEY0000' } });
    const before = vultr.requests.length;
    const refused = await user.call('POST', `/api/v1/scrubbing/${bad.id}/test`);
    expect(refused.body).toMatchObject({ ok: true, success: false });
    expect(refused.body.error).toContain('401');
    expect(vultr.requests.slice(before)).toEqual(['GET /v2/account']);
  });
});

describe('diversions', () => {
  it('announces once the provider confirms, shows it in status, and withdraws', async () => {
    const { id, instance } = await integration();
    vultr.applyAfterReads = 3; // applied asynchronously: confirmed by polling
    const res = await user.call('POST', `/api/v1/scrubbing/${id}/announce`, { reason: 'UDP flood' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ ok: true, status: 'active', provider: 'vultr', message: 'Traffic diversion activated', workflow_id: `scrubbing:${id}` });
    expect(vultr.protectedNow(instance)).toBe(true);
    // Announcing again finds the running diversion.
    const patches = vultr.requests.filter((r) => r.startsWith('PATCH')).length;
    expect((await user.call('POST', `/api/v1/scrubbing/${id}/announce`)).body.status).toBe('active');
    expect(vultr.requests.filter((r) => r.startsWith('PATCH')).length).toBe(patches);

    const status = await user.call('GET', `/api/v1/scrubbing/${id}/status`);
    expect(status.body).toMatchObject({ ok: true, status: 'active', provider: 'vultr', diverting: true, health: { reachable: true } });
    expect(status.body.integration.workflow_id).toBe(`scrubbing:${id}`);

    vultr.applyAfterReads = 2;
    const withdrawn = await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    expect(withdrawn.body).toEqual({ ok: true, status: 'inactive', message: 'Traffic diversion withdrawn' });
    expect(vultr.protectedNow(instance)).toBe(false);
    expect(await row(id)).toMatchObject({ status: 'inactive', status_reason: 'withdrawn by API request', workflow_id: null });
    // Announced again at once: a new diversion, not the one still finishing.
    for (let i = 0; i < 3; i++) {
      expect((await user.call('POST', `/api/v1/scrubbing/${id}/announce`)).body.status).toBe('active');
      expect(vultr.protectedNow(instance)).toBe(true);
      expect((await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`)).body.status).toBe('inactive');
      expect(vultr.protectedNow(instance)).toBe(false);
    }
    // Withdrawing again is fine (the run may still be finishing, or gone: "No diversion was running").
    expect((await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`, undefined, { 'content-type': 'application/json' })).body.status).toBe('inactive');
  });

  it.each([
    [{ ttl: -1 }, 'ttl must be 0-2592000 seconds'],
    [{ ttl: 1.5 }, 'ttl must be a whole number'],
    [{ ttl: '60' }, 'ttl must be a number'],
    [{ color: 'red' }, 'color'],
  ])('refuses announcing with %j', async (body, mention) => {
    const { id } = await integration();
    expectError(await user.call('POST', `/api/v1/scrubbing/${id}/announce`, body), 400, 'invalid_parameter', mention);
  });

  it('ends on its TTL', async () => {
    const { id, instance } = await integration();
    expect((await user.call('POST', `/api/v1/scrubbing/${id}/announce`, { ttl: 2 })).body.status).toBe('active');
    await expect.poll(async () => (await row(id)).status, { timeout: 15_000 }).toBe('inactive');
    expect((await row(id)).status_reason).toBe('ttl expired');
    expect(vultr.protectedNow(instance)).toBe(false);
  });

  it('never diverts a prefix that covers an allowlisted address', async () => {
    const { id, instance, prefix } = await integration();
    await user.call('POST', '/api/v1/allowlist', { ip_address: prefix.replace('/32', ''), label: 'monitoring' });
    expectError(await user.call('POST', `/api/v1/scrubbing/${id}/announce`), 400, 'invalid_parameter', 'allowlisted');
    expect(vultr.protectedNow(instance)).toBe(false);
  });

  it('records drift when the diversion is turned off in the provider’s console', async () => {
    const { id, instance } = await integration();
    await user.call('POST', `/api/v1/scrubbing/${id}/announce`);
    vultr.set(instance, false);
    await expect.poll(async () => (await row(id)).status_reason ?? '', { timeout: 10_000 }).toContain('drift');
    expect((await row(id)).status).toBe('active');
    await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    expect(vultr.protectedNow(instance)).toBe(false);
  });

  it('ends failed with the provider’s error when it keeps failing, and leaves nothing on', async () => {
    const { id, instance } = await integration();
    vultr.failNext(1000, 503);
    const res = await user.call('POST', `/api/v1/scrubbing/${id}/announce`);
    vultr.failNext(0);
    expectError(res, 502, 'adapter_error', '503');
    expect((await row(id)).status).toBe('failed');
    expect(vultr.protectedNow(instance)).toBe(false);
  }, 60_000);

  it('does not retry refused credentials (a provider may lock the caller out)', async () => {
    const { id, instance } = await integration({ credentials: { api_key: 'WRONGKEY0000' } });
    expectError(await user.call('POST', `/api/v1/scrubbing/${id}/announce`), 502, 'adapter_error', '401');
    await new Promise((r) => setTimeout(r, 2000));
    expect(vultr.requests.filter((r) => r === `PATCH /v2/instances/${instance}`)).toHaveLength(1);
  });

  it('survives its worker being stopped mid-diversion: the provider is turned off after all', async () => {
    const { id, instance } = await integration();
    await user.call('POST', `/api/v1/scrubbing/${id}/announce`);
    await stack.stopWorker();
    await stack.startWorker();
    expect(vultr.protectedNow(instance)).toBe(true);
    // The new worker picks the diversion up (an activity the old one left may first have to time out).
    const res = await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    expect(['inactive', 'deactivating']).toContain(res.body.status);
    await expect.poll(() => vultr.protectedNow(instance), { timeout: 60_000, interval: 500 }).toBe(false);
    await expect.poll(async () => (await row(id)).status, { timeout: 10_000 }).toBe('inactive');
  }, 90_000);

  it('deleting an integration ends its diversion first', async () => {
    const { id, instance } = await integration();
    await user.call('POST', `/api/v1/scrubbing/${id}/announce`);
    expect(vultr.protectedNow(instance)).toBe(true);
    const deleted = await user.call('DELETE', `/api/v1/scrubbing/${id}`);
    expect(deleted.body, JSON.stringify(deleted.body)).toEqual({ ok: true, deleted: id });
    expect(vultr.protectedNow(instance)).toBe(false);
    expectError(await user.call('GET', `/api/v1/scrubbing/${id}/status`), 404, 'not_found');
  });
});
