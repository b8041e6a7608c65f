// The rule workflow's contract: its id, its messages and payloads. Pure, so the workflow,
// its activities (activities/rule.ts) and its client (clients/rule.ts) share one definition.
// Bound to the replay fixtures: message names and payload shapes are in recorded histories.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** One workflow per rule row: a repeated request finds the running workflow. */
export const ruleWorkflowId = (ruleId: number) => `rule:${ruleId}`;

export interface RuleWorkflowInput {
  ruleId: number;
  /** 0 = until withdrawn. */
  ttlSeconds: number;
  /** A scrubbing rule: the integration whose diversion (`scrubbing:<id>`, a child) the rule holds. */
  scrubbingId?: number;
}

/** The workflow input for a rule's row. */
export function ruleInput(row: { id: number; ttl: number; scrubbingId: number | null }): RuleWorkflowInput {
  return row.scrubbingId === null ? { ruleId: row.id, ttlSeconds: row.ttl } : { ruleId: row.id, ttlSeconds: row.ttl, scrubbingId: row.scrubbingId };
}

export type RulePhase = 'announcing' | 'active' | 'withdrawing' | 'withdrawn' | 'expired' | 'failed';

/** Phases after which the route is gone for certain. */
export const ENDED_RULE_PHASES: readonly RulePhase[] = ['withdrawn', 'expired', 'failed'];

export interface RuleState {
  phase: RulePhase;
  /** Epoch ms when the TTL ends, null while announcing or without TTL. */
  expiresAtMs: number | null;
  /** The adapter's error for a failed rule. */
  error: string | null;
}

export interface WithdrawRequest {
  reason?: string;
}

/** How a rule ended, as the withdraw activity records it. */
export type RuleOutcome = 'withdrawn' | 'expired' | 'failed';

/** Resolves once the announcement settled: phase active, or failed with the error. */
export const announcedUpdate = defineUpdate<RuleState>('announced');
/** Asks for withdrawal and resolves once the route is gone. */
export const withdrawUpdate = defineUpdate<RuleState, [WithdrawRequest]>('withdraw');
/** Fire-and-forget withdrawal (e.g. from an incident that ended). */
export const withdrawSignal = defineSignal<[WithdrawRequest]>('withdraw');
/** Sets a new TTL counted from now (0 = until withdrawn). */
export const extendTtlUpdate = defineUpdate<RuleState, [{ ttlSeconds: number }]>('extendTtl');
export const stateQuery = defineQuery<RuleState>('state');
