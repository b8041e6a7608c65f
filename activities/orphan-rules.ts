// The orphan-rule sweep's database side: rule rows the API inserted but whose workflow it
// never started (it died, or Temporal was down, in between), whatever their adapter.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { mitigationRules } from '../db/schema.js';
import { ruleInput } from '../workflows/rule.contract.js';
import { ORPHAN_AFTER_SECONDS, type OrphanBatch, type OrphanRule } from '../workflows/orphan-rules.contract.js';

/** At most this many a run; the next run takes the rest. */
const BATCH = 200;

export function createOrphanRuleActivities({ db }: { db: Db }) {
  return {
    /** Pending rules older than ORPHAN_AFTER_SECONDS (the API starts a rule's workflow within its request), a bulk request's together. */
    async findOrphanRules(): Promise<OrphanRule[]> {
      const rows = await db
        .select({ id: mitigationRules.id, ttl: mitigationRules.ttl, scrubbingId: mitigationRules.scrubbingId, workflowId: mitigationRules.workflowId })
        .from(mitigationRules)
        .where(and(eq(mitigationRules.status, 'pending'), lt(mitigationRules.createdAt, sql`now() - make_interval(secs => ${ORPHAN_AFTER_SECONDS})`)))
        .orderBy(mitigationRules.id)
        .limit(BATCH);
      const batches = new Map<string, OrphanBatch>();
      const singles: OrphanRule[] = [];
      for (const row of rows) {
        if (row.workflowId === null) singles.push(ruleInput(row));
        else {
          if (!batches.has(row.workflowId)) batches.set(row.workflowId, { batchWorkflowId: row.workflowId, input: { ruleIds: [], ttlSeconds: row.ttl } });
          batches.get(row.workflowId)!.input.ruleIds.push(row.id);
        }
      }
      return [...singles, ...batches.values()];
    },
  };
}

export type OrphanRuleActivities = ReturnType<typeof createOrphanRuleActivities>;
