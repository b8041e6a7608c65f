// The layering the code base keeps (README "Layout"), as rules over each file's imports.
// test/boundaries.test.ts runs them on the tree, and on small made-up trees to show that
// each rule does catch what it forbids.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

export interface ImportRef {
  /** As written: './rule.js', '@temporalio/workflow', 'node:fs'. */
  spec: string;
  /** The project file it names (relative, .ts or .tsx), or null for a package or built-in. */
  target: string | null;
  /** `import type` / `export type`: erased at build time, so it never runs. */
  typeOnly: boolean;
}

/** Project files (relative path -> source) under the given top-level folders. */
export function readTree(root: string, folders: readonly string[]): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') || rel.endsWith('.tsx')) files.set(rel, readFileSync(join(root, rel), 'utf8'));
    }
  };
  for (const folder of folders) walk(folder);
  return files;
}

// An import or re-export statement (also `import 'x'`); the clause before `from` holds no
// quote, slash, `;`, `=` or parenthesis, so comments and declarations are not taken for one.
const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'"/;=()]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importsOf(file: string, source: string): ImportRef[] {
  const out: ImportRef[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    const target = spec.startsWith('.') ? normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts') : null;
    out.push({ spec, target, typeOnly });
  };
  for (const m of source.matchAll(IMPORT)) add(m[3]!, m[2] !== undefined);
  for (const m of source.matchAll(DYNAMIC)) add(m[1]!, false);
  return out;
}

const top = (path: string) => path.split('/')[0]!;
const isContract = (path: string) => /^workflows\/[^/]+\.contract\.ts$/.test(path);
const isRoute = (path: string) => path.startsWith('api/routes/');

interface Rule {
  name: string;
  /** A reason when `ref` from `file` breaks the rule, else null. */
  check(file: string, ref: ImportRef): string | null;
}

const RULES: Rule[] = [
  {
    name: 'domain/ is pure: no Node built-ins, nothing but domain/ and zod',
    check: (file, ref) => {
      if (top(file) !== 'domain') return null;
      if (ref.target) return top(ref.target) === 'domain' ? null : `imports ${ref.target}`;
      return ref.spec === 'zod' ? null : `imports ${ref.spec}`;
    },
  },
  {
    name: 'workflow code runs only @temporalio/workflow, domain/ and workflows/ (activities by type only)',
    check: (file, ref) => {
      if (top(file) !== 'workflows') return null;
      if (!ref.target) return ref.spec === '@temporalio/workflow' ? null : `imports ${ref.spec}`;
      const to = top(ref.target);
      if (to === 'domain' || to === 'workflows') return null;
      if (to === 'activities' && ref.typeOnly) return null;
      return `imports ${ref.target}${to === 'activities' ? ' (only `import type` of activities)' : ''}`;
    },
  },
  {
    name: 'a workflow contract is pure: @temporalio/workflow, domain/ and other contracts',
    check: (file, ref) => {
      if (!isContract(file)) return null;
      if (!ref.target) return ref.spec === '@temporalio/workflow' ? null : `imports ${ref.spec}`;
      return top(ref.target) === 'domain' || isContract(ref.target) ? null : `imports ${ref.target}`;
    },
  },
  {
    name: 'api/ reaches Temporal through clients/, and imports neither activities/ nor agent/ nor workflow code',
    check: (file, ref) => {
      if (top(file) !== 'api') return null;
      if (!ref.target) return ref.spec.startsWith('@temporalio/') ? `imports ${ref.spec} (use clients/)` : null;
      const to = top(ref.target);
      if (to === 'activities' || to === 'agent') return `imports ${ref.target}`;
      if (to === 'workflows' && !isContract(ref.target)) return `imports ${ref.target} (use its client, or its contract)`;
      return null;
    },
  },
  {
    name: 'no route file imports another',
    check: (file, ref) => (isRoute(file) && ref.target && isRoute(ref.target) ? `imports ${ref.target}` : null),
  },
  {
    name: '@temporalio/client only in clients/ and cmd/',
    check: (file, ref) => (ref.spec === '@temporalio/client' && !['clients', 'cmd'].includes(top(file)) ? `imports ${ref.spec}` : null),
  },
  {
    name: 'db/ is data access: db/ and domain/ only',
    check: (file, ref) => (top(file) === 'db' && ref.target && !['db', 'domain'].includes(top(ref.target)) ? `imports ${ref.target}` : null),
  },
  {
    name: 'activities/ never reach into api/, clients/ or agent/',
    check: (file, ref) =>
      top(file) === 'activities' && ref.target && ['api', 'clients', 'agent'].includes(top(ref.target)) ? `imports ${ref.target}` : null,
  },
  {
    name: 'the agent imports only agent/ and domain/ of the project',
    check: (file, ref) => (top(file) === 'agent' && ref.target && !['agent', 'domain'].includes(top(ref.target)) ? `imports ${ref.target}` : null),
  },
  {
    name: 'metrics/ imports only metrics/ of the project (api/ and activities/ record into it)',
    check: (file, ref) => (top(file) === 'metrics' && ref.target && top(ref.target) !== 'metrics' ? `imports ${ref.target}` : null),
  },
  {
    name: 'the server imports nothing from agent/',
    check: (file, ref) => (top(file) !== 'agent' && ref.target && top(ref.target) === 'agent' ? `imports ${ref.target}` : null),
  },
];

export interface Violation {
  rule: string;
  file: string;
  reason: string;
}

/** Every import that breaks a rule, and every import cycle among the files. */
export function findViolations(files: Map<string, string>): Violation[] {
  const out: Violation[] = [];
  const graph = new Map<string, string[]>();
  for (const [file, source] of files) {
    // `./x.js` names x.ts, or x.tsx (a page with JSX).
    const refs = importsOf(file, source).map((r) => (r.target && !files.has(r.target) && files.has(`${r.target}x`) ? { ...r, target: `${r.target}x` } : r));
    graph.set(file, refs.filter((r) => r.target && files.has(r.target)).map((r) => r.target!));
    for (const ref of refs) {
      if (ref.target && !files.has(ref.target)) out.push({ rule: 'imports resolve', file, reason: `${ref.spec} names no file (${ref.target})` });
      for (const rule of RULES) {
        const reason = rule.check(file, ref);
        if (reason) out.push({ rule: rule.name, file, reason });
      }
    }
  }
  for (const cycle of cycles(graph)) out.push({ rule: 'no import cycles', file: cycle[0]!, reason: cycle.join(' -> ') });
  return out;
}

/** One cycle per strongly connected group of files that import each other. */
function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}
