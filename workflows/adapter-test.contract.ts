// The adapter-test workflow's contract: its id and outcome. Pure; shared by the workflow,
// its activity (activities/adapter-test.ts) and its client (clients/adapter-test.ts).

/** One workflow per check: `unique` is a fresh UUID. */
export const adapterTestWorkflowId = (adapterId: number, unique: string) => `adapter-test:${adapterId}:${unique}`;

export type AdapterTestOutcome =
  | { ok: true; latencyMs: number; detail: string }
  | { ok: false; latencyMs: number; error: string };
