// Agents authenticate with their node key (POST /nodes answers it once); it opens only
// the /agent endpoints, and only for that node.
import { eq } from 'drizzle-orm';
import { createMiddleware } from 'hono/factory';
import { nodes, workspaces } from '../db/schema.js';
import { hashToken, TOKEN_PATTERN } from '../db/workspaces.js';
import type { AgentEnv } from './context.js';
import { ApiError } from './errors.js';

export const authenticateNode = createMiddleware<AgentEnv>(async (c, next) => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!match) throw new ApiError('unauthorized', 'send the node key as "Authorization: Bearer <64-hex node key>"');
  const key = match[1]!.toLowerCase();
  if (!TOKEN_PATTERN.test(key)) throw new ApiError('unauthorized', 'a node key is 64 hexadecimal characters');
  const [row] = await c.var.deps.db
    .select({ node: nodes, workspace: workspaces })
    .from(nodes)
    .innerJoin(workspaces, eq(workspaces.id, nodes.workspaceId))
    .where(eq(nodes.keyHash, hashToken(key)));
  if (!row) throw new ApiError('unauthorized', 'unknown node key (was the node deleted?)');
  c.set('node', row.node);
  c.set('workspace', row.workspace);
  await next();
});
