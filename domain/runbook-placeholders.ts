// `{{incident.*}}` placeholders in runbook texts and webhook bodies: the names there are,
// and filling them in from an execution's context. Pure.
import type { RunbookContext, RunInfo } from './runbook-context.js';

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

