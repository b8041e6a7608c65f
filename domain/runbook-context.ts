// What a runbook execution runs against: the incident it serves (or a synthetic one for a
// test run), and the names it runs under. Pure.
import type { AttackFamily } from './attack.js';
import type { Severity } from './escalation.js';

/** What an execution runs against. `nodeUuid` null: nothing on a host, zone or provider is touched (simulated). */
export interface RunbookContext {
  incidentId: number | null;
  family: AttackFamily;
  /** The classifier's subtype (amplification vector, multi_vector's families). */
  subtype: string | null;
  severity: Severity;
  pps: number;
  bps: number;
  tier: number;
  nodeId: number | null;
  nodeUuid: string | null;
  nodeName: string | null;
  target: string;
  startedAt: string;
}

/** A manual run without a node: plausible figures, a documentation address, nothing real. */
export function syntheticContext(now: Date): RunbookContext {
  return { incidentId: null, family: 'udp_flood', subtype: null, severity: 'high', pps: 1_000_000, bps: 8_000_000_000, tier: 1, nodeId: null, nodeUuid: null, nodeName: null, target: '192.0.2.1', startedAt: now.toISOString() };
}

export interface RunInfo {
  runbookId: number;
  runbookName: string;
  executionId: number;
}

/** Secrets of a runbook's webhook steps, by step index (sealed in runbooks.secrets_enc, never answered). */
export type StepSecrets = Record<number, { hmac_secret?: string; headers?: Record<string, string> }>;

