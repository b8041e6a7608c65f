// What a runbook execution decides without I/O: whether an incident meets a runbook's
// trigger conditions, and a condition step's verdict. Pure and free of zod at run time:
// the runbook workflow imports it.
import { LEGACY_FAMILIES } from './attack.js';
import { parseAddress, parsePrefix, prefixContains } from './prefix.js';
import type { RunbookContext } from './runbook-context.js';
import type { RunbookStep, StepConfig, TriggerConditions } from './runbook-schemas.js';

const SEVERITY_ORDER: readonly RunbookContext['severity'][] = ['low', 'medium', 'high', 'critical'];

/**
 * The families an incident counts as, for matching: its own and each part of a
 * multi-vector attack, names from before the reference's vocabulary (in executions
 * recorded then) read as today's.
 */
export function familiesOf(family: RunbookContext['family'], subtype: string | null): Set<string> {
  const out = new Set<string>();
  const add = (f: string) => out.add(LEGACY_FAMILIES[f]?.family ?? f);
  add(family);
  if (family === 'multi_vector' && subtype) for (const part of subtype.split('+')) add(part);
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

/** Steps that touch a host, a zone or a provider: simulated in a run without a node. */
export const TOUCHES_INFRASTRUCTURE: ReadonlySet<RunbookStep['action_type']> = new Set(['iptables', 'cloudflare_uam', 'scrubbing_enable']);
