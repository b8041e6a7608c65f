// The admin commands (`npm run admin -- ...`) against a database handle, with their output
// collected rather than printed: cmd/admin.ts runs them itself, or hands them to the running
// `npm start` through its admin socket (cmd/admin-socket.ts), which runs them here too.
import type { Db } from '../db/client.js';
import { createToken, createWorkspace, findWorkspace, revokeTokens, setRateLimit, setSubscription } from '../db/workspaces.js';

export const USAGE = `usage: npm run admin -- <command>
  workspace create <name> [--inactive]
  workspace subscription <name> active|inactive
  workspace rate-limit <name> <requests-per-minute>|default
  token create <workspace-name>        prints the new 64-hex token alone on stdout
  token revoke <token-prefix>          at least the first 8 hex characters`;

export interface AdminOutcome {
  code: number;
  /** What scripts read (a new token), alone. */
  stdout: string;
  /** What people read. */
  stderr: string;
}

class UsageError extends Error {}

export async function runAdminCommand(db: Db, args: readonly string[]): Promise<AdminOutcome> {
  try {
    const { stdout = '', stderr = '' } = await run(db, args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const usage = err instanceof UsageError ? `\n${USAGE}` : '';
    return { code: 1, stdout: '', stderr: `error: ${(err as Error).message}${usage}\n` };
  }
}

async function run(db: Db, args: readonly string[]): Promise<{ stdout?: string; stderr?: string }> {
  const [noun, verb, ...rest] = args;
  if (noun === 'workspace' && verb === 'create' && rest[0] && rest.length <= 2) {
    const inactive = rest[1] === '--inactive';
    if (rest[1] !== undefined && !inactive) throw new UsageError(`unknown option ${rest[1]}`);
    const ws = await createWorkspace(db, rest[0], inactive ? 'inactive' : 'active');
    return { stderr: `workspace "${ws.name}" created (id ${ws.id}, subscription ${ws.subscriptionStatus})\n` };
  }
  if (noun === 'workspace' && verb === 'subscription' && rest.length === 2) {
    const status = rest[1];
    if (status !== 'active' && status !== 'inactive') throw new UsageError('subscription status must be active or inactive');
    const ws = await setSubscription(db, rest[0]!, status);
    return { stderr: `workspace "${ws.name}" subscription is now ${ws.subscriptionStatus}\n` };
  }
  if (noun === 'workspace' && verb === 'rate-limit' && rest.length === 2) {
    const raw = rest[1]!;
    const perMinute = raw === 'default' ? null : /^[1-9][0-9]{0,6}$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(perMinute)) throw new UsageError('the rate limit is a whole number of requests per minute (1-9999999), or "default"');
    const ws = await setRateLimit(db, rest[0]!, perMinute);
    return { stderr: `workspace "${ws.name}" rate limit is now ${ws.rateLimitPerMinute ?? 'the default'} requests per minute\n` };
  }
  if (noun === 'token' && verb === 'create' && rest.length === 1) {
    const ws = await findWorkspace(db, rest[0]!);
    if (!ws) throw new Error(`no workspace named "${rest[0]}"`);
    return { stdout: (await createToken(db, ws.id)) + '\n' };
  }
  if (noun === 'token' && verb === 'revoke' && rest.length === 1) {
    const n = await revokeTokens(db, rest[0]!.toLowerCase());
    if (n === 0) throw new Error(`no live token starts with ${rest[0]}`);
    return { stderr: `revoked ${n} token(s)\n` };
  }
  throw new UsageError(args.length ? `unknown command: ${args.join(' ')}` : 'no command given');
}
