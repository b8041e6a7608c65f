// Checks every JSON body (and query string) gets before its route's schema: an empty body
// is no body (so `curl -X POST -H 'Content-Type: application/json' .../withdraw` works), and
// no string or field name anywhere may hold a NUL character or an unpaired UTF-16
// surrogate ("\ud800"): PostgreSQL stores neither, in text or in jsonb.
import { createMiddleware } from 'hono/factory';
import { ApiError } from './errors.js';

const JSON_TYPE = /^application\/(.+\+)?json\b/i;

/** No request of this API nests deeper; deeper is an attack on whatever walks it next (a 500, or Temporal's payload codec). */
export const MAX_JSON_DEPTH = 32;

/** Whether `value` nests objects and arrays deeper than `max`; iterative, so any depth is safe to ask about. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}
const NUL = '\u0000';

/** Read by code points, a surrogate pair is one character: only an unpaired half is a "surrogate" (Cs). */
const LONE_SURROGATE = /\p{Cs}/u;
const badText = (s: string) => (s.includes(NUL) ? 'must not contain NUL characters' : LONE_SURROGATE.test(s) ? 'must be valid Unicode (it holds an unpaired surrogate)' : null);

/** The first string or field name in `value` that cannot be stored, as the message that names it; null when none. */
export function findBadText(value: unknown, path = ''): string | null {
  if (typeof value === 'string') {
    const bad = badText(value);
    return bad ? `${path || 'body'} ${bad}` : null;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findBadText(v, path ? `${path}.${i}` : String(i));
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const at = path ? `${path}.${k}` : k;
      const bad = badText(k);
      if (bad) return `field name ${JSON.stringify(at)} ${bad}`;
      const found = findBadText(v, at);
      if (found) return found;
    }
  }
  return null;
}

export const checkJsonInput = createMiddleware(async (c, next) => {
  const query = findBadText(c.req.query());
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
  if (nestsDeeperThan(parsed, MAX_JSON_DEPTH)) throw new ApiError('invalid_parameter', `body nests objects and lists more than ${MAX_JSON_DEPTH} levels deep`);
  const bad = findBadText(parsed);
  if (bad) throw new ApiError('invalid_parameter', bad);
  await next();
});
