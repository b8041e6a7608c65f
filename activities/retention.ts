// Housekeeping: captures are large and per-second metrics many, so both are kept only for
// a while, counted from when the server received them (a capture claiming to be from 2099
// does not outlive the others).
import { heartbeat } from '@temporalio/activity';
import { inArray, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { nodeMetrics, pcaps } from '../db/schema.js';
import type { RetentionResult } from '../workflows/retention.contract.js';

const BATCH = 50;
const METRICS_BATCH = 10_000;

/** Rows a statement affected, as postgres.js (count) and PGlite (affectedRows) report it. */
const rowCount = (r: unknown) => Number((r as { count?: number }).count ?? (r as { affectedRows?: number }).affectedRows ?? 0);

export function createRetentionActivities({ db, logger }: { db: Db; logger: Logger }) {
  return {
    /** Deletes captures (and their bytes) received more than `maxAgeDays` ago, a batch per transaction. */
    async deleteExpiredPcaps(maxAgeDays: number): Promise<RetentionResult> {
      const cutoff = sql`now() - make_interval(days => ${maxAgeDays})`;
      let deleted = 0;
      for (;;) {
        const batch = await db.select({ id: pcaps.id }).from(pcaps).where(lt(pcaps.createdAt, cutoff)).limit(BATCH);
        if (batch.length === 0) break;
        // Chunks go with their capture (ON DELETE CASCADE).
        await db.delete(pcaps).where(inArray(pcaps.id, batch.map((b) => b.id)));
        deleted += batch.length;
        heartbeat({ deleted });
      }
      if (deleted > 0) logger.info({ deleted, maxAgeDays }, 'expired captures deleted');
      return { deleted };
    },

    /** Deletes per-second samples older than `maxAgeDays` (their times lie within days of receipt). */
    async deleteExpiredMetrics(maxAgeDays: number): Promise<RetentionResult> {
      const cutoff = sql`now() - make_interval(days => ${maxAgeDays})`;
      let deleted = 0;
      for (;;) {
        // In bounded batches: a large table is pruned without one long lock.
        const gone = await db.execute(sql`delete from ${nodeMetrics} where ctid in (select ctid from ${nodeMetrics} where ${nodeMetrics.at} < ${cutoff} limit ${METRICS_BATCH})`);
        const n = rowCount(gone);
        deleted += n;
        heartbeat({ deleted });
        if (n < METRICS_BATCH) break;
      }
      if (deleted > 0) logger.info({ deleted, maxAgeDays }, 'expired metrics deleted');
      return { deleted };
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
