// Nodes: their keys and the status users see.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { hashToken } from './workspaces.js';
import { nodes } from './schema.js';

/** A node that has not been heard from for this long is offline. */
export const OFFLINE_AFTER_SECONDS = 60;

/** The status users filter by, derived in SQL so filters and answers agree. */
export const nodeStatusSql = sql<'online' | 'offline' | 'attack' | 'elevated'>`case
  when ${nodes.lastSeenAt} is null or ${nodes.lastSeenAt} < now() - make_interval(secs => ${OFFLINE_AFTER_SECONDS}) then 'offline'
  when ${nodes.trafficState} = 'attack' then 'attack'
  when ${nodes.trafficState} = 'elevated' then 'elevated'
  else 'online' end`;

/** A new node key: shown once, stored as its SHA-256 like deploy tokens. */
export function newNodeKey(): { key: string; hash: string } {
  const key = randomBytes(32).toString('hex');
  return { key, hash: hashToken(key) };
}
