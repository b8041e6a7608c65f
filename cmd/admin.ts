// `npm run admin -- <command>`: workspaces and deploy tokens. Output meant for scripts
// (a new token) goes alone on stdout; everything else to stderr.
import { openDb } from '../db/client.js';
import { createToken, createWorkspace, findWorkspace, revokeTokens, setSubscription } from '../db/workspaces.js';
import { loadConfig } from './config.js';

const USAGE = `usage: npm run admin -- <command>
  workspace create <name> [--inactive]
  workspace subscription <name> active|inactive
  token create <workspace-name>        prints the new 64-hex token alone on stdout
  token revoke <token-prefix>          at least the first 8 hex characters`;

async function run(args: string[], db: Awaited<ReturnType<typeof openDb>>['db']): Promise<void> {
  const [noun, verb, ...rest] = args;
  const fail = (msg: string, usage = false): never => {
    throw Object.assign(new Error(msg), { usage });
  };
  if (noun === 'workspace' && verb === 'create' && rest[0] && rest.length <= 2) {
    const inactive = rest[1] === '--inactive';
    if (rest[1] !== undefined && !inactive) fail(`unknown option ${rest[1]}`, true);
    const ws = await createWorkspace(db, rest[0], inactive ? 'inactive' : 'active');
    console.error(`workspace "${ws.name}" created (id ${ws.id}, subscription ${ws.subscriptionStatus})`);
    return;
  }
  if (noun === 'workspace' && verb === 'subscription' && rest.length === 2) {
    const status = rest[1];
    if (status !== 'active' && status !== 'inactive') fail('subscription status must be active or inactive', true);
    const ws = await setSubscription(db, rest[0]!, status as 'active' | 'inactive');
    console.error(`workspace "${ws.name}" subscription is now ${ws.subscriptionStatus}`);
    return;
  }
  if (noun === 'token' && verb === 'create' && rest.length === 1) {
    const ws = await findWorkspace(db, rest[0]!);
    if (!ws) fail(`no workspace named "${rest[0]}"`);
    process.stdout.write((await createToken(db, ws!.id)) + '\n');
    return;
  }
  if (noun === 'token' && verb === 'revoke' && rest.length === 1) {
    const n = await revokeTokens(db, rest[0]!.toLowerCase());
    if (n === 0) fail(`no live token starts with ${rest[0]}`);
    console.error(`revoked ${n} token(s)`);
    return;
  }
  fail(args.length ? `unknown command: ${args.join(' ')}` : 'no command given', true);
}

const config = loadConfig();
const handle = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, maxConnections: 1 });
let code = 0;
try {
  await handle.migrate();
  await run(process.argv.slice(2), handle.db);
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  if ((err as { usage?: boolean }).usage) console.error(USAGE);
  code = 1;
} finally {
  await handle.close();
}
process.exit(code);
