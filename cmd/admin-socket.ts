// `npm start` on the embedded database owns it: a second PGlite on the same directory
// would lose its writes (they never reach the running stack, and are gone after a restart).
// So the running stack serves the admin commands on a Unix socket in its data directory
// (mode 0600: whoever may read the data directory may administer it), and `npm run admin`
// hands its command there when the stack is up.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { runAdminCommand, type AdminOutcome } from './admin-commands.js';

const MAX_REQUEST = 64 * 1024;

export const adminSocketPath = (dataDir: string) => join(dataDir, 'admin.sock');

/** Serves the admin commands to `npm run admin` while the stack runs. */
export async function serveAdminSocket(db: Db, dataDir: string, logger: Logger): Promise<{ close(): Promise<void> }> {
  const path = adminSocketPath(dataDir);
  // This process holds the data directory's lock (db/client.ts): a socket file left here is stale.
  rmSync(path, { force: true });
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method !== 'POST' || req.url !== '/run') return answer(404, { error: 'POST /run' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST) chunks.push(c);
    });
    req.on('end', () => {
      let args: unknown;
      try {
        args = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { args?: unknown }).args;
      } catch {
        return answer(400, { error: 'send {"args": [...]}' });
      }
      if (size > MAX_REQUEST || !Array.isArray(args) || !args.every((a) => typeof a === 'string')) return answer(400, { error: 'send {"args": [...]}' });
      runAdminCommand(db, args).then(
        (outcome) => {
          logger.info({ args: args[0] === 'token' ? args.slice(0, 2) : args, code: outcome.code }, 'admin command');
          answer(200, outcome);
        },
        (err: Error) => answer(500, { error: err.message }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(path, { force: true });
      }),
  };
}

/** Runs the command in the running stack; null when none answers on the data directory's socket. */
export function runInRunningStack(dataDir: string, args: readonly string[]): Promise<AdminOutcome | null> {
  const socketPath = adminSocketPath(dataDir);
  if (!existsSync(socketPath)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/run', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as AdminOutcome & { error?: string };
        if (res.statusCode === 200) resolve(body);
        else reject(new Error(`the running stack refused the command: ${body.error ?? res.statusCode}`));
      });
    });
    // Nobody listening: the socket is stale (the stack is gone).
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? resolve(null) : reject(err)));
    req.end(JSON.stringify({ args }));
  });
}
