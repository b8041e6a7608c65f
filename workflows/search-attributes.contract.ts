// What the Temporal UI finds Bulwark's workflows by: custom search attributes (workspace,
// kind, target, adapter, incident, node, status) set when a workflow starts, and a
// one-line static summary. Pure; shared by the clients, the workflows that start
// children, the rule workflow (its status) and the dev server that registers them
// (cmd/temporal-dev.ts; a production cluster registers them by hand, README).
import { workflowInfo } from '@temporalio/workflow';

/** The attributes, as `@temporalio/common`'s search attribute keys ({ name, type }). */
export const SEARCH_ATTRIBUTES = {
  workspace: { name: 'BulwarkWorkspace', type: 'INT' },
  /** A rule's intent (blackhole, flowspec, scrubbing); else the family (incident, runbook) or the node command's type. */
  kind: { name: 'BulwarkKind', type: 'KEYWORD' },
  /** The rule's or diversion's target prefix, as the API answers it (203.0.113.50/32). */
  target: { name: 'BulwarkTarget', type: 'KEYWORD' },
  adapter: { name: 'BulwarkAdapter', type: 'INT' },
  incident: { name: 'BulwarkIncident', type: 'INT' },
  /** The node's uuid. */
  node: { name: 'BulwarkNode', type: 'KEYWORD' },
  /** A rule's status as the API answers it (pending, active, withdrawing, withdrawn, expired, failed), kept up to date by the rule workflow. */
  status: { name: 'BulwarkStatus', type: 'KEYWORD' },
} as const;

/** What a workflow is about; each known field becomes its search attribute. */
export interface WorkflowLabels {
  workspaceId?: number;
  kind?: string;
  target?: string;
  adapterId?: number;
  incidentId?: number;
  node?: string;
  status?: string;
}

type IntKey = { name: string; type: 'INT' };
type KeywordKey = { name: string; type: 'KEYWORD' };
/** One typed search attribute, as `typedSearchAttributes` and `upsertSearchAttributes` take it. */
export type SearchAttributePair = { key: IntKey; value: number } | { key: KeywordKey; value: string };

/** The labels' search attributes, the unknown ones left out. */
export function searchAttributePairs(l: WorkflowLabels): SearchAttributePair[] {
  const a = SEARCH_ATTRIBUTES;
  const ints: Array<[IntKey, number | undefined]> = [
    [a.workspace, l.workspaceId],
    [a.adapter, l.adapterId],
    [a.incident, l.incidentId],
  ];
  const keywords: Array<[KeywordKey, string | undefined]> = [
    [a.kind, l.kind],
    [a.target, l.target],
    [a.node, l.node],
    [a.status, l.status],
  ];
  return [
    ...ints.flatMap(([key, value]) => (value === undefined ? [] : [{ key, value }])),
    ...keywords.flatMap(([key, value]) => (value === undefined ? [] : [{ key, value }])),
  ];
}

/**
 * Inside a workflow: whether it was started with Bulwark's search attributes, so the
 * namespace has them registered and upserting them (or giving them to children) cannot
 * fail its workflow tasks. Workflows started without them (a cluster where they are not
 * registered, or before they existed) never set any.
 */
export function carriesSearchAttributes(): boolean {
  return workflowInfo().typedSearchAttributes.get(SEARCH_ATTRIBUTES.kind) !== undefined;
}

/**
 * Inside a workflow, a child's start options for the UI: its summary, and its search
 * attributes when this workflow carries them (so they are registered).
 */
export function childDescribedAs(labels: WorkflowLabels, summary: string): { typedSearchAttributes?: SearchAttributePair[]; staticSummary: string } {
  return carriesSearchAttributes() ? { typedSearchAttributes: searchAttributePairs(labels), staticSummary: summary } : { staticSummary: summary };
}

/** A rule's one-line summary: "blackhole 203.0.113.50/32 via Core Router, ttl 3600 s". */
export function ruleSummary(r: { intentType: string; target: string; via: string; ttlSeconds: number; incidentId?: number | null }): string {
  const ttl = r.ttlSeconds === 0 ? 'until withdrawn' : `ttl ${r.ttlSeconds} s`;
  return `${r.intentType} ${r.target} via ${r.via}, ${ttl}${r.incidentId == null ? '' : `, incident ${r.incidentId}`}`;
}
