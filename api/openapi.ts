// Small helpers that keep route definitions short and their OpenAPI output complete.
import { createRoute, OpenAPIHono, z, type RouteConfig } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { AppEnv } from './context.js';
import { tagFor } from './docs.js';
import { describeZodError, errorBody } from './errors.js';
import { ErrorEnvelope, NoQuery } from './schemas/common.js';

/** A router whose validation failures answer invalid_parameter naming the field. */
export function router<E extends Env = AppEnv>() {
  return new OpenAPIHono<E>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const where = result.target === 'json' ? 'body' : result.target;
        return c.json(errorBody('invalid_parameter', describeZodError(result.error, where)), 400);
      }
    },
  });
}

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  body: { content: { 'application/json': { schema } }, required },
});

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: ErrorEnvelope } } });

/** The success response plus the error answers every authenticated endpoint can give. */
export function responses<T extends z.ZodType>(description: string, schema: T, extra: Record<number, string> = {}) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: z.ZodType } } }> = {
    200: { description, content: { 'application/json': { schema } } },
    400: errorResponse('invalid_parameter: a field is missing or wrong; the message names it'),
    401: errorResponse('unauthorized: missing, malformed, unknown or revoked token'),
    429: errorResponse('rate_limited: see Retry-After'),
  };
  for (const [status, text] of Object.entries(extra)) out[Number(status)] = errorResponse(text);
  return out;
}

export const WRITE_ERRORS = { 402: 'subscription_required: writes need an active subscription' };

/**
 * A route whose query parameters are validated like everything else: one that declares
 * none takes none, so an unknown parameter is an error on every endpoint, never ignored.
 */
export function defineRoute<R extends RouteConfig>(config: R): R {
  // Grouped in the reference by resource (api/docs.ts), unless the route names its own group.
  return createRoute({
    ...config,
    tags: config.tags ?? [tagFor(config.path)],
    request: { query: NoQuery, ...config.request },
    responses: {
      ...answersEveryRouteCanGive(config),
      ...config.responses,
      ...(config.request?.body && 'application/json' in (config.request.body.content ?? {}) ? { 400: JSON_400 } : {}),
    },
  }) as unknown as R;
}

const JSON_400 = errorResponse('invalid_parameter: a field is missing or wrong (the message names it); invalid_json: the body is not JSON');

/**
 * The errors the app gives any route of this shape, whatever its handler does (api/app.ts:
 * body limits and parsing, the subscription gate, a back end down), so that every
 * operation documents every status it can answer. A route's own wording wins.
 */
function answersEveryRouteCanGive(config: RouteConfig): Record<number, ReturnType<typeof errorResponse>> {
  const out: Record<number, ReturnType<typeof errorResponse>> = {
    503: errorResponse('unavailable: the database or the workflow service is down; retry after the seconds Retry-After says'),
  };
  const body = config.request?.body;
  if (body && 'application/json' in (body.content ?? {})) {
    out[413] = errorResponse('payload_too_large: the body exceeds 64 KiB');
    out[415] = errorResponse('unsupported_media_type: send the body as application/json');
  } else if (body) out[413] = errorResponse('payload_too_large: the body exceeds the size allowed here');
  if (config.method !== 'get') out[402] = errorResponse('subscription_required: writes need an active subscription');
  if (/\{[a-z_]+\}/.test(config.path)) out[404] = errorResponse('not_found: nothing with this id in your workspace');
  return out;
}
