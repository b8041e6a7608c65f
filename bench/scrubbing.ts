// Benchmark: a scrubbing announce (and withdraw) through the whole stack (API, Temporal,
// worker, provider client) until the provider's state changed, per provider, against the
// local stand-ins of their APIs the tests use. Run by hand:
//   npm run bench:scrubbing [-- --runs 50]
import { parseArgs } from 'node:util';
import { startCloudflareApi } from '../test/support/cloudflare-api.js';
import { createTestEnv } from '../test/support/env.js';
import { startStack, type Caller } from '../test/support/stack.js';
import { startVultrApi } from '../test/support/vultr-api.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
const line = (label: string, xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${label.padEnd(52)} n=${s.length}  p50 ${pct(s, 50).toFixed(1)} ms  p95 ${pct(s, 95).toFixed(1)} ms  max ${s.at(-1)!.toFixed(1)} ms`;
};

/** Time from the request to the moment `changed()` holds (polled every millisecond). */
async function until(changed: () => boolean, t0: number): Promise<number> {
  while (!changed()) await new Promise((r) => setTimeout(r, 1));
  return performance.now() - t0;
}

async function run(label: string, call: Caller, id: number, on: () => boolean) {
  const toProvider: number[] = [];
  const toAnswer: number[] = [];
  const offProvider: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    const answered = call('POST', `/api/v1/scrubbing/${id}/announce`).then((r) => {
      if (r.status !== 200) throw new Error(`announce: ${r.status} ${JSON.stringify(r.body)}`);
      return performance.now() - t0;
    });
    toProvider.push(await until(on, t0));
    toAnswer.push(await answered);
    t0 = performance.now();
    const withdrawn = call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    offProvider.push(await until(() => !on(), t0));
    await withdrawn;
  }
  console.log(line(`${label}: announce -> provider state changed`, toProvider));
  console.log(line(`${label}: announce -> API answered active`, toAnswer));
  console.log(line(`${label}: withdraw -> provider state changed`, offProvider));
}

async function main() {
  console.log(`bench: ${RUNS} announce/withdraw rounds per provider, local provider stand-ins`);
  const { env, teardown } = await createTestEnv('bench');
  const stack = await startStack(env);
  const vultr = await startVultrApi(['cb676a46-66fd-4dfb-b839-443f2e6c0b60']);
  const cf = await startCloudflareApi(['203.0.113.0/24']);
  try {
    const { call } = await stack.tenant({ rateLimit: 1_000_000 });
    const save = async (body: unknown) => (await call('POST', '/api/v1/scrubbing', body)).body.integration.id as number;
    const v = await save({ type: 'vultr', name: 'v', config: { prefixes: ['203.0.113.10/32'], instance_id: 'cb676a46-66fd-4dfb-b839-443f2e6c0b60' }, credentials: { api_key: vultr.apiKey }, base_url: vultr.baseUrl });
    const c = await save({ type: 'cloudflare_magic_transit', name: 'c', config: { prefixes: ['203.0.113.0/24'], account_id: cf.accountId }, credentials: { api_token: cf.apiToken }, base_url: cf.baseUrl });
    await run('vultr', call, v, () => vultr.protectedNow('cb676a46-66fd-4dfb-b839-443f2e6c0b60'));
    await run('cloudflare_magic_transit', call, c, () => cf.advertised('203.0.113.0/24'));
  } finally {
    await stack.stop();
    await vultr.close();
    await cf.close();
    await teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
