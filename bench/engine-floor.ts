// Benchmark: the Temporal handshake a rule's POST pays, with nothing of Bulwark in it: a
// dev server and a worker in this process, an empty workflow whose update answers at once.
// update-with-start (what POST /mitigation/rules uses) against an update on a workflow
// already running and idle; with the worker's workflow cache on and off (off: no sticky
// queue). Beside them, the handshake the rule path uses now: a plain start, the workflow's
// first local activity telling this process (as the announce activity notifies the API),
// then a signal and the next local activity (withdraw). Run by hand:
//   npm run bench:engine-floor [-- --calls 150 --burst 1024]
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDevServer } from '../cmd/temporal-dev.js';
import { emptyWorkflow, goSignal, goUpdate, notifyingWorkflow } from './engine-floor/workflows.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '150' }, burst: { type: 'string', default: '1024' } } });
const CALLS = Number(values.calls);
const BURST = Number(values.burst);
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

/** CPU time (user + system) of the dev server listening on `address`, from /proc. */
function serverCpuMs(address: string): number {
  const port = address.split(':').pop();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.includes('start-dev') || !cmd.includes(`--port\0${port}\0`)) continue;
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  }
  return NaN;
}

async function main() {
  const dev = await startDevServer({});
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./engine-floor/workflows.ts', import.meta.url)), logger: { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} } });
  const client = new Client({ connection: await Connection.connect({ address: dev.address }) });
  try {
    for (const cache of [1000, 0]) {
      const taskQueue = `floor-${cache}`;
      const native = await NativeConnection.connect({ address: dev.address });
      // A client on the worker's own connection may start workflows eagerly (as `npm start` does).
      const eager = new Client({ connection: native });
      const worker = await Worker.create({ connection: native, taskQueue, workflowBundle, activities, maxCachedWorkflows: cache });
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
      const eagerStarted: number[] = [];
      for (let i = 0; i < CALLS + WARMUP; i++) {
        const key = `eager-${cache}-${i}-${Date.now()}`;
        const up = reachedAt(`${key}:started`);
        const t0 = performance.now();
        const handle = await eager.workflow.start(notifyingWorkflow, { workflowId: key, taskQueue, args: [key], requestEagerStart: true });
        await up;
        if (i >= WARMUP) eagerStarted.push(performance.now() - t0);
        await handle.signal(goSignal);
      }
      console.log(latencyLine(`eager start -> first local activity, cache ${cache}`, eagerStarted, 44));
      for (const [label, c, requestEagerStart] of [['starts', client, false], ['eager starts', eager, true]] as const) {
        const keys = Array.from({ length: BURST }, (_, i) => `burst-${label.length}-${cache}-${i}-${Date.now()}`);
        const all = Promise.all(keys.map((k) => reachedAt(`${k}:started`)));
        let next = 0;
        const cpu0 = { self: process.cpuUsage(), server: serverCpuMs(dev.address) };
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < keys.length) {
              const key = keys[next++]!;
              await c.workflow.start(notifyingWorkflow, { workflowId: key, taskQueue, args: [key], requestEagerStart });
            }
          }),
        );
        await all;
        const seconds = (performance.now() - t0) / 1000;
        const self = process.cpuUsage(cpu0.self);
        const perWf = (ms: number) => (ms / BURST).toFixed(1);
        console.log(
          `${BURST} ${label}, 32 at a time, each to its first local activity, cache ${cache}: ${(BURST / seconds).toFixed(0)} workflows/s; ` +
            `CPU per workflow: worker+client ${perWf((self.user + self.system) / 1000)} ms, Temporal server ${perWf(serverCpuMs(dev.address) - cpu0.server)} ms`,
        );
        await Promise.all(keys.map((k) => c.workflow.getHandle(k).signal(goSignal)));
      }
      worker.shutdown();
      await running;
      await native.close();
    }
  } finally {
    await client.connection.close();
    await dev.stop();
  }
}

await main();
