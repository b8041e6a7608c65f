// Bundles the host agent (agent/main.ts, the domain code it uses, and pino) into one
// ES module that plain node runs: dist/agent.mjs. No TypeScript loader at run time (tsx
// alone was ~20 MiB of the agent's memory), and a host needs that one file and node >= 20,
// no node_modules. esbuild's metafile is kept beside it (dist/agent.meta.json): with
// --if-stale the bundle is rebuilt only when it is missing or older than one of its inputs.
//   node scripts/build-agent.mjs [--if-stale] [--outfile dist/agent.mjs]
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'if-stale': { type: 'boolean', default: false }, outfile: { type: 'string', default: join(root, 'dist', 'agent.mjs') } } });
const outfile = values.outfile;
const metafile = outfile.replace(/\.mjs$/, '') + '.meta.json';

/** The bundle exists and none of the files it was built from changed since. */
function fresh() {
  try {
    const builtMs = statSync(outfile).mtimeMs;
    const inputs = Object.keys(JSON.parse(readFileSync(metafile, 'utf8')).inputs);
    return inputs.length > 0 && inputs.every((f) => statSync(join(root, f)).mtimeMs <= builtMs);
  } catch {
    return false; // missing, or an input gone: build
  }
}

if (!(values['if-stale'] && fresh())) {
  const started = performance.now();
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['agent/main.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // CommonJS dependencies (pino) call require() for node's own modules: give them one.
    banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
    // Smaller to parse and hold; names are kept, so stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  // The agent imports only types from domain/agent-protocol.ts: zod (the server's
  // validation) would add ~7 MiB to every host's agent. Name what pulled it in.
  if (Object.keys(result.metafile.inputs).some((f) => f.includes('node_modules/zod/'))) {
    const via = Object.entries(result.metafile.inputs).filter(([f, i]) => !f.includes('node_modules/zod/') && i.imports.some((x) => x.path.includes('node_modules/zod/'))).map(([f]) => f);
    rmSync(outfile, { force: true });
    console.error(`build-agent: zod got into the agent's bundle (imported by ${via.join(', ')}): agent code imports only types from the protocol's schemas`);
    process.exit(1);
  }
  writeFileSync(metafile, JSON.stringify(result.metafile));
  const bytes = statSync(outfile).size;
  console.error(`build-agent: ${outfile} (${(bytes / 1024).toFixed(0)} KiB) in ${(performance.now() - started).toFixed(0)} ms`);
}
