// The rule batch's contract: one workflow (`rules:<uuid>`) holding the rules of one bulk
// request (`POST /mitigation/rules` with `target_ips`), each still its own row with its
// own TTL and its own withdrawal. One workflow for up to 1,024 rules, where a workflow
// per rule costs ~20 ms of CPU each (bench:engine-floor): the engine stops being the
// ceiling of a carpet-bombing response. Pure; shared by the workflow, its activities and
// clients/rule.ts. Bound to the replay fixtures: names and payloads are in histories.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { RuleAbout } from './rule.contract.js';
import { ruleSummary } from './search-attributes.contract.js';

/** A new batch's id (the API builds it before inserting the rows that name it). */
export const ruleBatchWorkflowId = (uuid: string) => `rules:${uuid}`;

/** What the Temporal UI shows of a batch: its labels (every target is its rules' own) and summary. */
export function ruleBatchAbout(b: { workspaceId: number; intentType: string; adapterId: number; via: string; ttlSeconds: number; targets: string[] }): RuleAbout {
  const [first, last] = [b.targets[0] ?? '?', b.targets[b.targets.length - 1] ?? '?'];
  const targets = b.targets.length === 1 ? first : `${b.targets.length} targets (${first} … ${last})`;
  return {
    labels: { workspaceId: b.workspaceId, kind: b.intentType, adapterId: b.adapterId, status: 'pending' },
    summary: ruleSummary({ intentType: b.intentType, target: targets, via: b.via, ttlSeconds: b.ttlSeconds }),
  };
}

export interface RuleBatchInput {
  /** Pending rows of one adapter, whose `workflow_id` is this workflow's. */
  ruleIds: number[];
  /** 0 = until withdrawn; the same for every rule of the request. */
  ttlSeconds: number;
  about?: RuleAbout;
}

/** What the workflow carries over a continue-as-new: the rules still held, and when each expires. */
export interface RuleBatchCarry {
  held: HeldRule[];
}

export interface HeldRule {
  ruleId: number;
  /** Epoch ms; null = until withdrawn. */
  expiresAtMs: number | null;
}

/** One rule's announcement, as the activity reports it. */
export type AnnounceResult =
  | { ruleId: number; outcome: 'active'; expiresAtMs: number | null }
  /** Refused (by the speaker or a safety rail) or out of attempts: its row says failed, with why. */
  | { ruleId: number; outcome: 'failed'; error: string }
  /** The speaker could not be reached this time: worth another attempt. */
  | { ruleId: number; outcome: 'retry'; error: string };

/** A rule to take away, and the words its row keeps. */
export interface RuleEnding {
  ruleId: number;
  outcome: 'withdrawn' | 'expired';
  reason: string;
}

export interface RuleBatchState {
  /** Still being announced. */
  announcing: number[];
  held: HeldRule[];
  /** Withdrawn, expired or failed so far in this run (a continued run starts afresh). */
  ended: number;
}

/** Withdraws some of the batch's rules (the API's DELETE of one of them). */
export const withdrawRulesSignal = defineSignal<[{ ruleIds: number[]; reason: string }]>('withdrawRules');
export const batchStateQuery = defineQuery<RuleBatchState>('state');
