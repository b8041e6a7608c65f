// Schemas every resource uses: ids, timestamps, the envelopes. Request and response
// schemas validate every request AND generate the OpenAPI document, so the two cannot drift
// apart. Objects are strict: an unknown field is a typo the caller wants to hear about.
import { z } from '@hono/zod-openapi';

export const Id = z.coerce
  .number({ error: 'must be a positive integer id' })
  .int('must be a positive integer id')
  .positive('must be a positive integer id')
  .max(Number.MAX_SAFE_INTEGER, 'must be a positive integer id');

export const IdParam = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' }, example: 42 }) });

export const Timestamp = z.string().nullable().openapi({ example: '2026-05-12T14:30:00Z' });

export const Uuid = z.string().uuid('must be a UUID');

export const ErrorEnvelope = z
  .object({
    ok: z.literal(false),
    error: z.object({ code: z.string().openapi({ example: 'invalid_parameter' }), message: z.string() }),
  })
  .openapi('Error');

export const ok = <T extends z.ZodRawShape>(shape: T) => z.object({ ok: z.literal(true), ...shape });
