// One database handle for the API, the worker and the admin CLI: PostgreSQL through
// postres.js when DATABASE_URL is set, else an embedded PGlite under the data directory.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DbHandle {
  db: Db;
  /** "postgres host/db" or "embedded PGlite (<dir>)", for the start-up banner. */
  description: string;
  /** Applies the committed SQL migrations under migrations/. */
  migrate(): Promise<void>;
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
      close: () => client.end({ timeout: 5 }),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const dir = join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = new PGlite(dir);
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Db,
    description: `embedded PGlite (${dir})`,
    migrate: () => migrate(db, { migrationsFolder: MIGRATIONS_DIR }),
    close: () => client.close(),
  };
}

/** A unique constraint refused the write (drizzle wraps the driver's error as `cause`). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}
