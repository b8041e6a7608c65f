// The error half of the envelope: { ok: false, error: { code, message } }.
// Codes are stable and machine-readable; each has one HTTP status.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

export const ERROR_STATUS = {
  invalid_parameter: 400,
  invalid_json: 400,
  unauthorized: 401,
  subscription_required: 402,
  forbidden: 403,
  quota_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  internal_error: 500,
  not_implemented: 501,
  adapter_error: 502,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Thrown anywhere in a handler; the app's error handler renders the envelope. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra top-level fields for the envelope (e.g. the failed rule). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function errorBody(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return { ok: false as const, error: { code, message }, ...extra };
}

export function sendError(c: Context, code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return c.json(errorBody(code, message, extra), ERROR_STATUS[code]);
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
  nan: 'not a number',
};
const typeName = (t: string) => TYPE_NAMES[t] ?? t;

/**
 * One readable sentence from a zod error: each field named once, then what is wrong with
 * it. Schemas word their messages as predicates ("must be 1-500", "is required when ...")
 * or as reasons, which follow a colon. `where` names the whole input (body, query, param).
 */
export function describeZodError(error: ZodError, where: string): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = path || where;
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys.map((k) => `"${path ? `${path}.${k}` : k}"`);
      const what = where === 'query' && !path ? 'query parameter' : 'field';
      return `unknown ${what}${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    }
    const type = issue.code === 'invalid_type' ? /expected (\w+), received (\w+)/.exec(issue.message) : null;
    if (type) {
      const [, expected, received] = type as unknown as [string, string, string];
      if (received === 'undefined') return `${field} is required`;
      if (expected === 'int') return `${field} must be a whole number`;
      return `${field} must be ${typeName(expected)}, not ${typeName(received)}`;
    }
    if (/^(is|must|may) /.test(issue.message)) return `${field} ${issue.message}`;
    const bound = issue.code === 'too_small' || issue.code === 'too_big' ? boundMessage(issue) : null;
    return bound ? `${field} ${bound}` : `${field}: ${issue.message}`;
  });
  return parts.join('; ');
}

/** A size limit in words ("must be >= 0", "must hold at most 1024 items"), for zod's own "Too small: expected number to be >=0". */
function boundMessage(issue: { code: 'too_small' | 'too_big'; origin?: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean }): string | null {
  const small = issue.code === 'too_small';
  const limit = String(small ? issue.minimum : issue.maximum);
  switch (issue.origin) {
    case 'number':
    case 'int':
    case 'bigint':
      return `must be ${small ? '>' : '<'}${issue.inclusive === false ? '' : '='} ${limit}`;
    case 'string':
      return `must be at ${small ? 'least' : 'most'} ${limit} characters long`;
    case 'array':
    case 'set':
      return `must hold at ${small ? 'least' : 'most'} ${limit} item${limit === '1' ? '' : 's'}`;
    default:
      return null;
  }
}
