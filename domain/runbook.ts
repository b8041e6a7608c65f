// What a runbook execution knows and decides without I/O: its context (the incident, or a
// synthetic one for a test run), whether an incident meets a runbook's trigger conditions,
// a condition step's verdict, and `{{incident.*}}` placeholders. Pure and free of zod at
// run time: the runbook workflow imports it.
import type { AttackFamily } from './attack.js';
import type { Severity } from './escalation.js';
import { parseAddress, parsePrefix, prefixContains } from './prefix.js';
import type { RunbookStep, StepConfig, TriggerConditions } from './runbook-schemas.js';

const SEVERITY_ORDER: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

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

/**
 * The families an incident counts as, for matching: its own, `udp_flood` for amplification
 * (every reflection vector Bulwark knows is carried over UDP, as the reference names it),
 * and each part of a multi-vector attack.
 */
export function familiesOf(family: AttackFamily, subtype: string | null): Set<string> {
  const out = new Set<string>([family]);
  if (family === 'amplification') out.add('udp_flood');
  if (family === 'multi_vector' && subtype) for (const part of subtype.split('+')) out.add(part);
  return out;
}

const within = (address: string, cidr: string) => {
  const a = parseAddress(address);
  const p = parsePrefix(cidr);
  if (!a || !p.ok) return false;
  return prefixContains(p.prefix, { family: a.family, network: a.value, length: a.family === 4 ? 32 : 128 });
};

/** Which trigger conditions the context fails (empty: the runbook fires). */
export function unmetConditions(c: TriggerConditions, ctx: RunbookContext): string[] {
  const out: string[] = [];
  const families = familiesOf(ctx.family, ctx.subtype);
  if (c.family !== undefined && !(Array.isArray(c.family) ? c.family : [c.family]).some((f) => families.has(f))) out.push('family');
  if (c.severity !== undefined && SEVERITY_ORDER.indexOf(ctx.severity) < SEVERITY_ORDER.indexOf(c.severity)) out.push('severity');
  if (c.min_pps !== undefined && ctx.pps < c.min_pps) out.push('min_pps');
  if (c.min_bps !== undefined && ctx.bps < c.min_bps) out.push('min_bps');
  if (c.tier !== undefined && ctx.tier < c.tier) out.push('tier');
  if (c.nodes !== undefined && (ctx.nodeUuid === null || !c.nodes.includes(ctx.nodeUuid))) out.push('nodes');
  if (c.target_prefix !== undefined && !within(ctx.target, c.target_prefix)) out.push('target_prefix');
  return out;
}

const compare = (a: number, op: string, b: number) =>
  op === 'eq' ? a === b : op === 'ne' ? a !== b : op === 'gt' ? a > b : op === 'gte' ? a >= b : op === 'lt' ? a < b : a <= b;

/** A condition step's verdict on the context. */
export function conditionHolds(c: StepConfig<'condition'>, ctx: RunbookContext): boolean {
  const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
  switch (c.field) {
    case 'family': {
      const families = familiesOf(ctx.family, ctx.subtype);
      const hit = list(c.value).some((f) => families.has(f));
      return c.op === 'ne' ? !hit : hit;
    }
    case 'severity':
      return compare(SEVERITY_ORDER.indexOf(ctx.severity), c.op, SEVERITY_ORDER.indexOf(c.value));
    case 'pps':
    case 'bps':
    case 'tier':
      return compare(ctx[c.field], c.op, c.value);
    case 'node': {
      const hit = ctx.nodeUuid !== null && list(c.value).includes(ctx.nodeUuid);
      return c.op === 'ne' ? !hit : hit;
    }
    case 'target':
      return within(ctx.target, c.value);
  }
}

export function describeCondition(c: StepConfig<'condition'>): string {
  return `${c.field} ${c.op} ${Array.isArray(c.value) ? c.value.join('|') : String(c.value)}`;
}

// ------------------------------------------------------------------ placeholders

const PLACEHOLDER = /\{\{\s*([a-z_.]+)\s*\}\}/g;

const FIELDS: Record<string, (ctx: RunbookContext, run: RunInfo) => string> = {
  'incident.id': (c) => (c.incidentId === null ? 'test' : String(c.incidentId)),
  'incident.family': (c) => c.family,
  'incident.subtype': (c) => c.subtype ?? '',
  'incident.severity': (c) => c.severity,
  'incident.pps': (c) => String(c.pps),
  'incident.bps': (c) => String(c.bps),
  'incident.tier': (c) => String(c.tier),
  'incident.target': (c) => c.target,
  'incident.target_ip': (c) => c.target,
  'incident.node': (c) => c.nodeName ?? c.nodeUuid ?? 'none',
  'incident.node_id': (c) => c.nodeUuid ?? '',
  'incident.started_at': (c) => c.startedAt,
  'runbook.id': (_c, r) => String(r.runbookId),
  'runbook.name': (_c, r) => r.runbookName,
  'execution.id': (_c, r) => String(r.executionId),
};

export const PLACEHOLDERS = Object.keys(FIELDS);

export interface RunInfo {
  runbookId: number;
  runbookName: string;
  executionId: number;
}

export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !(name in FIELDS));
}

export function render(text: string, ctx: RunbookContext, run: RunInfo): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => FIELDS[name]?.(ctx, run) ?? whole);
}

/** Placeholders filled in every string of a JSON value (keys too). */
export function renderJson(value: unknown, ctx: RunbookContext, run: RunInfo): unknown {
  if (typeof value === 'string') return render(value, ctx, run);
  if (Array.isArray(value)) return value.map((v) => renderJson(v, ctx, run));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [render(k, ctx, run), renderJson(v, ctx, run)]));
  return value;
}

/** Every placeholder-bearing string in a JSON value (for validation). */
export function jsonStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(jsonStrings);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...jsonStrings(v)]);
  return [];
}

/** Steps that touch a host, a zone or a provider: simulated in a run without a node. */
export const TOUCHES_INFRASTRUCTURE: ReadonlySet<RunbookStep['action_type']> = new Set(['iptables', 'cloudflare_uam', 'scrubbing_enable']);
