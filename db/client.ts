// One database handle for the API, the worker and the admin CLI: PostgreSQL through
// postres.js when DATABASE_URL is set, else an embedded PGlite under the data directory.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The rows of a raw `db.execute`: postgres.js answers an array, PGlite `{ rows }`. */
export const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? (result as T[]) : ((result as { rows: T[] }).rows ?? []));

export interface DbHandle {
  db: Db;
  /** "postgres host/db" or "embedded PGlite (<dir>)", for the start-up banner. */
  description: string;
  /** Applies the committed SQL migrations under migrations/. */
  migrate(): Promise<void>;
  /**
   * Calls `onPayload` with each NOTIFY on the channel (from this process or any other on
   * the same database) until the returned function is called. postgres.js re-listens after
   * a lost connection; what was notified meanwhile is lost, so callers also look for themselves.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../migrations');
const MIGRATION_LOCK = 7262011;

export async function openDb(opts: { databaseUrl?: string; dataDir: string; maxConnections?: number }): Promise<DbHandle> {
  if (opts.databaseUrl) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    const databaseUrl = opts.databaseUrl;
    const client = postgres(databaseUrl, { max: opts.maxConnections ?? 10, onnotice: () => {} });
    const url = new URL(databaseUrl);
    return {
      db: drizzle(client, { schema }) as unknown as Db,
      description: `postgres ${url.host}${url.pathname}`,
      // Several API/worker instances may start at once against one PostgreSQL: a
      // session advisory lock on a dedicated connection makes them take turns.
      async migrate() {
        const one = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        try {
          await one`select pg_advisory_lock(${MIGRATION_LOCK})`;
          await migrate(drizzle(one), { migrationsFolder: MIGRATIONS_DIR });
        } finally {
          await one.end({ timeout: 5 });
        }
      },
      async listen(channel, onPayload) {
        const { unlisten } = await client.listen(channel, onPayload);
        return unlisten;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const dir = join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const unlock = lockDataDir(opts.dataDir);
  const client = new PGlite(dir);
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Db,
    description: `embedded PGlite (${dir})`,
    migrate: () => migrate(db, { migrationsFolder: MIGRATIONS_DIR }),
    async listen(channel, onPayload) {
      const unlisten = await client.listen(channel, onPayload);
      return () => unlisten();
    },
    close: () => client.close().finally(unlock),
  };
}

/**
 * One process at a time on an embedded database: a second PGlite on the same directory
 * would lose its writes. The lock file names the holder; one whose process is gone is stale.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'pglite.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder !== process.pid && isAlive(holder)) {
        throw new Error(`the embedded database in ${dataDir} is in use by process ${holder} (npm start?); stop it first, or use npm run admin, which talks to it`);
      }
      rmSync(file, { force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The largest id of a 32-bit serial column (adapters, allowlist entries, thresholds, nodes, workspaces). */
export const INT4_MAX = 2_147_483_647;

/** Whether `id` can be a row's id in a column of that range: anything else is found nowhere. */
export const isRowId = (id: number, max: number = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(id) && id >= 1 && id <= max;

/** A unique constraint refused the write (drizzle wraps the driver's error as `cause`). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
