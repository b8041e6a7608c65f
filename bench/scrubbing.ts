// Benchmark: a scrubbing announce (and withdraw) through the whole stack (API, Temporal,
// worker, provider client) until the provider's state changed, for every provider type,
// against the local stand-ins of their APIs the tests use (test/support/stand-ins.ts).
// Run by hand:
//   npm run bench:scrubbing [-- --runs 50]
import { parseArgs } from 'node:util';
import { createTestEnv } from '../test/support/env.js';
import type { ProviderStandIn } from '../test/support/provider-stand-in.js';
import { startStack, type Caller } from '../test/support/stack.js';
import { startAllStandIns } from '../test/support/stand-ins.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const RUNS = Number(values.runs);
const line = (label: string, xs: number[]) => latencyLine(label, xs, 58);

/** Time from `t0` to the moment `changed()` holds (polled every millisecond). */
async function until(changed: () => boolean, t0: number): Promise<number> {
  while (!changed()) await new Promise((r) => setTimeout(r, 1));
  return performance.now() - t0;
}

async function run(call: Caller, p: ProviderStandIn) {
  const made = p.integration();
  const saved = await call('POST', '/api/v1/scrubbing', { type: p.type, name: p.type, config: made.config, credentials: made.credentials, base_url: p.baseUrl });
  if (saved.status !== 200) throw new Error(`${p.type}: ${JSON.stringify(saved.body)}`);
  const id = saved.body.integration.id as number;
  const on = () => p.diverting(made.config) === 'on';
  const toProvider: number[] = [];
  const toAnswer: number[] = [];
  const offProvider: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    const answered = call('POST', `/api/v1/scrubbing/${id}/announce`).then((r) => {
      if (r.status !== 200) throw new Error(`${p.type} announce: ${r.status} ${JSON.stringify(r.body)}`);
      return performance.now() - t0;
    });
    toProvider.push(await until(on, t0));
    toAnswer.push(await answered);
    t0 = performance.now();
    const withdrawn = call('POST', `/api/v1/scrubbing/${id}/withdraw`);
    offProvider.push(await until(() => p.diverting(made.config) === 'off', t0));
    await withdrawn;
  }
  console.log(line(`${p.type}: announce -> provider state changed`, toProvider));
  console.log(line(`${p.type}: announce -> API answered active`, toAnswer));
  console.log(line(`${p.type}: withdraw -> provider state changed`, offProvider));
}

async function main() {
  console.log(`bench: ${RUNS} announce/withdraw rounds per provider, local provider stand-ins`);
  const { env, teardown } = await createTestEnv('bench');
  const stack = await startStack(env);
  const providers = await startAllStandIns();
  try {
    const { call } = await stack.tenant({ rateLimit: 1_000_000 });
    for (const p of providers) await run(call, p);
  } finally {
    await stack.stop();
    await Promise.all(providers.map((p) => p.close()));
    await teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
