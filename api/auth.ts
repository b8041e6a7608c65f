// Authentication (deploy tokens), per-token and per-node-key rate limiting and the subscription gate.
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { deployTokens, nodeRateLimitWindows, rateLimitWindows, workspaces } from '../db/schema.js';
import { hashToken, TOKEN_PATTERN, type Workspace } from '../db/workspaces.js';
import { ApiError } from './errors.js';
import type { AgentEnv, AppEnv } from './context.js';

export const DEFAULT_RATE_LIMIT = 1000;
/** Heartbeats, metrics, polls, incident messages and capture chunks use a fraction of it. */
export const DEFAULT_AGENT_RATE_LIMIT = 600;
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

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
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
 * Fixed one-minute windows counted in PostgreSQL, so every API instance shares one
 * budget per caller. X-RateLimit-* headers go on every answer, errors included.
 * `count` adds this request to the caller's window and answers the window's total;
 * `dropOlder` forgets the caller's earlier windows.
 */
async function limitPerMinute(
  c: Context,
  limit: number,
  count: (windowStart: Date) => Promise<number>,
  dropOlder: (windowStart: Date) => Promise<unknown>,
  who: string,
): Promise<void> {
  const now = Date.now();
  const windowStart = new Date(now - (now % WINDOW_MS));
  const n = await count(windowStart);
  const resetAt = windowStart.getTime() + WINDOW_MS;
  c.header('X-RateLimit-Limit', String(limit));
  c.header('X-RateLimit-Remaining', String(Math.max(0, limit - n)));
  c.header('X-RateLimit-Reset', String(Math.ceil(resetAt / 1000)));
  if (n === 1) await dropOlder(windowStart);
  if (n > limit) {
    c.header('Retry-After', String(Math.max(1, Math.ceil((resetAt - now) / 1000))));
    throw new ApiError('rate_limited', `rate limit of ${limit} requests per minute per ${who} exceeded; retry after the window resets`);
  }
}

export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { db, defaultRateLimit } = c.var.deps;
  const tokenId = c.var.tokenId;
  await limitPerMinute(
    c,
    c.var.workspace.rateLimitPerMinute ?? defaultRateLimit ?? DEFAULT_RATE_LIMIT,
    async (windowStart) => {
      const [row] = await db
        .insert(rateLimitWindows)
        .values({ tokenId, windowStart, count: 1 })
        .onConflictDoUpdate({ target: [rateLimitWindows.tokenId, rateLimitWindows.windowStart], set: { count: sql`${rateLimitWindows.count} + 1` } })
        .returning({ count: rateLimitWindows.count });
      return row!.count;
    },
    (windowStart) => db.delete(rateLimitWindows).where(and(eq(rateLimitWindows.tokenId, tokenId), lt(rateLimitWindows.windowStart, windowStart))),
    'token',
  );
  await next();
});

/** The agent endpoints' budget, per node key: a runaway or stolen key cannot flood the API. */
export const rateLimitNode = createMiddleware<AgentEnv>(async (c, next) => {
  const { db, agentRateLimit } = c.var.deps;
  const nodeId = c.var.node.id;
  await limitPerMinute(
    c,
    agentRateLimit ?? DEFAULT_AGENT_RATE_LIMIT,
    async (windowStart) => {
      const [row] = await db
        .insert(nodeRateLimitWindows)
        .values({ nodeId, windowStart, count: 1 })
        .onConflictDoUpdate({ target: [nodeRateLimitWindows.nodeId, nodeRateLimitWindows.windowStart], set: { count: sql`${nodeRateLimitWindows.count} + 1` } })
        .returning({ count: nodeRateLimitWindows.count });
      return row!.count;
    },
    (windowStart) => db.delete(nodeRateLimitWindows).where(and(eq(nodeRateLimitWindows.nodeId, nodeId), lt(nodeRateLimitWindows.windowStart, windowStart))),
    'node key',
  );
  await next();
});

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const requireSubscriptionForWrites = createMiddleware<{ Variables: { workspace: Workspace } }>(async (c, next) => {
  if (WRITE_METHODS.has(c.req.method) && c.var.workspace.subscriptionStatus !== 'active') {
    throw new ApiError('subscription_required', `workspace "${c.var.workspace.name}" has no active subscription: reads work, writes need one`);
  }
  await next();
});
