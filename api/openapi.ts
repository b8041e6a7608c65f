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
  return createRoute({ ...config, tags: config.tags ?? [tagFor(config.path)], request: { query: NoQuery, ...config.request } }) as unknown as R;
}
