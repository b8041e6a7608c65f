// Endpoints the API reference documents that are not built yet: each answers 501
// not_implemented (after authentication), so a client can tell "not yet" from "no such
// endpoint" (404) and "wrong method" (405).
import { z } from '@hono/zod-openapi';
import { ApiError } from '../errors.js';
import { defineRoute, responses, router } from '../openapi.js';
import { ok } from '../schemas/common.js';

const PENDING = [
  ['get', '/runbooks', 'List runbooks'],
  ['post', '/runbooks', 'Create a runbook'],
  ['get', '/runbooks/{id}', 'Get a runbook'],
  ['patch', '/runbooks/{id}', 'Update a runbook'],
  ['delete', '/runbooks/{id}', 'Delete a runbook'],
  ['post', '/runbooks/{id}/toggle', 'Activate or deactivate a runbook'],
  ['post', '/runbooks/{id}/run', 'Run a runbook'],
  ['get', '/runbooks/{id}/executions', 'A runbook’s executions'],
] as const;

export const notBuiltRouter = router();
for (const [method, path, summary] of PENDING) {
  const route = defineRoute({
    method,
    path,
    summary: `${summary} (not implemented yet)`,
    description: 'Documented by the API reference; this version answers 501 not_implemented.',
    request: path.includes('{id}') ? { params: z.object({ id: z.string() }) } : {},
    responses: responses('Not reached', ok({}), { 501: 'not_implemented: not built yet' }),
  });
  notBuiltRouter.openapi(route, () => {
    throw new ApiError('not_implemented', `${method.toUpperCase()} /api/v1${path} is in the API reference but not built yet`);
  });
}
