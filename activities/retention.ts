// Housekeeping: captures are large, so they are kept only for a while.
import { heartbeat } from '@temporalio/activity';
import { inArray, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { pcaps } from '../db/schema.js';
import type { RetentionResult } from '../workflows/retention.contract.js';

const BATCH = 50;

export function createRetentionActivities({ db, logger }: { db: Db; logger: Logger }) {
  return {
    /** Deletes captures (and their bytes) taken more than `maxAgeDays` ago, a batch per transaction. */
    async deleteExpiredPcaps(maxAgeDays: number): Promise<RetentionResult> {
      const cutoff = sql`now() - make_interval(days => ${maxAgeDays})`;
      let deleted = 0;
      for (;;) {
        const batch = await db.select({ id: pcaps.id }).from(pcaps).where(lt(pcaps.capturedAt, cutoff)).limit(BATCH);
        if (batch.length === 0) break;
        // Chunks go with their capture (ON DELETE CASCADE).
        await db.delete(pcaps).where(inArray(pcaps.id, batch.map((b) => b.id)));
        deleted += batch.length;
        heartbeat({ deleted });
      }
      if (deleted > 0) logger.info({ deleted, maxAgeDays }, 'expired captures deleted');
      return { deleted };
    },
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
