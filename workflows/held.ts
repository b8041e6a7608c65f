// What a rule workflow holds, as workflows/rule.ts drives it: a route through an adapter
// (rule.ts) or a diversion through a scrubbing integration (rule-diversion.ts). Types only.

/** What a rule holds, put in place and taken away: a route through its adapter, or a diversion (rule-diversion.ts). */
export interface Held {
  /** Puts it in place and marks the rule active; the rule's expiry. Throws as an activity failure does. */
  announce(): Promise<{ expiresAtMs: number | null }>;
  /** After a failed announce: whatever may have reached the back end all the same. */
  cleanUpAfterFailure(): Promise<void>;
  /** Why it ended without the rule asking (a diversion withdrawn through the scrubbing API), or null. */
  endedByItself(): string | null;
  /** Takes it away for certain; the rule's row records how the rule ended. */
  withdraw(outcome: 'withdrawn' | 'expired', reason: string): Promise<void>;
}
