// Rule rows written straight into the database, without workflows: many live rules fast,
// for the list endpoint's tests and bench/rules-list.ts. No speaker holds their routes.
import type { Db } from '../../db/client.js';
import { mitigationAdapters, mitigationRules, type RuleStatus } from '../../db/schema.js';
import { routeKey, type BlackholeIntent } from '../../domain/intent.js';

/** An ExaBGP adapter row nobody dials, for rows to point at. */
export async function insertIdleAdapter(db: Db, workspaceId: number, name = 'Core Router'): Promise<number> {
  const [row] = await db
    .insert(mitigationAdapters)
    .values({ workspaceId, adapterType: 'exabgp', name, endpoint: '192.0.2.1:5000', capabilities: ['blackhole'] })
    .returning({ id: mitigationAdapters.id });
  return row!.id;
}

/**
 * `n` blackhole rules of the workspace on the adapter, targets `2001:db8:<block>::<i>/128`
 * (i from 1), in id order; `status` for all of them (default active). Answers their ids.
 */
export async function insertRuleRows(db: Db, o: { workspaceId: number; adapterId: number; n: number; block?: number; status?: RuleStatus }): Promise<number[]> {
  const ids: number[] = [];
  const status = o.status ?? 'active';
  const now = new Date();
  // A few thousand rows per statement keeps each under PostgreSQL's 65,535 parameters.
  for (let from = 0; from < o.n; from += 2000) {
    const values = [];
    for (let i = from; i < Math.min(o.n, from + 2000); i++) {
      const intent: BlackholeIntent = {
        kind: 'blackhole',
        prefix: `2001:db8:${(o.block ?? 0).toString(16)}::${(i + 1).toString(16)}/128`,
        nextHop: '192.0.2.1',
        communities: ['65535:666', '65535:65281'],
      };
      values.push({
        workspaceId: o.workspaceId,
        adapterId: o.adapterId,
        targetIp: intent.prefix,
        intentType: 'blackhole' as const,
        intent,
        routeKey: routeKey(intent),
        ttl: 0,
        reason: 'seeded',
        status,
        announcedAt: status === 'pending' ? null : now,
        endedAt: ['withdrawn', 'expired', 'failed'].includes(status) ? now : null,
      });
    }
    const rows = await db.insert(mitigationRules).values(values).returning({ id: mitigationRules.id });
    ids.push(...rows.map((r) => r.id));
  }
  return ids.sort((a, b) => a - b);
}
