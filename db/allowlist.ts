// The allowlist entries that apply to one node: the workspace-wide ones and its own.
import { and, eq, isNull, or } from 'drizzle-orm';
import { mustParsePrefix } from '../domain/prefix.js';
import type { AllowlistedPrefix } from '../domain/safety.js';
import type { Db } from './client.js';
import { allowlistEntries } from './schema.js';

export async function nodeAllowlist(db: Db, workspaceId: number, nodeUuid: string | null): Promise<AllowlistedPrefix[]> {
  const rows = await db
    .select({ ip: allowlistEntries.ipAddress, label: allowlistEntries.label })
    .from(allowlistEntries)
    .where(and(eq(allowlistEntries.workspaceId, workspaceId), nodeUuid ? or(isNull(allowlistEntries.nodeUuid), eq(allowlistEntries.nodeUuid, nodeUuid)) : isNull(allowlistEntries.nodeUuid)));
  return rows.map((r) => ({ prefix: mustParsePrefix(r.ip), label: r.label }));
}
