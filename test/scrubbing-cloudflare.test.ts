// Cloudflare Magic Transit on demand through the scrubbing API, against a local stand-in of
// Cloudflare's API: every configured prefix advertised while the diversion runs and none
// after, asynchronous application waited out, a prefix the account does not have and a
// refused token never retried. Records the diversion's replay fixture.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { startCloudflareApi, type CloudflareApi } from './support/cloudflare-api.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

const CIDRS = ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24'];

let stack: Stack;
let cf: CloudflareApi;
let user: { call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'), { scrubbingWatchSeconds: 1 });
  cf = await startCloudflareApi(CIDRS);
  user = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
  await cf?.close();
});

async function integration(prefixes: string[], token = cf.apiToken) {
  const res = await user.call('POST', '/api/v1/scrubbing', {
    type: 'cloudflare_magic_transit',
    name: 'magic transit',
    config: { prefixes, account_id: cf.accountId },
    credentials: { api_token: token },
    base_url: cf.baseUrl,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.integration.id as number;
}

describe('cloudflare_magic_transit', () => {
  it('advertises every prefix once Cloudflare confirms, and withdraws them all', async () => {
    const id = await integration(CIDRS.slice(0, 2));
    expect((await user.call('POST', `/api/v1/scrubbing/${id}/test`)).body).toMatchObject({ success: true });
    cf.applyAfterReads = 2;
    const res = await user.call('POST', `/api/v1/scrubbing/${id}/announce`, { reason: 'volumetric attack' });
    expect(res.body).toMatchObject({ ok: true, status: 'active', provider: 'cloudflare_magic_transit' });
    expect(CIDRS.slice(0, 2).map((c) => cf.advertised(c))).toEqual([true, true]);
    expect(cf.advertised(CIDRS[2]!)).toBe(false);
    expect((await user.call('GET', `/api/v1/scrubbing/${id}/status`)).body).toMatchObject({ status: 'active', diverting: true });

    const withdrawn = await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    expect(withdrawn.body).toMatchObject({ ok: true, status: 'inactive' });
    expect(CIDRS.map((c) => cf.advertised(c))).toEqual([false, false, false]);
    cf.applyAfterReads = 0;

    // Kept as a replay fixture: a diversion that waited for confirmation, held, and ended.
    const handle = stack.temporal.workflow.getHandle(`scrubbing:${id}`);
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('env').workflowBundlePath } }, history, handle.workflowId);
    if (process.env.RECORD_HISTORIES) {
      writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'histories', 'scrubbing-withdrawn.history.pb'), temporal.api.history.v1.History.encode(history).finish());
    }
  });

  it('records drift when one prefix stops being advertised behind its back', async () => {
    const id = await integration(CIDRS.slice(1, 3));
    await user.call('POST', `/api/v1/scrubbing/${id}/announce`);
    cf.set(CIDRS[2]!, false);
    await expect.poll(async () => ((await user.call('GET', '/api/v1/scrubbing')).body.integrations.find((i: { id: number }) => i.id === id).status_reason ?? '') as string, { timeout: 10_000 }).toContain(
      'drift: the provider reports the diversion partial',
    );
    await user.call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    expect(CIDRS.map((c) => cf.advertised(c))).toEqual([false, false, false]);
  });

  it('refuses a prefix the account does not have, and a refused token, without retrying', async () => {
    const unknown = await integration(['203.0.114.0/24']);
    expectError(await user.call('POST', `/api/v1/scrubbing/${unknown}/announce`), 502, 'adapter_error', 'no on-demand BGP prefix 203.0.114.0/24');
    const badToken = await integration(CIDRS.slice(0, 1), 'cf-wrong-token-000000000000');
    const before = cf.requests.length;
    expectError(await user.call('POST', `/api/v1/scrubbing/${badToken}/announce`), 502, 'adapter_error', 'Authentication error');
    await new Promise((r) => setTimeout(r, 1500));
    expect(cf.requests.slice(before)).toEqual([`GET /client/v4/accounts/${cf.accountId}/addressing/prefixes`]);
    expect(cf.advertised(CIDRS[0]!)).toBe(false);
  });
});
