// The entry points as an operator runs them: `npm start` on the embedded database with the
// admin CLI beside it (every write reaches the running stack and survives a restart; a
// second stack on the same data directory is refused), and `npm start`, `npm run api` and
// `npm run worker` stopping cleanly and promptly on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { request, startStack, type Stack } from './support/stack.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Running {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

function npm(args: string[], env: Record<string, string>): Running {
  const child = spawn('npm', ['run', '--silent', ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitFor(r: Running, text: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!r.output().includes(text)) {
    if (r.child.exitCode !== null) throw new Error(`exited (${r.child.exitCode}) before "${text}":\n${r.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms:\n${r.output()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Sends `signal` and answers how long the process took to exit, and with what code. */
async function stop(r: Running, signal: NodeJS.Signals): Promise<{ ms: number; code: number | null }> {
  const t0 = Date.now();
  r.child.kill(signal);
  const code = await Promise.race([r.exited, new Promise<'hung'>((res) => setTimeout(() => res('hung'), 20_000))]);
  if (code === 'hung') {
    r.child.kill('SIGKILL');
    throw new Error(`still running 20 s after ${signal}:\n${r.output()}`);
  }
  return { ms: Date.now() - t0, code };
}

async function admin(env: Record<string, string>, ...args: string[]) {
  const r = npm(['admin', '--', ...args], env);
  const code = await r.exited;
  return { code, output: r.output() };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as { port: number };
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(inject('env'));
});
afterAll(async () => {
  await stack?.stop();
});

describe('npm start on the embedded database, with the admin CLI beside it', () => {
  it('runs admin commands in the running stack, keeps them across a restart, and refuses a second stack', async () => {
    const env = inject('env');
    const dataDir = mkdtempSync(join(tmpdir(), 'bulwark-start-'));
    const port = await freePort();
    const common = { DATA_DIR: dataDir, TEMPORAL_ADDRESS: env.temporalAddress, TEMPORAL_TASK_QUEUE: `start-${port}`, PORT: String(port), DATABASE_URL: '' };
    const base = `http://127.0.0.1:${port}`;

    let started = npm(['start'], common);
    try {
      await waitFor(started, 'Bulwark is up.');
      const created = await admin(common, 'workspace', 'create', 'acme');
      expect(created.code, created.output).toBe(0);
      expect(created.output).toContain('workspace "acme" created');
      const issued = await admin(common, 'token', 'create', 'acme');
      expect(issued.code, issued.output).toBe(0);
      const token = /\b[0-9a-f]{64}\b/.exec(issued.output)![0];
      const auth = { authorization: `Bearer ${token}` };
      // The running API sees what the CLI wrote.
      expect((await request(base, 'GET', '/api/v1/allowlist', undefined, auth)).status).toBe(200);
      expect((await admin(common, 'workspace', 'rate-limit', 'acme', '7')).code).toBe(0);
      expect((await request(base, 'GET', '/api/v1/allowlist', undefined, auth)).headers.get('x-ratelimit-limit')).toBe('7');
      expect((await admin(common, 'workspace', 'subscription', 'acme', 'inactive')).code).toBe(0);
      expectError(await request(base, 'POST', '/api/v1/allowlist', { ip_address: '198.51.100.9' }, auth), 402, 'subscription_required');
      const bad = await admin(common, 'workspace', 'rate-limit', 'acme', 'lots');
      expect(bad.code).toBe(1);
      expect(bad.output).toContain('whole number of requests per minute');

      // A second stack on the same data directory would split the database in two: refused.
      const second = npm(['start'], { ...common, PORT: String(await freePort()) });
      expect(await second.exited).not.toBe(0);
      expect(second.output()).toMatch(/in use by process \d+/);

      const stopped = await stop(started, 'SIGINT');
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(15_000);
      expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
      expect(existsSync(join(dataDir, 'admin.sock'))).toBe(false);

      // Stack down: the CLI opens the database itself.
      const offline = await admin(common, 'workspace', 'create', 'later');
      expect(offline.code, offline.output).toBe(0);

      started = npm(['start'], common);
      await waitFor(started, 'Bulwark is up.');
      // Everything written before, through the stack or not, is still there.
      const res = await request(base, 'GET', '/api/v1/allowlist', undefined, auth);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('7');
      expect((await admin(common, 'token', 'create', 'later')).code).toBe(0);
      const again = await stop(started, 'SIGTERM');
      expect(again.code).toBe(0);
    } finally {
      if (started.child.exitCode === null) started.child.kill('SIGKILL');
    }
  }, 240_000);
});

describe('the cluster entry points stop cleanly on a signal', () => {
  it('npm run api finishes the request in flight, then exits', async () => {
    const env = inject('env');
    const port = await freePort();
    const api = npm(['api'], { DATABASE_URL: env.databaseUrl, TEMPORAL_ADDRESS: env.temporalAddress, PORT: String(port), DATA_DIR: mkdtempSync(join(tmpdir(), 'bulwark-api-')) });
    try {
      await waitFor(api, 'API listening');
      const { call } = await stack.tenant();
      const node = await call('POST', '/api/v1/nodes', { name: 'signals', ip: '203.0.113.80' });
      // A long poll in flight when the signal comes.
      const inFlight = request(`http://127.0.0.1:${port}`, 'GET', '/api/v1/agent/commands?wait=3', undefined, { authorization: `Bearer ${node.body.api_key}` });
      await new Promise((res) => setTimeout(res, 500));
      const stopped = stop(api, 'SIGTERM');
      const answered = await inFlight;
      expect(answered.status).toBe(200);
      expect(answered.body).toEqual({ ok: true, commands: [] });
      const { code, ms } = await stopped;
      expect(code).toBe(0);
      expect(ms).toBeLessThan(15_000);
    } finally {
      if (api.child.exitCode === null) api.child.kill('SIGKILL');
    }
  }, 120_000);

  it('npm run worker drains and exits', async () => {
    const env = inject('env');
    const worker = npm(['worker'], {
      DATABASE_URL: env.databaseUrl,
      TEMPORAL_ADDRESS: env.temporalAddress,
      TEMPORAL_TASK_QUEUE: `worker-${Date.now()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'bulwark-worker-')),
    });
    try {
      await waitFor(worker, 'worker running');
      const { code, ms } = await stop(worker, 'SIGINT');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(15_000);
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
  }, 120_000);
});
