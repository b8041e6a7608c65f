// Checks every JSON body (and query string) gets before its route's schema: an empty body
// is no body (so `curl -X POST -H 'Content-Type: application/json' .../withdraw` works), and
// no string anywhere may hold a NUL character (PostgreSQL cannot store one in text).
import { createMiddleware } from 'hono/factory';
import { ApiError } from './errors.js';

const JSON_TYPE = /^application\/(.+\+)?json\b/i;
const NUL = '\u0000';

/** The first place in `value` holding a NUL, as the message that names it; null when none. */
export function findNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes(NUL) ? `${path || 'body'} must not contain NUL characters` : null;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findNul(v, path ? `${path}.${i}` : String(i));
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      if (k.includes(NUL)) return `field name ${JSON.stringify(at)} must not contain NUL characters`;
      const found = findNul(v, at);
      if (found) return found;
    }
  }
  return null;
}

export const checkJsonInput = createMiddleware(async (c, next) => {
  const query = findNul(c.req.query());
  if (query) throw new ApiError('invalid_parameter', query);
  if (!JSON_TYPE.test(c.req.header('content-type') ?? '')) return next();
  const text = await c.req.text();
  if (text.trim() === '') {
    // Without its content type the request has no JSON body: optional bodies are absent.
    const headers = new Headers(c.req.raw.headers);
    headers.delete('content-type');
    c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers });
    return next();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return next(); // the route's validator answers invalid_json
  }
  const nul = findNul(parsed);
  if (nul) throw new ApiError('invalid_parameter', nul);
  await next();
});
