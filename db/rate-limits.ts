// Request counts per caller and minute, shared by every API instance: deploy tokens
// (rate_limit_windows) and node keys (node_rate_limit_windows), both UNLOGGED (no fsync
// per request). api/auth.ts turns two neighbouring minutes into a sliding window.
import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from './client.js';

export type RateSubject = { kind: 'token' | 'node'; id: number };

const TABLES = {
  token: { table: sql.raw('rate_limit_windows'), key: sql.raw('token_id') },
  node: { table: sql.raw('node_rate_limit_windows'), key: sql.raw('node_id') },
} as const;

/** The rows of a raw query, from postgres.js (an array) or PGlite ({ rows }). */

/**
 * Counts this request in the caller's minute starting at `windowStart`, in one round trip,
 * and answers that minute's count with the previous minute's.
 */
export async function countRequest(db: Db, who: RateSubject, windowStart: Date, previousStart: Date): Promise<{ current: number; previous: number }> {
  const { table, key } = TABLES[who.kind];
  const result = await db.execute(sql`
    with cur as (
      insert into ${table} (${key}, window_start, count) values (${who.id}, ${windowStart.toISOString()}, 1)
      on conflict (${key}, window_start) do update set count = ${table}.count + 1
      returning count
    )
    select (select count from cur) as current,
           coalesce((select count from ${table} where ${key} = ${who.id} and window_start = ${previousStart.toISOString()}), 0) as previous`);
  const [row] = rowsOf<{ current: number | string; previous: number | string }>(result);
  return { current: Number(row!.current), previous: Number(row!.previous) };
}

/** Forgets the caller's minutes before `before` (the sliding window needs only two). */
export async function dropWindowsBefore(db: Db, who: RateSubject, before: Date): Promise<void> {
  const { table, key } = TABLES[who.kind];
  await db.execute(sql`delete from ${table} where ${key} = ${who.id} and window_start < ${before.toISOString()}`);
}
