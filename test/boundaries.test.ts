// The layering (README "Layout") holds: domain/ is pure, workflow code deterministic, the
// API reaches Temporal only through clients/, the agent and the server share only domain/,
// no route file imports another, no import cycles. Each rule is also shown to catch a
// made-up file that breaks it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findViolations, importsOf, readTree } from './support/import-rules.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const FOLDERS = ['domain', 'db', 'workflows', 'activities', 'clients', 'api', 'cmd', 'agent', 'metrics'];

describe('module boundaries', () => {
  it('hold across the tree', () => {
    const files = readTree(ROOT, FOLDERS);
    // The scan sees the tree: every folder, and a few hundred imports.
    for (const folder of FOLDERS) expect([...files.keys()].some((f) => f.startsWith(`${folder}/`)), folder).toBe(true);
    expect([...files].reduce((n, [file, src]) => n + importsOf(file, src).length, 0)).toBeGreaterThan(300);
    expect(findViolations(files)).toEqual([]);
  });

  const tree = (extra: Record<string, string>) =>
    new Map(
      Object.entries({
        'domain/prefix.ts': 'export const x = 1;\n',
        'db/rules.ts': "import { x } from '../domain/prefix.js';\n",
        'activities/rule.ts': "export function createRuleActivities() { return {}; }\n",
        'workflows/rule.contract.ts': "import { defineSignal } from '@temporalio/workflow';\n",
        'workflows/rule.ts': "import type { RuleActivities } from '../activities/rule.js';\nimport { ruleWorkflowId } from './rule.contract.js';\n",
        'clients/rule.ts': "import { WithStartWorkflowOperation } from '@temporalio/client';\nimport { ruleWorkflow } from '../workflows/rule.js';\n",
        'api/routes/rules.ts': "import { startRule } from '../../clients/rule.js';\nimport { ruleWorkflowId } from '../../workflows/rule.contract.js';\n",
        'api/routes/nodes.ts': "export const nodesRouter = 1;\n",
        'agent/main.ts': "import { x } from '../domain/prefix.js';\nimport { pino } from 'pino';\n",
        ...extra,
      }),
    );

  it('find nothing in a tree that keeps them', () => {
    expect(findViolations(tree({}))).toEqual([]);
  });

  it.each([
    ['domain/ imports a Node built-in', { 'domain/pcap.ts': "import { readFileSync } from 'node:fs';\n" }, 'domain/ is pure'],
    ['domain/ imports db/', { 'domain/safety.ts': "import { x } from '../db/rules.js';\n" }, 'domain/ is pure'],
    ['a workflow runs an activity module', { 'workflows/incident.ts': "import { createRuleActivities } from '../activities/rule.js';\n" }, 'workflow code'],
    ['a workflow imports pino', { 'workflows/incident.ts': "import { pino } from 'pino';\n" }, 'workflow code'],
    ['a contract imports a workflow', { 'workflows/incident.contract.ts': "import { ruleWorkflow } from './rule.js';\n" }, 'a workflow contract is pure'],
    ['a route talks to Temporal', { 'api/routes/nodes.ts': "import { Client } from '@temporalio/client';\n" }, 'api/ reaches Temporal'],
    ['a route imports workflow code', { 'api/routes/nodes.ts': "import { ruleWorkflow } from '../../workflows/rule.js';\n" }, 'api/ reaches Temporal'],
    ['the API imports an activity', { 'api/routes/nodes.ts': "import { createRuleActivities } from '../../activities/rule.js';\n" }, 'api/ reaches Temporal'],
    ['the API imports the agent', { 'api/views/pcaps.ts': "import { parsePcap } from '../../agent/pcap.js';\n", 'agent/pcap.ts': '' }, 'api/ reaches Temporal'],
    ['a route imports a route', { 'api/routes/nodes.ts': "import { startRule } from './rules.js';\n" }, 'no route file imports another'],
    ['an activity is a Temporal client', { 'activities/rule.ts': "import { Client } from '@temporalio/client';\n" }, '@temporalio/client only'],
    ['db/ imports an activity', { 'db/rules.ts': "import { createRuleActivities } from '../activities/rule.js';\n" }, 'db/ is data access'],
    ['an activity imports a client', { 'activities/rule.ts': "import { startRule } from '../clients/rule.js';\n" }, 'activities/ never reach'],
    ['the agent imports db/', { 'agent/main.ts': "import { x } from '../db/rules.js';\n" }, 'the agent imports only'],
    ['metrics/ imports db/', { 'metrics/registry.ts': "import { x } from '../db/rules.js';\n" }, 'metrics/ imports only'],
    ['a CLI imports the agent', { 'cmd/start.ts': "import { x } from '../agent/main.js';\n" }, 'the server imports nothing from agent/'],
    ['an import names no file', { 'db/rules.ts': "import { x } from '../domain/missing.js';\n" }, 'imports resolve'],
    [
      'two modules import each other',
      { 'db/rules.ts': "import { a } from './adapters.js';\n", 'db/adapters.ts': "export {\n  b,\n} from './rules.js';\n" },
      'no import cycles',
    ],
  ])('catch it when %s', (_what, extra, rule) => {
    const found = findViolations(tree(extra));
    expect(found.map((v) => v.rule).some((r) => r.startsWith(rule)), JSON.stringify(found)).toBe(true);
  });

  it('read multi-line, type-only and dynamic imports, and no comment as one', () => {
    const refs = importsOf(
      'workflows/x.ts',
      [
        'import {\n  a,\n  b,\n} from "./a.contract.js";',
        "import type { T } from '../activities/rule.js';",
        "const m = await import('../domain/prefix.js');",
        "export interface X {\n  /** comes from 'y' */\n  a: number;\n}",
      ].join('\n'),
    );
    expect(refs).toEqual([
      { spec: './a.contract.js', target: 'workflows/a.contract.ts', typeOnly: false },
      { spec: '../activities/rule.js', target: 'activities/rule.ts', typeOnly: true },
      { spec: '../domain/prefix.js', target: 'domain/prefix.ts', typeOnly: false },
    ]);
  });
});
