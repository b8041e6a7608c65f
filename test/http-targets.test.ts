// Where HTTP integrations may connect: link-local (cloud metadata) never, loopback and
// private ranges only where the deployment allows them, credentials never in a URL; checked
// when an adapter is saved and again on the address the worker actually dials.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { guardedLookup } from '../activities/http-client.js';
import { mitigationAdapters } from '../db/schema.js';
import { classifyAddress, refuseTargetUrl } from '../domain/http-targets.js';
import { expectError } from './support/expect-error.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

describe('address classes', () => {
  it.each([
    ['169.254.169.254', 'link_local'],
    ['fe80::1', 'link_local'],
    ['::ffff:169.254.169.254', 'link_local'],
    ['::ffff:a9fe:a9fe', 'link_local'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.1', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['8.8.8.8', 'public'],
    ['2001:db8::1', 'public'],
    ['172.32.0.1', 'public'],
    ['example.com', null],
  ])('%s is %s', (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', true, 'link-local'],
    ['http://[::ffff:169.254.169.254]/', true, 'link-local'],
    ['http://[fe80::1]:8080/', true, 'link-local'],
    ['http://localhost:9/x', false, 'loopback'],
    ['http://LOCALHOST./x', false, 'loopback'],
    ['http://2130706433/x', false, 'loopback'],
    ['http://0x7f.1/x', false, 'loopback'],
    ['http://10.0.0.5/x', false, 'private'],
  ])('%s is refused (allowing private: %s): %s', (url, allowPrivate, reason) => {
    expect(refuseTargetUrl(new URL(url), { allowPrivate: false })).toContain(reason);
    if (allowPrivate) expect(refuseTargetUrl(new URL(url), { allowPrivate: true })).toContain(reason);
    else expect(refuseTargetUrl(new URL(url), { allowPrivate: true })).toBeNull();
  });

  it('a name is judged by what it resolves to, on the lookup the connection uses', async () => {
    const lookup = (allowPrivate: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; addresses: unknown }>((resolve) =>
        guardedLookup({ allowPrivate })('localhost', { all: true }, (err, addresses) => resolve({ err, addresses })),
      );
    const denied = await lookup(false);
    expect(denied.err?.code).toBe('ETARGETREFUSED');
    expect(denied.err?.message).toContain('loopback');
    const allowed = await lookup(true);
    expect(allowed.err).toBeNull();
    expect(allowed.addresses).toEqual(expect.arrayContaining([expect.objectContaining({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) })]));
  });
});

let hooks: WebhookReceiver;
let allowing: Stack;
let denying: Stack;
let open: Caller;
let strict: Caller;

beforeAll(async () => {
  hooks = await startWebhookReceiver();
  allowing = await startStack(inject('env'));
  denying = await startStack(inject('env'), { targets: { allowPrivate: false } });
  open = (await allowing.tenant()).call;
  strict = (await denying.tenant()).call;
});
afterAll(async () => {
  await allowing?.stop();
  await denying?.stop();
  await hooks?.close();
});

describe('saving an adapter', () => {
  it('refuses credentials in a URL, and never echoes them', async () => {
    const url = new URL(hooks.url);
    url.username = 'ops';
    url.password = 'hunter2';
    const res = await open('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'creds', endpoint: url.toString() });
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.message).toBe('endpoint must not carry credentials (user:password@); put the secret in auth_token');
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
  });

  it.each([
    ['webhook', 'http://169.254.169.254/latest/meta-data/'],
    ['webhook', 'http://[::ffff:a9fe:a9fe]/'],
    ['exabgp', '169.254.1.1:5000'],
    ['gobgp', '[fe80::1]:50051'],
  ])('refuses a link-local %s endpoint %s, whatever the deployment allows', async (type, endpoint) => {
    for (const call of [open, strict]) {
      const res = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: type, name: 'metadata', endpoint });
      expectError(res, 400, 'invalid_parameter');
      expect(res.body.error.message).toMatch(/^endpoint: .*link-local/);
    }
  });

  it('refuses loopback and private HTTP targets where the deployment allows only public ones, and allows them where it allows them', async () => {
    for (const endpoint of [hooks.url, 'http://10.0.0.5/hook', 'http://localhost:9/x']) {
      const res = await strict('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'inside', endpoint });
      expectError(res, 400, 'invalid_parameter');
      expect(res.body.error.message).toContain('PRIVATE_HTTP_TARGETS=deny');
      expect((await open('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'inside', endpoint })).status).toBe(200);
    }
    // A BGP speaker's bridge on the operator's network is not an HTTP integration.
    expect((await strict('POST', '/api/v1/mitigation/adapters', { adapter_type: 'exabgp', name: 'core', endpoint: '10.0.0.1:5000' })).status).toBe(200);
  });
});

describe('connecting', () => {
  it('the worker refuses a private target on the address it dials, whatever the row says, and sends nothing', async () => {
    const ws = (await denying.tenant()).call;
    // Saved where private targets were allowed (or written behind the API's back).
    const saved = await ws('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'public', endpoint: 'https://hooks.example.com/x' });
    expect(saved.status).toBe(200);
    const { eq } = await import('drizzle-orm');
    await denying.db.db.update(mitigationAdapters).set({ endpoint: hooks.url }).where(eq(mitigationAdapters.id, saved.body.adapter.id));
    const before = hooks.received.length;
    const test = await ws('POST', `/api/v1/mitigation/adapters/${saved.body.adapter.id}/test`);
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, success: false });
    expect(test.body.error).toContain('loopback');
    const rule = await ws('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.70', intent_type: 'blackhole', adapter_id: saved.body.adapter.id });
    expectError(rule, 502, 'adapter_error', 'loopback');
    expect(hooks.received.length).toBe(before);
  });
});
