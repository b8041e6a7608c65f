// Reading the workspace's escalation policy and per-host overrides (API and activities).
import { eq } from 'drizzle-orm';
import { DEFAULT_POLICY, type EscalationPolicy, type HostThreshold } from '../domain/escalation.js';
import type { Db } from './client.js';
import { escalationPolicies, hostThresholds } from './schema.js';

export async function loadPolicy(db: Db, workspaceId: number): Promise<{ policy: EscalationPolicy; updatedAt: Date | null }> {
  const [row] = await db.select().from(escalationPolicies).where(eq(escalationPolicies.workspaceId, workspaceId));
  if (!row) return { policy: DEFAULT_POLICY, updatedAt: null };
  // Fields added since a policy was saved take their defaults.
  const policy = { ...DEFAULT_POLICY, ...row.policy, geoLockdown: { ...DEFAULT_POLICY.geoLockdown, ...row.policy.geoLockdown } };
  return { policy, updatedAt: row.updatedAt };
}

export async function loadHostThresholds(db: Db, workspaceId: number): Promise<HostThreshold[]> {
  const rows = await db
    .select({ target: hostThresholds.targetIp, thresholds: hostThresholds.thresholds })
    .from(hostThresholds)
    .where(eq(hostThresholds.workspaceId, workspaceId));
  return rows;
}
