// A Bulwark deployment as separate processes, each of which can be killed with SIGKILL and
// started again on the same state: PostgreSQL (a cluster of its own, so killing it touches
// nothing else), the Temporal dev server (state in a SQLite file), the worker and the API
// (`npm run worker` / `npm run api` entry points). A component that dies on its own is
// started again after a second, as systemd's Restart=always would. For the chaos run.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort, startDevServer, type DevServer } from '../../cmd/temporal-dev.js';
import type { TestEnv } from './env.js';

export const COMPONENTS = ['worker', 'api', 'temporal', 'postgres'] as const;
export type Component = (typeof COMPONENTS)[number];

const ROOT = join(import.meta.dirname, '..', '..');

function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL server under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** PostgreSQL refuses to run as root: its programs run as the `postgres` user. */
const asPostgres = (cmd: string, args: string[]) => ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', cmd, ...args]] as const;

function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** `cmd` in a process group of its own (so SIGKILL reaches every process it starts: tsx, PostgreSQL's backends), its output appended to `logPath`. */
export function spawnGroup(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, logPath: string): ChildProcess {
  const out = openSync(logPath, 'a');
  try {
    return spawn(cmd, [...args], { cwd: ROOT, env, stdio: ['ignore', out, out], detached: true });
  } finally {
    closeSync(out); // the child has its own copy
  }
}

/** `npm run worker` or `npm run api` (the entry point itself, without the setup script). */
export const entryPoint = (c: 'worker' | 'api') => ['node', ['--import', 'tsx', join(ROOT, 'cmd', `${c}.ts`)]] as const;

/** How many times a worker logging to `logPath` has said it runs (each start says it once). */
export const workerRunningLines = (logPath: string) => readFileSync(logPath, { encoding: 'utf8', flag: 'a+' }).split('worker running').length - 1;

/** SIGKILL to the child's whole process group; resolves once it is gone. */
export async function killGroup(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const gone = waitExit(child);
  process.kill(-child.pid, 'SIGKILL');
  await gone;
}

export async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Deployment {
  apiUrl: string;
  databaseUrl: string;
  /** Starts (the first time, or after a kill) and waits until it serves. */
  start(c: Component): Promise<void>;
  /** SIGKILL to the component's whole process group; waits until it is gone. */
  kill(c: Component): Promise<void>;
  /** Times a component died without being killed (and was started again). */
  crashes: Record<Component, number>;
  stop(): Promise<void>;
}

export async function startDeployment(opts: { dir: string; reconcileIntervalSeconds: number; log?: (line: string) => void }): Promise<Deployment> {
  const log = opts.log ?? (() => {});
  const logFile = (name: string) => openSync(join(opts.dir, `${name}.log`), 'a');
  const pgDir = join(opts.dir, 'pg');
  mkdirSync(pgDir, { recursive: true });
  // The postgres user must reach its data directory through ours.
  chmodSync(opts.dir, 0o711);
  const [, uid, gid] = readFileSync('/etc/passwd', 'utf8').match(/^postgres:[^:]*:(\d+):(\d+):/m) ?? [];
  if (!uid || !gid) throw new Error('no postgres user on this machine');
  chownSync(pgDir, Number(uid), Number(gid));
  const bin = postgresBin();
  const [initCmd, initArgs] = asPostgres(join(bin, 'initdb'), ['-D', pgDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(initCmd, initArgs, { stdio: ['ignore', logFile('initdb'), logFile('initdb')] });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb exited ${code}; see ${opts.dir}/initdb.log`))));
  });

  const [pgPort, temporalPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const adminUrl = `postgres://postgres@127.0.0.1:${pgPort}/postgres`;
  const databaseUrl = `postgres://postgres@127.0.0.1:${pgPort}/bulwark`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const temporalAddress = `127.0.0.1:${temporalPort}`;
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: 'bulwark',
    DATA_DIR: join(opts.dir, 'data'),
    SECRET_KEY: 'chaos-secret-key',
    PORT: String(apiPort),
    LOG_LEVEL: 'info',
    PRIVATE_HTTP_TARGETS: 'allow',
    RECONCILE_INTERVAL_SECONDS: String(opts.reconcileIntervalSeconds),
    // Not the fixed metrics ports (127.0.0.1:9464-9466): a machine's own Bulwark may hold them.
    METRICS_ADDRESS: 'off',
    TEMPORAL_METRICS_ADDRESS: 'off',
  };

  const children = new Map<Component, ChildProcess>();
  let temporal: DevServer | null = null;
  const killing = new Set<Component>();
  let stopping = false;
  const crashes: Record<Component, number> = { worker: 0, api: 0, temporal: 0, postgres: 0 };

  const spawnComponent = (c: Exclude<Component, 'temporal'>): ChildProcess => {
    const [cmd, args] =
      c === 'postgres'
        ? asPostgres(join(bin, 'postgres'), ['-D', pgDir, '-p', String(pgPort), '-k', pgDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'shared_buffers=32MB'])
        : entryPoint(c);
    const child = spawnGroup(cmd, args, env, join(opts.dir, `${c}.log`));
    children.set(c, child);
    child.once('exit', (code, signal) => {
      if (stopping || killing.has(c) || children.get(c) !== child) return;
      crashes[c]++;
      log(`${c} died on its own (${signal ?? `exit ${code}`}); starting it again`);
      setTimeout(() => void start(c).catch((err) => log(`restart of ${c} failed: ${(err as Error).message}`)), 1000);
    });
    return child;
  };

  const sql = () => postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 2 });
  const ready: Record<Component, () => Promise<boolean>> = {
    postgres: async () => {
      const db = sql();
      try {
        await db`select 1`;
        return true;
      } finally {
        await db.end({ timeout: 1 });
      }
    },
    temporal: async () => true, // startDevServer waits itself
    worker: async () => workerRunningLines(join(opts.dir, 'worker.log')) > workerStarts,
    api: async () => (await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(1000) })).status === 200,
  };
  let workerStarts = 0;

  async function start(c: Component): Promise<void> {
    killing.delete(c);
    if (c === 'temporal') {
      temporal = await startDevServer({ dbFile: join(opts.dir, 'temporal.sqlite'), port: temporalPort, logFile: join(opts.dir, 'temporal.log') });
      return;
    }
    if (c === 'worker') workerStarts = workerRunningLines(join(opts.dir, 'worker.log'));
    spawnComponent(c);
    await until(c, 120_000, ready[c]);
  }

  async function kill(c: Component): Promise<void> {
    killing.add(c);
    if (c === 'temporal') {
      await temporal?.kill();
      return;
    }
    await killGroup(children.get(c));
  }

  const deployment: Deployment = {
    apiUrl,
    databaseUrl,
    start,
    kill,
    crashes,
    async stop() {
      stopping = true;
      for (const c of COMPONENTS) await kill(c).catch(() => undefined);
    },
  };
  try {
    await start('postgres');
    const admin = sql();
    await admin.unsafe('create database bulwark');
    await admin.end();
    await start('temporal');
    await start('worker');
    await start('api');
  } catch (err) {
    await deployment.stop();
    throw err;
  }
  return deployment;
}

