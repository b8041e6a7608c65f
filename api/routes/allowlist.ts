// The allowlist: addresses no automated path may ever block.
import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { listAllowlist, type AllowlistRow } from '../../db/allowlist.js';
import { allowlistEntries } from '../../db/schema.js';
import { formatPrefix, mustParsePrefix } from '../../domain/prefix.js';
import { ApiError } from '../errors.js';
import { jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { AllowlistEntrySchema, AllowlistQuery, CreateAllowlistBody, IdParam, ok } from '../schemas.js';

function entryJson(e: AllowlistRow): z.infer<typeof AllowlistEntrySchema> {
  return { id: e.id, ip_address: e.ipAddress, label: e.label, scope: e.scope, node: e.nodeUuid, created_at: e.createdAt.toISOString() };
}

/** Stored as given when it is a bare address ("198.51.100.10"), else as canonical CIDR. */
function canonical(input: string): string {
  const prefix = mustParsePrefix(input);
  const text = formatPrefix(prefix);
  const hostLength = prefix.family === 4 ? 32 : 128;
  return input.includes('/') || prefix.length !== hostLength ? text : text.slice(0, text.lastIndexOf('/'));
}

const listRoute = createRoute({
  method: 'get',
  path: '/allowlist',
  summary: 'List allowlist entries',
  description: 'With `node`, the workspace-wide entries plus that node’s own.',
  request: { query: AllowlistQuery },
  responses: responses('Entries', ok({ entries: z.array(AllowlistEntrySchema) })),
});

const createEntryRoute = createRoute({
  method: 'post',
  path: '/allowlist',
  summary: 'Add an allowlist entry',
  request: jsonBody(CreateAllowlistBody),
  responses: responses('The new entry', ok({ entry: AllowlistEntrySchema }), { ...WRITE_ERRORS, 409: 'conflict: already allowlisted' }),
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/allowlist/{id}',
  summary: 'Remove an allowlist entry',
  request: { params: IdParam },
  responses: responses('Removed', ok({ deleted: z.number().int() }), { ...WRITE_ERRORS, 404: 'not_found' }),
});

export const allowlistRouter = router()
  .openapi(listRoute, async (c) => {
    const { node } = c.req.valid('query');
    const rows = await listAllowlist(c.var.deps.db, c.var.workspace.id, node ? { nodeUuid: node } : 'network');
    return c.json({ ok: true as const, entries: rows.map(entryJson) }, 200);
  })
  .openapi(createEntryRoute, async (c) => {
    const body = c.req.valid('json');
    const ipAddress = canonical(body.ip_address);
    const [row] = await c.var.deps.db
      .insert(allowlistEntries)
      .values({ workspaceId: c.var.workspace.id, ipAddress, label: body.label ?? null, scope: body.scope, nodeUuid: body.node ?? null })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new ApiError('conflict', `${ipAddress} is already allowlisted with this scope`);
    return c.json({ ok: true as const, entry: entryJson(row) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    const [row] = await c.var.deps.db
      .delete(allowlistEntries)
      .where(and(eq(allowlistEntries.id, id), eq(allowlistEntries.workspaceId, c.var.workspace.id)))
      .returning({ id: allowlistEntries.id });
    if (!row) throw new ApiError('not_found', `allowlist entry ${id} not found`);
    return c.json({ ok: true as const, deleted: row.id }, 200);
  });
