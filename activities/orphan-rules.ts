// The orphan-rule sweep's database side: rule rows the API inserted but whose workflow it
// never started (it died, or Temporal was down, in between), whatever their adapter.
import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { mitigationRules } from '../db/schema.js';
import { ruleInput } from '../workflows/rule.contract.js';
import { ORPHAN_AFTER_SECONDS, type OrphanRule } from '../workflows/orphan-rules.contract.js';

/** At most this many a run; the next run takes the rest. */
const BATCH = 200;

export function createOrphanRuleActivities({ db }: { db: Db }) {
  return {
    /** Pending rules older than ORPHAN_AFTER_SECONDS: the API starts a rule's workflow within its request. */
    async findOrphanRules(): Promise<OrphanRule[]> {
      const rows = await db
        .select({ id: mitigationRules.id, ttl: mitigationRules.ttl, scrubbingId: mitigationRules.scrubbingId })
        .from(mitigationRules)
        .where(and(eq(mitigationRules.status, 'pending'), lt(mitigationRules.createdAt, sql`now() - make_interval(secs => ${ORPHAN_AFTER_SECONDS})`)))
        .orderBy(mitigationRules.id)
        .limit(BATCH);
      return rows.map(ruleInput);
    },
  };
}

export type OrphanRuleActivities = ReturnType<typeof createOrphanRuleActivities>;
