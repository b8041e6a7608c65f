// How the API learns that a rule's speaker answered without asking Temporal: the rule's
// activities NOTIFY each status they record (after it is committed), and the API, which
// LISTENs, answers its POST or withdraw at once. Starting the workflow and awaiting this
// costs a few ms; an Update that waits for the announce cost ~40 ms more (README,
// bench:engine-floor). A notification can be lost (the listening connection dropped and
// came back), so waiters also read the rows themselves, all in one query, once a second.
import { inArray, sql, type SQL } from 'drizzle-orm';
import type { Db, DbHandle } from './client.js';
import { FINAL_RULE_STATUSES, mitigationRules, type RuleStatus } from './schema.js';

const CHANNEL = 'bulwark_rule_status';
const POLL_MS = 1000;

/** Tells every listening API that the rule's row now has this status (committed already). */
export async function notifyRuleStatus(db: Db, ruleId: number, status: RuleStatus): Promise<void> {
  await notifyRuleStatuses(db, [ruleId], status);
}

/** The SQL that notifies a status change of the rule whose id is `ruleId` (an expression, e.g. an UPDATE's returned id). */
export const notifyRuleStatusSql = (ruleId: SQL, status: RuleStatus): SQL => sql`pg_notify(${CHANNEL}, ${ruleId} || ' ' || ${status}::text)`;

/** The same for many rules (a rule batch's), in one round trip. */
export async function notifyRuleStatuses(db: Db, ruleIds: number[], status: RuleStatus): Promise<void> {
  if (ruleIds.length === 0) return;
  const payloads = JSON.stringify(ruleIds.map((id) => `${id} ${status}`));
  await db.execute(sql`select pg_notify(${CHANNEL}, p) from json_array_elements_text(${payloads}::json) as p`);
}

/** What a caller waits for: the announcement's answer (active or failed), or the route gone. */
export type RuleMilestone = 'settled' | 'ended';

const reached = (milestone: RuleMilestone, status: RuleStatus) => (milestone === 'settled' ? status !== 'pending' : FINAL_RULE_STATUSES.includes(status));

interface Waiter {
  milestone: RuleMilestone;
  resolve(status: RuleStatus | null): void;
  timer?: NodeJS.Timeout;
}

export interface RuleWait {
  /** The status that reached the milestone, or null when the deadline passed first. */
  readonly status: Promise<RuleStatus | null>;
  /** Stops waiting (e.g. the workflow could not be started): `status` answers null. */
  cancel(): void;
}

export interface RuleStatusWatch {
  /**
   * Waits for the rule to reach the milestone. Call before starting or signalling its
   * workflow, so that no notification can pass unseen. `deadlineMs` null: no deadline.
   */
  wait(ruleId: number, milestone: RuleMilestone, deadlineMs: number | null): Promise<RuleWait>;
  close(): Promise<void>;
}

/**
 * Listens from the first wait on (an API may start while its database is down); until
 * listening succeeds, and whenever it fails, the once-a-second reads carry the answers.
 */
export function watchRuleStatus(handle: Pick<DbHandle, 'db' | 'listen'>): RuleStatusWatch {
  const waiters = new Map<number, Set<Waiter>>();
  let poll: NodeJS.Timeout | undefined;

  const settle = (ruleId: number, status: RuleStatus | null, only?: Waiter) => {
    const set = waiters.get(ruleId);
    if (!set) return;
    for (const w of only ? [only] : [...set]) {
      if (status !== null && !reached(w.milestone, status)) continue;
      clearTimeout(w.timer);
      set.delete(w);
      w.resolve(status);
    }
    if (set.size === 0) waiters.delete(ruleId);
    if (waiters.size === 0) {
      clearInterval(poll);
      poll = undefined;
    }
  };

  let listening: Promise<(() => Promise<void>) | null> | null = null;
  const listen = () => {
    listening ??= handle
      .listen(CHANNEL, (payload) => {
        const [id, status] = payload.split(' ');
        settle(Number(id), status as RuleStatus);
      })
      .catch(() => {
        listening = null; // try again at the next wait; the reads answer meanwhile
        return null;
      });
    return listening;
  };

  async function readRows() {
    const ids = [...waiters.keys()];
    if (ids.length === 0) return;
    const rows = await handle.db.select({ id: mitigationRules.id, status: mitigationRules.status }).from(mitigationRules).where(inArray(mitigationRules.id, ids));
    for (const row of rows) settle(row.id, row.status);
  }

  return {
    async wait(ruleId, milestone, deadlineMs) {
      await listen();
      let resolve!: (s: RuleStatus | null) => void;
      const status = new Promise<RuleStatus | null>((r) => (resolve = r));
      const waiter: Waiter = { milestone, resolve };
      if (!waiters.has(ruleId)) waiters.set(ruleId, new Set());
      waiters.get(ruleId)!.add(waiter);
      if (deadlineMs !== null) waiter.timer = setTimeout(() => settle(ruleId, null, waiter), deadlineMs);
      poll ??= setInterval(() => void readRows().catch(() => undefined), POLL_MS);
      return { status, cancel: () => settle(ruleId, null, waiter) };
    },
    async close() {
      for (const id of [...waiters.keys()]) for (const w of [...waiters.get(id)!]) settle(id, null, w);
      const unlisten = await listening;
      await unlisten?.();
    },
  };
}
