// Creating a rule's row: the one way, for the API and for incident escalation alike.
import { and, eq, inArray } from 'drizzle-orm';
import type { IntentType } from '../domain/adapter-types.js';
import { mitigationRules } from './schema.js';
import { routeKey, type MitigationIntent } from '../domain/intent.js';
import type { Db } from './client.js';

export type RuleRow = typeof mitigationRules.$inferSelect;
export const LIVE_RULE_STATUSES = ['pending', 'active', 'withdrawing'] as const;

export type InsertRuleResult = { ok: true; rule: RuleRow } | { ok: false; liveRule: Pick<RuleRow, 'id' | 'incidentId' | 'status'> | null };

/**
 * Inserts a pending rule. Fails, naming the live rule, when one already holds the same
 * route on the adapter (withdrawing either would pull the route from under the other).
 */
export async function insertRule(
  db: Db,
  v: { workspaceId: number; adapterId: number; intentType: IntentType; intent: MitigationIntent; ttl: number; reason: string | null; incidentId?: number },
): Promise<InsertRuleResult> {
  const key = routeKey(v.intent);
  const [rule] = await db
    .insert(mitigationRules)
    .values({
      workspaceId: v.workspaceId,
      adapterId: v.adapterId,
      targetIp: v.intent.kind === 'blackhole' ? v.intent.prefix : v.intent.destination,
      intentType: v.intentType,
      intent: v.intent,
      routeKey: key,
      ttl: v.ttl,
      reason: v.reason,
      incidentId: v.incidentId ?? null,
    })
    .onConflictDoNothing()
    .returning();
  if (rule) return { ok: true, rule };
  const [live] = await db
    .select({ id: mitigationRules.id, incidentId: mitigationRules.incidentId, status: mitigationRules.status })
    .from(mitigationRules)
    .where(and(eq(mitigationRules.adapterId, v.adapterId), eq(mitigationRules.routeKey, key), inArray(mitigationRules.status, [...LIVE_RULE_STATUSES])));
  return { ok: false, liveRule: live ?? null };
}
