// The messages Bulwark sends people: an incident's open, tier change and resolution, a
// runbook's notify step, a channel test. One wording for every channel (domain/channels.ts
// renders it per service). Pure.
import type { Notice } from './channels.js';
import type { Severity } from './escalation.js';
import type { RunbookContext, RunInfo } from './runbook-context.js';

export interface IncidentFacts {
  id: number;
  family: string;
  subtype: string | null;
  severity: Severity;
  target: string;
  node: string;
  pps: number;
  bps: number;
  tier: number;
}

/** Same incident, same alert (PagerDuty dedup_key, Opsgenie alias). */
export const incidentAlertKey = (incidentId: number) => `bulwark-incident-${incidentId}`;

const rate = (n: number, unit: string) => {
  for (const [d, p] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) if (n >= d) return `${(n / d).toFixed(1)} ${p}${unit}`;
  return `${n} ${unit}`;
};

const facts = (i: IncidentFacts): Array<[string, string]> => [
  ['Target', i.target],
  ['Node', i.node],
  ['Attack', i.subtype ? `${i.family} (${i.subtype})` : i.family],
  ['Traffic', `${rate(i.pps, 'pps')}, ${rate(i.bps, 'bps')}`],
  ['Tier', String(i.tier)],
  ['Severity', i.severity],
];

export function incidentNotice(event: 'incident_open' | 'tier_change' | 'incident_resolved', i: IncidentFacts, at: Date): Notice {
  const base = { severity: i.severity, alertKey: incidentAlertKey(i.id), fields: facts(i), at: at.toISOString() };
  switch (event) {
    case 'incident_open':
      return { ...base, kind: event, resolves: false, title: `Attack on ${i.target}: ${i.family}`, text: `Incident ${i.id} opened: ${i.family} at ${rate(i.pps, 'pps')} against ${i.target} (${i.node}).` };
    case 'tier_change':
      return { ...base, kind: event, resolves: false, title: `Incident ${i.id} at tier ${i.tier}`, text: `Escalation for ${i.target} is now at tier ${i.tier} (${rate(i.pps, 'pps')}, ${rate(i.bps, 'bps')}).` };
    case 'incident_resolved':
      return { ...base, kind: event, resolves: true, title: `Resolved: attack on ${i.target}`, text: `Incident ${i.id} resolved; what it announced is withdrawn.` };
  }
}

export function runbookNotice(run: RunInfo, ctx: RunbookContext, message: string | undefined, at: Date): Notice {
  const incident = ctx.incidentId === null ? 'a test run (no incident)' : `incident ${ctx.incidentId}`;
  return {
    kind: 'runbook',
    severity: ctx.severity,
    // Part of the incident's alert when there is one; a test run's own otherwise.
    alertKey: ctx.incidentId === null ? `bulwark-runbook-exec-${run.executionId}` : `bulwark-incident-${ctx.incidentId}`,
    resolves: false,
    title: `Runbook "${run.runbookName}"`,
    text: message ?? `Runbook "${run.runbookName}" (execution ${run.executionId}) is running for ${incident}: ${ctx.family} against ${ctx.target}.`,
    fields: [
      ['Target', ctx.target],
      ['Attack', ctx.family],
      ['Traffic', `${rate(ctx.pps, 'pps')}, ${rate(ctx.bps, 'bps')}`],
      ['Execution', String(run.executionId)],
    ],
    at: at.toISOString(),
  };
}

export function testNotice(channelName: string, at: Date): Notice {
  return {
    kind: 'test',
    severity: 'low',
    alertKey: `bulwark-test-${at.getTime()}`,
    resolves: false,
    title: 'Bulwark test notification',
    text: `Channel "${channelName}" is set up: Bulwark will notify it here.`,
    fields: [],
    at: at.toISOString(),
  };
}
