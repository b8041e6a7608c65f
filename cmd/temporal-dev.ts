// Runs `temporal server start-dev` as a child process: the whole Temporal service with
// its Web UI, in one process, for `npm start` and the test suite.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.contract.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The CLI's path, building it the first time (scripts/ensure-temporal.sh). */
export function temporalBinary(): string {
  return execFileSync('sh', [join(ROOT, 'scripts/ensure-temporal.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** `Name=Type` per Bulwark search attribute, as `--search-attribute` (and `temporal operator search-attribute create`) spell types. */
export function searchAttributeArgs(): string[] {
  const cli = { INT: 'Int', KEYWORD: 'Keyword' } as const;
  return Object.values(SEARCH_ATTRIBUTES).map((k) => `${k.name}=${cli[k.type]}`);
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
  /** SIGKILL, as a crash would (the chaos run; state persists only with `dbFile`). */
  kill(): Promise<void>;
}

/** How often per second the history service may read its transfer and timer queues (default 20). */
export const TASK_QUEUE_READS = ['history.transferProcessorMaxPollRPS=1000', 'history.timerProcessorMaxPollRPS=1000'];

export async function startDevServer(opts: {
  /** SQLite file that keeps state across restarts; omit for in-memory. */
  dbFile?: string;
  port?: number;
  /** Omit for a headless server. */
  uiPort?: number;
  logFile?: string;
}): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.uiPort !== undefined) args.push('--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1');
  else args.push('--headless');
  // Update-with-Start (POST /mitigation/rules) and a roomy cap on in-flight updates.
  args.push('--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true');
  args.push('--dynamic-config-value', 'history.maxInFlightUpdates=100');
  // The history service reads its task queues at most 20 times a second per shard by
  // default: a new workflow's first task (and a signal's) waited 0-50 ms, ~24 ms on
  // average, for its turn, which was most of a rule's POST -> route (README: Where the time
  // goes). A production cluster wants the same two settings.
  for (const v of TASK_QUEUE_READS) args.push('--dynamic-config-value', v);
  // Bulwark's search attributes (the Temporal UI's filters; README "The Temporal UI").
  for (const arg of searchAttributeArgs()) args.push('--search-attribute', arg);
  const out = opts.logFile ? openSync(opts.logFile, 'a') : 'ignore';
  const child: ChildProcess = spawn(temporalBinary(), args, { stdio: ['ignore', out, out] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${port}`;

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`temporal server exited with code ${child.exitCode}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.workflowService.getSystemInfo({});
      await conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal server did not answer on ${address} within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: opts.uiPort !== undefined ? `http://127.0.0.1:${opts.uiPort}` : null,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
