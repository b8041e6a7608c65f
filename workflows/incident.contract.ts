// The incident workflow's contract: its id, its messages and the payloads its activities
// (activities/incident.ts) and its client (clients/incident.ts) exchange with it. Pure.
// Bound to the replay fixtures: message names and payload shapes are in recorded histories.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Tier, TierLevel } from '../domain/escalation.js';
import type { FirewallSuite } from '../domain/firewall.js';
import type { RuleWorkflowInput } from './rule.contract.js';

/** One workflow per incident row. */
export const incidentWorkflowId = (incidentId: number) => `incident:${incidentId}`;

/** What the agent last reported of the attack. */
export interface Figures {
  pps: number;
  bps: number;
}

export interface IncidentRule {
  ruleId: number;
  level: TierLevel;
  /** One of geo lockdown's rules, not the tier's own. */
  geo?: boolean;
}

export interface IncidentState {
  tier: TierLevel | 0;
  rules: IncidentRule[];
  /** Latest figures reported. */
  figures: Figures;
  /** When the figures first fell below the current tier (epoch ms), null while at or above it. */
  belowSinceMs: number | null;
  /** The attack ended (the agent resolved it). */
  ended: boolean;
  /** Counter for idempotency keys of the timeline entries the workflow writes. */
  seq: number;
  /** Geo lockdown is in the node's firewall (so stepping down to 0 removes it there). */
  geoFirewall?: { nodeId: number; nodeUuid: string; suite: FirewallSuite };
  /** Geo lockdown waits for a capture's attack verdict (the tier it is for): a guess never drops a country. */
  geoWaiting?: TierLevel;
}

export interface IncidentWorkflowInput {
  incidentId: number;
  /** Carried over by continue-as-new. */
  state?: IncidentState;
}

/** The tiers that apply to the incident's target, and how the policy acts on them. */
export interface EscalationPlan {
  tiers: Tier[];
  holdDownSeconds: number;
  dryRun: boolean;
  /** Geo lockdown is enabled (absent in histories older than it). */
  geoLockdown?: boolean;
  /** A prefix incident (carpet bombing) gathers its evidence from its nodes' captures (absent in histories older than it: host). */
  scope?: 'host' | 'prefix';
}

/**
 * A new incident's first step: its plan, and the tier the figures that opened it reach
 * (0: none yet) with that tier's rule already requested.
 */
export type Opening = { plan: EscalationPlan } & ({ level: 0 } | { level: TierLevel; rule: TierRule });

/** A rule to start as a child workflow (its workflow's input). */
export type RuleToStart = RuleWorkflowInput;

/** A tier's rule to start as a child workflow, or null when the tier announces nothing. */
export type TierRule = RuleToStart | null;

/** A tier's rule after the classification changed: one to start, one to withdraw (after the new one is up), both, or neither. */
export interface TierRevision {
  start: RuleToStart | null;
  withdraw: number | null;
  /** For the timeline, with the withdrawn rule. */
  why: string;
}

/**
 * What geo lockdown does for an incident: FlowSpec rules to start as child workflows, or a
 * command for the node's agent; null when it does nothing (the timeline says why).
 */
export type GeoLockdownStep =
  | { kind: 'flowspec'; rules: RuleToStart[] }
  | { kind: 'firewall'; nodeId: number; nodeUuid: string; suite: FirewallSuite; countries: string[] }
  /** Not until the capture shows an attack (or the policy acts without one); the timeline says so. */
  | { kind: 'waiting' }
  | null;

/** The agent's latest figures. */
export const metricsSignal = defineSignal<[Figures]>('metrics');
/** The incident's classification changed what decides its tier rules (verdict, evidence, family, signature). */
export const reclassifiedSignal = defineSignal('reclassified');
/** The agent reports the attack ended. */
export const resolvedSignal = defineSignal('resolved');
export const incidentStateQuery = defineQuery<IncidentState>('state');
