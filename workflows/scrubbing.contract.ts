// The scrubbing family's contract: a diversion (`scrubbing:<integration id>`) and a
// connectivity/status check (`scrubbing-check:<id>:<nonce>`), their messages and payloads.
// Pure; shared by the workflows, their activities (activities/scrubbing.ts) and their
// client (clients/scrubbing.ts).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** One diversion per integration: announcing again finds the running one. */
export const scrubbingWorkflowId = (integrationId: number) => `scrubbing:${integrationId}`;
export const scrubbingCheckWorkflowId = (integrationId: number, nonce: string) => `scrubbing-check:${integrationId}:${nonce}`;

export interface DiversionInput {
  integrationId: number;
  /** 0 = until withdrawn. */
  ttlSeconds: number;
  reason: string | null;
  /** How often the provider is asked while the diversion holds (drift); default DRIFT_POLL_SECONDS. */
  watchSeconds?: number;
}

export type DiversionPhase = 'activating' | 'active' | 'deactivating' | 'inactive' | 'failed';

export interface DiversionState {
  phase: DiversionPhase;
  /** Epoch ms when the TTL ends; null without one (or before active). */
  expiresAtMs: number | null;
  /** The provider's error, for a failed diversion. */
  error: string | null;
}

/** Resolves once the provider confirmed the diversion (active) or it failed. */
export const activeUpdate = defineUpdate<DiversionState>('active');
/** Ends the diversion and resolves once the provider confirmed it off (inactive) or it failed. */
export const withdrawUpdate = defineUpdate<DiversionState, [{ reason?: string }]>('withdraw');
export const diversionStateQuery = defineQuery<DiversionState>('state');
/** Ends the diversion, for a parent (the scrubbing rule holding it), which cannot send updates. */
export const endDiversionSignal = defineSignal<[{ reason?: string }]>('end');
/** To the parent, if any: the diversion is active, failed, or ended (workflows cannot query their children). */
export const diversionPhaseSignal = defineSignal<[DiversionState]>('diversionPhase');

/** How long a provider may take to confirm a change (Hetzner applies firewall rules asynchronously). */
export const CONFIRM_TIMEOUT_SECONDS = 300;
/** How often the provider is asked while waiting, and while holding (to notice drift). */
export const CONFIRM_POLL_SECONDS = 2;
export const DRIFT_POLL_SECONDS = 30;

/** What POST /scrubbing/{id}/test and GET /scrubbing/{id}/status report of the provider. */
export type ScrubbingCheck =
  | { reachable: true; latencyMs: number; diverting: boolean; detail: string }
  | { reachable: false; latencyMs: number; error: string };
