// Authentication (deploy tokens), per-token rate limiting and the subscription gate.
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { deployTokens, rateLimitWindows, workspaces } from '../db/schema.js';
import { hashToken, TOKEN_PATTERN, type Workspace } from '../db/workspaces.js';
import { ApiError } from './errors.js';
import type { AppEnv } from './context.js';

export const DEFAULT_RATE_LIMIT = 1000;
const WINDOW_MS = 60_000;

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError('unauthorized', 'send the deploy token as "Authorization: Bearer <64-hex token>"');
  const token = match[1]!.toLowerCase();
  if (!TOKEN_PATTERN.test(token)) throw new ApiError('unauthorized', 'a deploy token is 64 hexadecimal characters');
  const { db } = c.var.deps;
  const [row] = await db
    .select({ tokenId: deployTokens.id, workspace: workspaces })
    .from(deployTokens)
    .innerJoin(workspaces, eq(workspaces.id, deployTokens.workspaceId))
    .where(and(eq(deployTokens.tokenHash, hashToken(token)), isNull(deployTokens.revokedAt)));
  if (!row) throw new ApiError('unauthorized', 'unknown or revoked deploy token');
  c.set('workspace', row.workspace);
  c.set('tokenId', row.tokenId);
  await next();
});

/**
 * Fixed one-minute windows counted in PostgreSQL, so every API instance shares one
 * budget per token. X-RateLimit-* headers go on every answer, errors included.
 */
export const rateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { db, defaultRateLimit } = c.var.deps;
  const limit = c.var.workspace.rateLimitPerMinute ?? defaultRateLimit ?? DEFAULT_RATE_LIMIT;
  const now = Date.now();
  const windowStart = new Date(now - (now % WINDOW_MS));
  const [counter] = await db
    .insert(rateLimitWindows)
    .values({ tokenId: c.var.tokenId, windowStart, count: 1 })
    .onConflictDoUpdate({
      target: [rateLimitWindows.tokenId, rateLimitWindows.windowStart],
      set: { count: sql`${rateLimitWindows.count} + 1` },
    })
    .returning({ count: rateLimitWindows.count });
  const count = counter!.count;
  const resetAt = windowStart.getTime() + WINDOW_MS;
  c.header('X-RateLimit-Limit', String(limit));
  c.header('X-RateLimit-Remaining', String(Math.max(0, limit - count)));
  c.header('X-RateLimit-Reset', String(Math.ceil(resetAt / 1000)));
  if (count === 1) {
    // First request of a new window: drop this token's old windows.
    await db.delete(rateLimitWindows).where(and(eq(rateLimitWindows.tokenId, c.var.tokenId), lt(rateLimitWindows.windowStart, windowStart)));
  }
  if (count > limit) {
    c.header('Retry-After', String(Math.max(1, Math.ceil((resetAt - now) / 1000))));
    throw new ApiError('rate_limited', `rate limit of ${limit} requests per minute exceeded; retry after the window resets`);
  }
  await next();
});

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const requireSubscriptionForWrites = createMiddleware<{ Variables: { workspace: Workspace } }>(async (c, next) => {
  if (WRITE_METHODS.has(c.req.method) && c.var.workspace.subscriptionStatus !== 'active') {
    throw new ApiError('subscription_required', `workspace "${c.var.workspace.name}" has no active subscription: reads work, writes need one`);
  }
  await next();
});
