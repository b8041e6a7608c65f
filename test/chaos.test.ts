// Chaos, short form: one round of kill -9 of the worker, the API, the Temporal server and
// PostgreSQL (each a process of its own) under rule traffic, then every rule's row equals
// what the lab router holds. `npm run bench:chaos` runs twenty rounds and prints figures.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBgpLab, type BgpLab } from './support/bgp-lab.js';
import { chaosRound, prepareChaos, type ChaosTarget } from './support/chaos.js';
import { startDeployment, type Deployment } from './support/deployment.js';

let lab: BgpLab;
let deployment: Deployment;
let target: ChaosTarget;
const dir = mkdtempSync(join(tmpdir(), 'bulwark-chaos-'));

beforeAll(async () => {
  mkdirSync(join(dir, 'lab'));
  lab = await startBgpLab({ logDir: join(dir, 'lab') });
  deployment = await startDeployment({ dir, reconcileIntervalSeconds: 2 });
  target = await prepareChaos(deployment, lab);
}, 240_000);
afterAll(async () => {
  await target?.db.close();
  await deployment?.stop();
  await lab?.stop();
});

it('after kill -9 of each component in turn under load, every rule row equals the router', async () => {
  const lines: string[] = [];
  const f = await chaosRound(target, 1, { clients: 3, loadBeforeKillMs: 3000, outageMs: 1500, settleTimeoutMs: 120_000, log: (l) => lines.push(l) });
  expect(f.problems, `logs in ${dir}\n${lines.join('\n')}`).toEqual([]);
  // The round did what it says: rules were made, ended every way, and each component died.
  expect(Object.keys(f.downMs).sort()).toEqual(['api', 'postgres', 'temporal', 'worker']);
  expect(f.rules).toBeGreaterThan(20);
  expect(f.byStatus.withdrawn).toBeGreaterThan(0);
  expect(f.byStatus.expired).toBeGreaterThan(0);
  // An outage answers as one, with the envelope: never a 500.
  expect(f.answers['500']).toBeUndefined();
}, 400_000);
