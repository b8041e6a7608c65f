// Benchmark: GET /mitigation/rules (paged) with 1k, 10k and 100k live rules in a workspace,
// the rows inserted straight into PostgreSQL (no workflows). Prints the latency per page
// size and offset (first page, middle, last), through HTTP, auth and rate limit included.
// Needs PostgreSQL on 127.0.0.1:5432 (TEST_POSTGRES_URL) like the tests; run by hand:
//   npx tsx bench/rules-list.ts [--sizes 1000,10000,100000] [--requests 30]
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { createTestEnv } from '../test/support/env.js';
import { insertIdleAdapter, insertRuleRows } from '../test/support/rule-rows.js';
import { startStack } from '../test/support/stack.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    requests: { type: 'string', default: '30' },
  },
});
const SIZES = values.sizes!.split(',').map(Number);
const REQUESTS = Number(values.requests);
const PAGE_SIZES = [10, 100, 1000];

async function main() {
  const { env, teardown } = await createTestEnv('bench');
  const stack = await startStack(env);
  try {
    // Every workspace's rows share the table, as they would in production.
    for (const [block, n] of SIZES.entries()) {
      const tenant = await stack.tenant({ rateLimit: 1_000_000 });
      const adapterId = await insertIdleAdapter(stack.db.db, tenant.id);
      let t0 = performance.now();
      await insertRuleRows(stack.db.db, { workspaceId: tenant.id, adapterId, n, block });
      await stack.db.db.execute(sql`analyze mitigation_rules`);
      console.log(`\n${n.toLocaleString('en')} live rules (inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      for (const limit of PAGE_SIZES) {
        const last = Math.max(0, Math.floor((n - 1) / limit) * limit);
        for (const [where, offset] of [['first', 0], ['middle', Math.floor(n / 2 / limit) * limit], ['last', last]] as const) {
          const path = `/api/v1/mitigation/rules?limit=${limit}&offset=${offset}`;
          const first = await tenant.call('GET', path); // warm-up, and the answer's size
          if (first.status !== 200 || first.body.total !== n) throw new Error(`${path}: ${first.status} ${JSON.stringify(first.body).slice(0, 200)}`);
          const bytes = JSON.stringify(first.body).length;
          const ms: number[] = [];
          for (let i = 0; i < REQUESTS; i++) {
            t0 = performance.now();
            await tenant.call('GET', path);
            ms.push(performance.now() - t0);
          }
          console.log(latencyLine(`  limit ${limit}, ${where} page (offset ${offset}), ${(bytes / 1024).toFixed(0)} KiB`, ms, 52));
        }
      }
    }
  } finally {
    await stack.stop();
    await teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
