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
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
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

/** One readable sentence from a zod error: which field, what was wrong. */
export function describeZodError(error: ZodError, where: string): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys.map((k) => (path ? `${path}.${k}` : k));
      return `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`;
    }
    if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
      return `${path || where} is required`;
    }
    return path ? `${path}: ${issue.message}` : `${where}: ${issue.message}`;
  });
  return parts.join('; ');
}
