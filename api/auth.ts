// Authentication (deploy tokens), per-token and per-node-key rate limiting and the subscription gate.
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { countRequest, dropWindowsBefore, type RateSubject } from '../db/rate-limits.js';
import { deployTokens, workspaces } from '../db/schema.js';
import { hashToken, TOKEN_PATTERN, type Workspace } from '../db/workspaces.js';
import { ApiError } from './errors.js';
import type { AgentEnv, AppDeps, AppEnv } from './context.js';

export const DEFAULT_RATE_LIMIT = 1000;
/** Heartbeats, metrics, polls, incident messages and capture chunks use a fraction of it. */
export const DEFAULT_AGENT_RATE_LIMIT = 600;
/** Requests one node key may have in flight at once: a long poll, the outbox, an upload, results. */
export const DEFAULT_AGENT_MAX_CONCURRENT = 16;
const WINDOW_MS = 60_000;

/** A 401 that says how to authenticate (RFC 6750), and whether the token given was refused. */
export function unauthorized(c: Context, message: string, tokenGiven: boolean): ApiError {
  c.header('WWW-Authenticate', `Bearer realm="bulwark"${tokenGiven ? ', error="invalid_token"' : ''}`);
  return new ApiError('unauthorized', message);
}

/** The request's bearer token, lower-cased, or a 401: `missing` without one, `malformed` for one that is not 64 hex. */
export function bearerToken(c: Context, missing: string, malformed: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!match) throw unauthorized(c, missing, false);
  const token = match[1]!.toLowerCase();
  if (!TOKEN_PATTERN.test(token)) throw unauthorized(c, malformed, true);
  return token;
}

/**
 * What the operator console passes with the API requests it makes in-process (api/console/):
 * the signed-in session's token and workspace. Only code in this process can set a
 * request's env; a request from the network carries the server's own bindings.
 */
export interface ConsoleCall {
  consoleSession: { tokenId: number; workspace: Workspace };
}

const consoleSessionOf = (env: unknown): ConsoleCall['consoleSession'] | undefined => (env as Partial<ConsoleCall> | undefined)?.consoleSession;

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  // The console's own requests: the session was checked (and its token's revocation) when it was read.
  const session = consoleSessionOf(c.env);
  if (session) {
    c.set('workspace', session.workspace);
    c.set('tokenId', session.tokenId);
    return next();
  }
  const token = bearerToken(c, 'send the deploy token as "Authorization: Bearer <64-hex token>"', 'a deploy token is 64 hexadecimal characters');
  const { db } = c.var.deps;
  const [row] = await db
    .select({ tokenId: deployTokens.id, workspace: workspaces })
    .from(deployTokens)
    .innerJoin(workspaces, eq(workspaces.id, deployTokens.workspaceId))
    .where(and(eq(deployTokens.tokenHash, hashToken(token)), isNull(deployTokens.revokedAt)));
  if (!row) throw unauthorized(c, 'unknown or revoked deploy token', true);
  c.set('workspace', row.workspace);
  c.set('tokenId', row.tokenId);
  await next();
});

/**
 * A sliding one-minute window, shared by every API instance (the counts live in
 * PostgreSQL): this minute's count plus the previous minute's, weighted by how much of it
 * the last 60 seconds still cover. A burst across a minute boundary is therefore counted
 * against one budget, not two. Refused requests count too. X-RateLimit-* headers go on every
 * answer, errors included.
 */
async function limitPerMinute(c: Context, deps: AppDeps, limit: number, who: RateSubject, what: string): Promise<void> {
  const { db, clock } = deps;
  const now = clock?.() ?? Date.now();
  const windowStart = now - (now % WINDOW_MS);
  const { current, previous } = await countRequest(db, who, new Date(windowStart), new Date(windowStart - WINDOW_MS));
  if (current === 1) await dropWindowsBefore(db, who, new Date(windowStart - WINDOW_MS));
  const elapsed = (now - windowStart) / WINDOW_MS;
  const used = previous * (1 - elapsed) + current;
  c.header('X-RateLimit-Limit', String(limit));
  c.header('X-RateLimit-Remaining', String(Math.max(0, Math.floor(limit - used))));
  c.header('X-RateLimit-Reset', String(Math.ceil((windowStart + WINDOW_MS) / 1000)));
  if (used > limit) {
    c.header('Retry-After', String(Math.max(1, Math.ceil(msUntilBelow(limit, previous, current, now - windowStart) / 1000))));
    throw new ApiError('rate_limited', `rate limit of ${limit} requests per minute per ${what} exceeded; retry after the seconds Retry-After says`);
  }
}

/** How long until the window's count (with no more requests) drops to where one more fits. */
function msUntilBelow(limit: number, previous: number, current: number, intoWindow: number): number {
  const room = limit - 1;
  // Within this minute: previous * (1 - t / W) + current <= room.
  if (current <= room && previous > 0) return Math.max(0, (1 - (room - current) / previous) * WINDOW_MS - intoWindow);
  // Next minute, this one becoming the previous: current * (1 - t / W) <= room.
  return WINDOW_MS - intoWindow + Math.max(0, 1 - room / current) * WINDOW_MS;
}

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { defaultRateLimit } = c.var.deps;
  await limitPerMinute(c, c.var.deps, c.var.workspace.rateLimitPerMinute ?? defaultRateLimit ?? DEFAULT_RATE_LIMIT, { kind: 'token', id: c.var.tokenId }, 'token');
  await next();
});

/** The agent endpoints' budget, per node key: a runaway or stolen key cannot flood the API. */
export const rateLimitNode = createMiddleware<AgentEnv>(async (c, next) => {
  await limitPerMinute(c, c.var.deps, c.var.deps.agentRateLimit ?? DEFAULT_AGENT_RATE_LIMIT, { kind: 'node', id: c.var.node.id }, 'node key');
  await next();
});

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const requireSubscriptionForWrites = createMiddleware<{ Variables: { workspace: Workspace } }>(async (c, next) => {
  if (WRITE_METHODS.has(c.req.method) && c.var.workspace.subscriptionStatus !== 'active') {
    throw new ApiError('subscription_required', `workspace "${c.var.workspace.name}" has no active subscription: reads work, writes need one`);
  }
  await next();
});
