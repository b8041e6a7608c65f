// Reconciliation: what a speaker announces must equal what the rules say, both ways. A live
// rule whose route is missing (the speaker restarted, a session reset) is announced again;
// a route no live rule holds (a withdrawal lost in a crash, a route injected by hand) is
// withdrawn. Rules of every adapter driving the same speaker count (tenants may share one).
// Each repair is recorded on its rule, or on the adapter when no rule announced the route.
import { and, desc, eq, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { FINAL_RULE_STATUSES, LIVE_RULE_STATUSES, mitigationAdapters, mitigationRules, routeRepairs, type RepairKind } from '../db/schema.js';
import type { SecretBox } from '../db/secrets.js';
import { routeIntent, routeKey, type MitigationIntent } from '../domain/intent.js';
import type { ReconcileOutcome } from '../workflows/reconcile.contract.js';
import type { AdapterRegistry } from './adapters/index.js';
import { CredentialsRefused, type MitigationAdapter } from './adapters/types.js';
import { reconcileRepairs } from '../metrics/registry.js';

type RuleRow = typeof mitigationRules.$inferSelect;
type AdapterRow = typeof mitigationAdapters.$inferSelect;

/** Clocks of the worker and the database may differ by this much. */
const LISTING_MARGIN_MS = 1000;

export function createReconcileActivities({ db, secrets, adapters, logger }: { db: Db; secrets: SecretBox; adapters: AdapterRegistry; logger: Logger }) {
  const ruleStatus = async (id: number) => (await db.select({ status: mitigationRules.status }).from(mitigationRules).where(eq(mitigationRules.id, id)))[0]?.status;

  /** Live rules holding one of `keys` on any adapter that drives the same speaker. */
  async function liveOnSpeaker(adapter: AdapterRow, keys: string[]): Promise<RuleRow[]> {
    if (keys.length === 0) return [];
    const rows = await db
      .select({ rule: mitigationRules })
      .from(mitigationRules)
      .innerJoin(mitigationAdapters, eq(mitigationAdapters.id, mitigationRules.adapterId))
      .where(
        and(
          eq(mitigationAdapters.adapterType, adapter.adapterType),
          eq(mitigationAdapters.endpoint, adapter.endpoint),
          inArray(mitigationRules.routeKey, keys),
          inArray(mitigationRules.status, [...LIVE_RULE_STATUSES]),
        ),
      );
    return rows.map((r) => r.rule);
  }

  async function record(adapter: AdapterRow, ruleId: number | null, kind: RepairKind, key: string) {
    await db.insert(routeRepairs).values({ adapterId: adapter.id, ruleId, kind, routeKey: key });
    reconcileRepairs.inc({ adapter_type: adapter.adapterType, kind });
    logger.warn({ adapterId: adapter.id, ruleId, kind, route: key }, 'route repaired');
  }

  return {
    async reconcileAdapter(adapterId: number): Promise<ReconcileOutcome> {
      const [adapter] = await db.select().from(mitigationAdapters).where(eq(mitigationAdapters.id, adapterId));
      if (!adapter || adapter.deletedAt) return { kind: 'skipped', reason: `adapter ${adapterId} no longer exists` };
      if (adapter.reconcilePausedAt) return { kind: 'skipped', reason: `paused since ${adapter.reconcilePausedAt.toISOString()}: the back end refused the adapter's credentials` };
      let impl: MitigationAdapter;
      try {
        impl = adapters.get(adapter, () => (adapter.authTokenEnc ? secrets.open(adapter.authTokenEnc) : null));
      } catch (err) {
        return { kind: 'skipped', reason: (err as Error).message };
      }
      if (!impl.list) return { kind: 'skipped', reason: `a ${adapter.adapterType} back end cannot say what it announces` };

      /** `pause`: no more looks until the adapter is saved (its credentials were refused). */
      const done = (error: string | null, pause = false) =>
        db
          .update(mitigationAdapters)
          .set({ reconciledAt: sql`now()`, reconcileError: error, ...(pause ? { reconcilePausedAt: sql`now()` } : {}) })
          .where(eq(mitigationAdapters.id, adapterId));
      // A rule announced after the listing began may be missing from it: its turn is the next round.
      const listedFrom = new Date(Date.now() - LISTING_MARGIN_MS);
      let listed: MitigationIntent[];
      try {
        listed = await impl.list();
      } catch (err) {
        if (err instanceof CredentialsRefused) {
          // Every few seconds with credentials refused would lock the account: no more until the adapter is saved.
          const error = `${err.message}; reconciliation paused until the adapter is saved`;
          await done(error, true);
          logger.warn({ adapterId, error }, 'reconciliation paused');
          return { kind: 'unreachable', error };
        }
        await done((err as Error).message);
        return { kind: 'unreachable', error: (err as Error).message };
      }
      const have = new Map(listed.map((i) => [routeKey(i), i]));
      const errors: string[] = [];
      const attempt = async (what: string, fn: () => Promise<void>) => {
        try {
          await fn();
          return true;
        } catch (err) {
          errors.push(`${what}: ${(err as Error).message}`);
          return false;
        }
      };

      // Missing: the active rules, read after the listing; one announced after the listing
      // began is not missing, only newer than it (a repair recorded for it would be false).
      // A rule past its TTL is its workflow's to withdraw.
      const want = await db
        .select()
        .from(mitigationRules)
        .where(and(eq(mitigationRules.adapterId, adapterId), eq(mitigationRules.status, 'active'), or(isNull(mitigationRules.expiresAt), gt(mitigationRules.expiresAt, sql`now()`))));
      const reannounced: number[] = [];
      for (const rule of want) {
        if (have.has(rule.routeKey) || (rule.announcedAt !== null && rule.announcedAt >= listedFrom)) continue;
        if (!(await attempt(`announce rule ${rule.id}`, () => impl.announce(routeIntent(rule.intent))))) continue;
        // It may have ended while we announced: then its route goes again, at once.
        if ((await ruleStatus(rule.id)) !== 'active') await attempt(`withdraw rule ${rule.id}`, () => impl.withdraw(routeIntent(rule.intent)));
        else {
          reannounced.push(rule.id);
          await record(adapter, rule.id, 'reannounced', rule.routeKey);
        }
      }

      // Strays: routes no live rule on this speaker holds. The speaker is Bulwark's (DESIGN:
      // every announced route belongs to a rule row), so a blackhole nobody owns is dropped
      // traffic nobody will ever withdraw: it goes, recorded on the ended rule that announced
      // it, or on the adapter alone when none did.
      const wanted = new Set(want.map((r) => r.routeKey));
      const candidates = [...have.keys()].filter((k) => !wanted.has(k));
      const held = new Set((await liveOnSpeaker(adapter, candidates)).map((r) => r.routeKey));
      const ended =
        candidates.length === 0
          ? []
          : await db
              .select()
              .from(mitigationRules)
              .where(and(eq(mitigationRules.adapterId, adapterId), inArray(mitigationRules.routeKey, candidates), inArray(mitigationRules.status, [...FINAL_RULE_STATUSES])))
              .orderBy(desc(mitigationRules.id));
      const lastEnded = new Map<string, RuleRow>();
      for (const r of ended) if (!lastEnded.has(r.routeKey)) lastEnded.set(r.routeKey, r);
      const withdrawn: number[] = [];
      let unowned = 0;
      for (const key of candidates) {
        if (held.has(key)) continue;
        const rule = lastEnded.get(key);
        if (!(await attempt(`withdraw stray ${key}`, () => impl.withdraw(have.get(key)!)))) continue;
        if (rule) withdrawn.push(rule.id);
        else unowned++;
        await record(adapter, rule?.id ?? null, 'withdrew_stray', key);
        // A rule that took the route meanwhile keeps it.
        for (const live of await liveOnSpeaker(adapter, [key])) await attempt(`announce rule ${live.id}`, () => impl.announce(routeIntent(live.intent)));
      }

      await done(errors.length > 0 ? errors.join('; ') : null);
      return { kind: 'reconciled', listed: listed.length, reannounced, withdrawn, unowned, errors };
    },
  };
}

export type ReconcileActivities = ReturnType<typeof createReconcileActivities>;
