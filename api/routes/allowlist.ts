// The allowlist: addresses no automated path may ever block.
import { z } from '@hono/zod-openapi';
import { addAllowlistEntry, listAllowlist, removeAllowlistEntry } from '../../db/allowlist.js';
import { withdrawRule } from '../../clients/rule.js';
import { endDiversion } from '../../clients/scrubbing.js';
import { findNode } from '../../db/nodes.js';
import { listLiveRules } from '../../db/rules.js';
import { listScrubbing } from '../../db/scrubbing.js';
import { refuseDiversion } from '../../domain/scrubbing.js';
import { allowlistConflict } from '../../domain/safety.js';
import { formatPrefix, mustParsePrefix } from '../../domain/prefix.js';
import { ApiError } from '../errors.js';
import { defineRoute, jsonBody, responses, router, WRITE_ERRORS } from '../openapi.js';
import { AllowlistEntrySchema, AllowlistQuery, CreateAllowlistBody } from '../schemas/allowlist.js';
import { IdParam, ok } from '../schemas/common.js';
import { allowlistEntryJson } from '../views/allowlist.js';

/** Stored as given when it is a bare address ("198.51.100.10"), else as canonical CIDR. */
function canonical(input: string): string {
  const prefix = mustParsePrefix(input);
  const text = formatPrefix(prefix);
  const hostLength = prefix.family === 4 ? 32 : 128;
  return input.includes('/') || prefix.length !== hostLength ? text : text.slice(0, text.lastIndexOf('/'));
}

const listRoute = defineRoute({
  method: 'get',
  path: '/allowlist',
  summary: 'List allowlist entries',
  description: 'With `node`, the workspace-wide entries plus that node’s own.',
  request: { query: AllowlistQuery },
  responses: responses('Entries', ok({ entries: z.array(AllowlistEntrySchema) })),
});

const createEntryRoute = defineRoute({
  method: 'post',
  path: '/allowlist',
  summary: 'Add an allowlist entry',
  request: jsonBody(CreateAllowlistBody),
  responses: responses(
    'The new entry, the live rules it made withdraw and the scrubbing integrations whose diversion it ended (gone when this answers)',
    ok({ entry: AllowlistEntrySchema, withdrawn_rules: z.array(z.number().int()), withdrawn_diversions: z.array(z.number().int()) }), {
    ...WRITE_ERRORS,
    409: 'conflict: already allowlisted',
  }),
});

const deleteRoute = defineRoute({
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
    return c.json({ ok: true as const, entries: rows.map(allowlistEntryJson) }, 200);
  })
  .openapi(createEntryRoute, async (c) => {
    const body = c.req.valid('json');
    const ipAddress = canonical(body.ip_address);
    if (body.node && !(await findNode(c.var.deps.db, c.var.workspace.id, body.node))) {
      throw new ApiError('invalid_parameter', `node: no node ${body.node} in this workspace`);
    }
    const row = await addAllowlistEntry(c.var.deps.db, c.var.workspace.id, { ipAddress, label: body.label ?? null, scope: body.scope, nodeUuid: body.node ?? null });
    if (!row) throw new ApiError('conflict', `${ipAddress} is already allowlisted with this scope`);
    // What is announced already must yield too: withdraw every live rule the entry now covers
    // (node-scoped entries count at the routers, db/allowlist.ts), and answer once they are gone.
    const entry = { prefix: mustParsePrefix(row.ipAddress), label: row.label };
    const covered = (await listLiveRules(c.var.deps.db, c.var.workspace.id))
      .filter((r) => r.status !== 'withdrawing')
      .map((r) => ({ id: r.id, workflowId: r.workflowId, conflict: r.intent.kind === 'scrubbing' ? null : allowlistConflict(r.intent, [entry]) }))
      .filter((r): r is { id: number; workflowId: string | null; conflict: string } => r.conflict !== null);
    // A diversion covers its integration's prefixes, not only a rule's target: ended as a whole (a scrubbing rule holding it ends with it).
    const diverting = (await listScrubbing(c.var.deps.db, c.var.workspace.id))
      .filter((i) => i.status !== 'inactive' && i.status !== 'failed')
      .map((i) => ({ id: i.id, conflict: refuseDiversion(i, [entry]) }))
      .filter((i): i is { id: number; conflict: string } => i.conflict !== null);
    await Promise.all([
      ...covered.map((r) => withdrawRule(c.var.deps, r, `allowlist entry ${row.id} added: ${r.conflict}`, c.var.deps.announceWaitMs ?? 30_000)),
      ...diverting.map((i) => endDiversion(c.var.deps, i.id, `allowlist entry ${row.id} added: ${i.conflict}`, 30_000)),
    ]);
    return c.json({ ok: true as const, entry: allowlistEntryJson(row), withdrawn_rules: covered.map((r) => r.id), withdrawn_diversions: diverting.map((i) => i.id) }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await removeAllowlistEntry(c.var.deps.db, c.var.workspace.id, id))) throw new ApiError('not_found', `allowlist entry ${id} not found`);
    return c.json({ ok: true as const, deleted: id }, 200);
  });
