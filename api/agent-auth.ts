// Agents authenticate with their node key (POST /nodes answers it once); it opens only
// the /agent endpoints, and only for that node.
import { eq } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { nodes, workspaces } from '../db/schema.js';
import { hashToken } from '../db/workspaces.js';
import { bearerToken, unauthorized } from './auth.js';
import type { AgentEnv } from './context.js';

export const authenticateNode = createMiddleware<AgentEnv>(async (c, next) => {
  const key = bearerToken(c, 'send the node key as "Authorization: Bearer <64-hex node key>"', 'a node key is 64 hexadecimal characters');
  const [row] = await c.var.deps.db
    .select({ node: nodes, workspace: workspaces })
    .from(nodes)
    .innerJoin(workspaces, eq(workspaces.id, nodes.workspaceId))
    .where(eq(nodes.keyHash, hashToken(key)));
  if (!row) throw unauthorized(c, 'unknown node key (was the node deleted?)', true);
  c.set('node', row.node);
  c.set('workspace', row.workspace);
  await next();
});
