// Reading an activity's (or child's) failure inside a workflow: its message, and whether
// it was a refusal that no retry can mend. Deterministic.
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/workflow';

function causeOf(err: unknown): unknown {
  return err instanceof ActivityFailure || err instanceof ChildWorkflowFailure ? err.cause : err;
}

export function failureMessage(err: unknown): string {
  const cause = causeOf(err);
  return cause instanceof Error ? cause.message : String(cause);
}

/** The failure is one of `types` (ApplicationFailure types its activities throw non-retryably). */
export function isRefusal(err: unknown, types: readonly string[]): boolean {
  const cause = causeOf(err);
  return cause instanceof ApplicationFailure && types.includes(cause.type ?? '');
}
