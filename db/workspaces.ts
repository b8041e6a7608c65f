// Workspaces and their deploy tokens: used by the admin CLI, `npm start`'s first-run
// bootstrap and the API's authentication.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, like } from 'drizzle-orm';
import type { Db } from './client.js';
import { deployTokens, workspaces, type SubscriptionStatus } from './schema.js';

export type Workspace = typeof workspaces.$inferSelect;

export const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function findWorkspace(db: Db, name: string): Promise<Workspace | undefined> {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.name, name));
  return row;
}

export async function createWorkspace(db: Db, name: string, status: SubscriptionStatus = 'active'): Promise<Workspace> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new Error(`workspace name "${name}" must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  const [row] = await db.insert(workspaces).values({ name, subscriptionStatus: status }).onConflictDoNothing().returning();
  if (!row) throw new Error(`workspace "${name}" already exists`);
  return row;
}

export async function setSubscription(db: Db, name: string, status: SubscriptionStatus): Promise<Workspace> {
  const [row] = await db.update(workspaces).set({ subscriptionStatus: status }).where(eq(workspaces.name, name)).returning();
  if (!row) throw new Error(`no workspace named "${name}"`);
  return row;
}

/** Issues a new 64-hex deploy token; only its hash is stored, so show it now or never. */
export async function createToken(db: Db, workspaceId: number): Promise<string> {
  const token = randomBytes(32).toString('hex');
  await db.insert(deployTokens).values({ workspaceId, tokenHash: hashToken(token), prefix: token.slice(0, 8) });
  return token;
}

/** Revokes the live tokens whose text starts with `prefix` (at least 8 hex characters). */
export async function revokeTokens(db: Db, prefix: string): Promise<number> {
  if (!/^[0-9a-f]{8,64}$/.test(prefix)) throw new Error('give at least the first 8 hex characters of the token');
  const candidates = await db
    .select({ id: deployTokens.id, tokenHash: deployTokens.tokenHash })
    .from(deployTokens)
    .where(and(like(deployTokens.prefix, prefix.slice(0, 8)), isNull(deployTokens.revokedAt)));
  // The stored prefix has 8 characters; a longer prefix can only be checked against a full token.
  const matching = prefix.length === 64 ? candidates.filter((c) => c.tokenHash === hashToken(prefix)) : candidates;
  if (prefix.length > 8 && prefix.length < 64 && matching.length > 1) {
    throw new Error(`${matching.length} tokens start with ${prefix.slice(0, 8)}; give the whole token to revoke one`);
  }
  for (const { id } of matching) {
    await db.update(deployTokens).set({ revokedAt: new Date() }).where(eq(deployTokens.id, id));
  }
  return matching.length;
}

/** The workspace's own requests-per-minute limit; null: the platform default. */
export async function setRateLimit(db: Db, name: string, perMinute: number | null): Promise<Workspace> {
  const [row] = await db.update(workspaces).set({ rateLimitPerMinute: perMinute }).where(eq(workspaces.name, name)).returning();
  if (!row) throw new Error(`no workspace named "${name}"`);
  return row;
}
