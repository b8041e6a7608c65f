// Chaos: rounds of kill -9 of the worker, the API, the Temporal server and PostgreSQL, in
// turn, under a load of rule creations, withdrawals and expiries; after each round every
// rule's row must equal what the lab router holds (test/support/chaos.ts says exactly
// what is checked). Bounded: each round ends by itself. Run by hand as root:
//   npm run bench:chaos [-- --rounds 20 --clients 4]
// Prints one line per round and a summary; exits 1 if any round found a disagreement.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBgpLab } from '../test/support/bgp-lab.js';
import { chaosRound, prepareChaos, type RoundFigures } from '../test/support/chaos.js';
import { startDeployment } from '../test/support/deployment.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
  },
});

const spread = (xs: number[]) => `p50 ${(percentile(xs, 50) / 1000).toFixed(1)} s, max ${(Math.max(...xs) / 1000).toFixed(1)} s`;

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the chaos run needs root (network namespaces, a PostgreSQL cluster of its own)');
  const rounds = Number(values.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-chaos-'));
  const log = (line: string) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`);
  console.log(`chaos: ${rounds} rounds, ${values.clients} clients; logs in ${dir}`);
  mkdirSync(join(dir, 'lab'));
  const lab = await startBgpLab({ logDir: join(dir, 'lab') });
  const deployment = await startDeployment({ dir, reconcileIntervalSeconds: 2, log });
  const results: RoundFigures[] = [];
  try {
    const target = await prepareChaos(deployment, lab);
    for (let round = 1; round <= rounds; round++) {
      const f = await chaosRound(target, round, { clients: Number(values.clients), loadBeforeKillMs: 4000, outageMs: 2000, settleTimeoutMs: 120_000, log });
      results.push(f);
      const answers = Object.entries(f.answers).map(([k, v]) => `${k}:${v}`).join(' ');
      const down = Object.entries(f.downMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}s`).join(', ');
      console.log(
        `round ${round}: ${f.problems.length === 0 ? 'OK  ' : 'FAIL'} ${f.requests} requests (${answers}), ${f.rules} rules ${JSON.stringify(f.byStatus)}, ` +
          `${f.repairs} repairs, ${f.crashes} unplanned restarts, down ${down}, settled in ${(f.settleMs / 1000).toFixed(1)} s`,
      );
      for (const p of f.problems.slice(0, 20)) console.log(`    ${p}`);
    }
    await target.db.close();
  } finally {
    await deployment.stop();
    await lab.stop();
  }
  const failed = results.filter((r) => r.problems.length > 0);
  const sum = (k: (r: RoundFigures) => number) => results.reduce((a, r) => a + k(r), 0);
  console.log(`\nsummary: ${results.length - failed.length}/${results.length} rounds agreed; ${sum((r) => r.requests)} requests, ${sum((r) => r.rules)} rules, ${sum((r) => r.repairs)} reconciler repairs, ${sum((r) => r.crashes)} unplanned restarts`);
  for (const c of ['worker', 'api', 'temporal', 'postgres']) console.log(`  ${c.padEnd(8)} kill -> serving again: ${spread(results.map((r) => r.downMs[c]!))}`);
  console.log(`  settle (last restart -> rows equal the router): ${spread(results.map((r) => r.settleMs))}`);
  const answers: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.answers)) answers[k] = (answers[k] ?? 0) + v;
  console.log(`  answers: ${Object.entries(answers).map(([k, v]) => `${k}:${v}`).join(' ')}`);
  process.exit(failed.length > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
