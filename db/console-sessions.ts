// The operator console's sessions: a deploy token exchanged for a random session id (the
// cookie's), stored hashed, with the CSRF token its forms carry. A session lasts
// SESSION_HOURS and ends with its token's revocation.
import { randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { consoleSessions, deployTokens, workspaces } from './schema.js';
import { hashToken, type Workspace } from './workspaces.js';

export const SESSION_HOURS = 12;

export interface ConsoleSession {
  workspace: Workspace;
  tokenId: number;
  csrf: string;
}

/** A new session for a valid deploy token: its id (for the cookie, never stored) and CSRF token; null for an unknown or revoked token. */
export async function createSession(db: Db, token: string): Promise<{ id: string; csrf: string } | null> {
  const [found] = await db
    .select({ id: deployTokens.id })
    .from(deployTokens)
    .where(and(eq(deployTokens.tokenHash, hashToken(token)), isNull(deployTokens.revokedAt)));
  if (!found) return null;
  const id = randomBytes(32).toString('hex');
  const csrf = randomBytes(32).toString('hex');
  await db.insert(consoleSessions).values({ idHash: hashToken(id), tokenId: found.id, csrf, expiresAt: sql`now() + make_interval(hours => ${SESSION_HOURS})` });
  // Sign-ins are rare: forget the expired ones here.
  await db.delete(consoleSessions).where(lt(consoleSessions.expiresAt, sql`now()`));
  return { id, csrf };
}

/** The live session with this id: not expired, its token not revoked. */
export async function findSession(db: Db, id: string): Promise<ConsoleSession | null> {
  if (!/^[0-9a-f]{64}$/.test(id)) return null;
  const [row] = await db
    .select({ tokenId: deployTokens.id, csrf: consoleSessions.csrf, workspace: workspaces })
    .from(consoleSessions)
    .innerJoin(deployTokens, eq(deployTokens.id, consoleSessions.tokenId))
    .innerJoin(workspaces, eq(workspaces.id, deployTokens.workspaceId))
    .where(and(eq(consoleSessions.idHash, hashToken(id)), gt(consoleSessions.expiresAt, sql`now()`), isNull(deployTokens.revokedAt)));
  return row ?? null;
}

export async function deleteSession(db: Db, id: string): Promise<void> {
  if (/^[0-9a-f]{64}$/.test(id)) await db.delete(consoleSessions).where(eq(consoleSessions.idHash, hashToken(id)));
}