/**
 * A worker process (`npm run worker`'s entry point) serving `taskQueue` against the test
 * env's Temporal server and database, logging to `dir`/worker.log; resolves once it runs.
 */
export async function startWorkerProcess(opts: { env: TestEnv; taskQueue: string; secretKey: string; dir: string; extraEnv?: NodeJS.ProcessEnv }): Promise<ChildProcess> {
  const log = join(opts.dir, 'worker.log');
  const before = workerRunningLines(log);
  const [cmd, args] = entryPoint('worker');
  const child = spawnGroup(
    cmd,
    args,
    {
      ...process.env,
      DATABASE_URL: opts.env.databaseUrl,
      TEMPORAL_ADDRESS: opts.env.temporalAddress,
      TEMPORAL_TASK_QUEUE: opts.taskQueue,
      SECRET_KEY: opts.secretKey,
      DATA_DIR: opts.dir,
      LOG_LEVEL: 'info',
      METRICS_ADDRESS: 'off',
      TEMPORAL_METRICS_ADDRESS: 'off',
      ...opts.extraEnv,
    },
    log,
  );
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, signal) => reject(new Error(`the worker exited (${signal ?? code}) before it ran; see ${log}`))));
  exited.catch(() => undefined); // a kill later is no failure
  await Promise.race([until(`worker process (log: ${log})`, 120_000, async () => workerRunningLines(log) > before), exited]);
  return child;
}
