// Schemas every resource uses: ids, timestamps, the envelopes. Request and response
// schemas validate every request AND generate the OpenAPI document, so the two cannot drift
// apart. Objects are strict: an unknown field is a typo the caller wants to hear about.
import { z } from '@hono/zod-openapi';
import { INT4_MAX } from '../../db/client.js';
import { ApiError } from '../errors.js';

/** An id in a JSON body: a JSON number, positive, within its column's range (else 400 naming the field). */
export const bodyId = (max: number = INT4_MAX) =>
  z
    .number()
    .int('must be a positive integer id')
    .positive('must be a positive integer id')
    .max(max, `must be a positive integer id, at most ${max}`);

/**
 * An id in a path: decimal digits only. A well-formed id beyond every row's range names no
 * row: 404 at once, naming the id as it was written (handlers answer 404 for ids within
 * the range that no row of the workspace has, db/ finding nothing by them).
 */
export const PathId = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'must be a positive integer id')
  .transform((v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new ApiError('not_found', `nothing has id ${v}`);
    return n;
  });

export const IdParam = z.object({ id: PathId.openapi({ param: { name: 'id', in: 'path' }, example: '42' }) });

/** What an endpoint without query parameters takes: none (an unknown one is an error everywhere). */
export const NoQuery = z.strictObject({});

export const Timestamp = z.string().nullable().openapi({ example: '2026-05-12T14:30:00Z' });

export const Uuid = z.string().uuid('must be a UUID');

export const ErrorEnvelope = z
  .object({
    ok: z.literal(false),
    error: z.object({ code: z.string().openapi({ example: 'invalid_parameter' }), message: z.string() }),
  })
  .openapi('Error');

export const ok = <T extends z.ZodRawShape>(shape: T) => z.object({ ok: z.literal(true), ...shape });
