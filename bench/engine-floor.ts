// Benchmark: the Temporal handshake a rule's POST pays, with nothing of Bulwark in it: a
// dev server and a worker in this process, an empty workflow whose update answers at once.
// update-with-start (what POST /mitigation/rules uses) against an update on a workflow
// already running and idle; with the worker's workflow cache on and off (off: no sticky
// queue). Beside them, the handshake the rule path uses now: a plain start, the workflow's
// first local activity telling this process (as the announce activity notifies the API),
// then a signal and the next local activity (withdraw). Run by hand:
//   npm run bench:engine-floor [-- --calls 150]
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDevServer } from '../cmd/temporal-dev.js';
import { emptyWorkflow, goSignal, goUpdate, notifyingWorkflow } from './engine-floor/workflows.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '150' } } });
const CALLS = Number(values.calls);
const WARMUP = 20;

/** Local activities report here, by key: the in-process stand-in for a database notification. */
const waiters = new Map<string, () => void>();
const reachedAt = (key: string) => new Promise<void>((resolve) => waiters.set(key, resolve));
const activities = {
  async reached(key: string): Promise<void> {
    waiters.get(key)?.();
    waiters.delete(key);
  },
};
export type FloorActivities = typeof activities;

async function main() {
  const dev = await startDevServer({});
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./engine-floor/workflows.ts', import.meta.url)), logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
  const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
  try {
    for (const cache of [1000, 0]) {
      const taskQueue = `floor-${cache}`;
      const worker = await Worker.create({ connection: await NativeConnection.connect({ address: dev.address }), taskQueue, workflowBundle, activities, maxCachedWorkflows: cache });
      const running = worker.run();
      const uws: number[] = [];
      for (let i = 0; i < CALLS + WARMUP; i++) {
        const t0 = performance.now();
        const startWorkflowOperation = new WithStartWorkflowOperation(emptyWorkflow, { workflowId: `uws-${cache}-${i}-${Date.now()}`, taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' });
        await client.workflow.executeUpdateWithStart(goUpdate, { startWorkflowOperation });
        if (i >= WARMUP) uws.push(performance.now() - t0);
      }
      console.log(latencyLine(`update-with-start, cache ${cache}`, uws));
      const idle: number[] = [];
      for (let i = 0; i < CALLS + WARMUP; i++) {
        const handle = await client.workflow.start(emptyWorkflow, { workflowId: `idle-${cache}-${i}-${Date.now()}`, taskQueue });
        // Let its first task finish: the update then meets a workflow at rest.
        await new Promise((r) => setTimeout(r, 20));
        const t0 = performance.now();
        await handle.executeUpdate(goUpdate);
        if (i >= WARMUP) idle.push(performance.now() - t0);
      }
      console.log(latencyLine(`update on a running idle workflow, cache ${cache}`, idle, 44));
      const started: number[] = [];
      const signalled: number[] = [];
      for (let i = 0; i < CALLS + WARMUP; i++) {
        const key = `notify-${cache}-${i}-${Date.now()}`;
        const up = reachedAt(`${key}:started`);
        const t0 = performance.now();
        const handle = await client.workflow.start(notifyingWorkflow, { workflowId: key, taskQueue, args: [key] });
        await up;
        const t1 = performance.now();
        await new Promise((r) => setTimeout(r, 20));
        const down = reachedAt(`${key}:signalled`);
        const t2 = performance.now();
        await handle.signal(goSignal);
        await down;
        if (i >= WARMUP) {
          started.push(t1 - t0);
          signalled.push(performance.now() - t2);
        }
      }
      console.log(latencyLine(`start -> first local activity, cache ${cache}`, started, 44));
      console.log(latencyLine(`signal -> next local activity, cache ${cache}`, signalled, 44));
      worker.shutdown();
      await running;
    }
  } finally {
    await client.connection.close();
    await dev.stop();
  }
}

await main();
