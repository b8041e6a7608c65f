// Benchmark-sized fuzz: many seeds of mutated requests over every endpoint
// (test/support/fuzz.ts), against a real stack; prints what broke the contract, if
// anything, and the request rate. Run by hand:
//   npm run bench:fuzz [-- --seeds 50 --requests 500 --first-seed 1000]
import { parseArgs } from 'node:util';
import { createTestEnv } from '../test/support/env.js';
import { fuzzApi, prepareFuzz, type FuzzFailure } from '../test/support/fuzz.js';
import { startStack } from '../test/support/stack.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';

const { values } = parseArgs({
  options: { seeds: { type: 'string', default: '50' }, requests: { type: 'string', default: '500' }, 'first-seed': { type: 'string', default: '1000' } },
});
const seeds = Number(values.seeds);
const requests = Number(values.requests);
const first = Number(values['first-seed']);

const { env, teardown } = await createTestEnv('fuzz');
const stack = await startStack(env, { commandWaitMs: 100, announceWaitMs: 5000 });
const hooks = await startWebhookReceiver();
const failures: Array<FuzzFailure & { seed: number }> = [];
const t0 = performance.now();
try {
  for (let seed = first; seed < first + seeds; seed++) {
    // A fresh workspace per seed: deletes in one seed must not starve the next of real ids.
    const target = await prepareFuzz(stack, hooks.url);
    for (const f of await fuzzApi({ ...target, seed, requests })) failures.push({ ...f, seed });
    process.stdout.write(`seed ${seed}: ${failures.length} failures so far\n`);
  }
} finally {
  await stack.stop();
  await hooks.close();
  await teardown();
}
const seconds = (performance.now() - t0) / 1000;
console.log(`fuzz: ${seeds} seeds x ${requests} requests = ${seeds * requests} requests in ${seconds.toFixed(0)} s (${((seeds * requests) / seconds).toFixed(0)}/s), ${failures.length} broke the contract`);
for (const f of failures.slice(0, 20)) console.log(`  seed ${f.seed}: ${f.status} ${f.request}\n    ${f.body}`);
process.exit(failures.length === 0 ? 0 : 1);
