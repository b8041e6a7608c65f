// In-process guards in front of a key's shared rate limit (api/auth.ts), so that a key
// flooding the API costs no database work once it is over its budget, and cannot hold more
// than a few connections' worth of requests at once. Sound with many API instances: this
// process's own count of a key's requests is at most the shared count, so a key over its
// limit here is over it everywhere; under it here, the shared counter decides.
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { ApiError } from './errors.js';

const WINDOW_MS = 60_000;
/** Keys remembered at most (a flood of made-up keys must not grow memory without end). */
const MAX_KEYS = 100_000;

interface KeyState {
  windowStart: number;
  current: number;
  previous: number;
  inFlight: number;
}

export class LocalLimiter {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly limitPerMinute: number,
    private readonly maxConcurrent: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Counts the request and answers how to release it once it ends, or why it may not go
   * on, with the seconds to wait.
   */
  admit(key: string): { release: () => void } | { refused: string; retryAfterS: number; limit: number; resetS: number } {
    const now = this.clock();
    const windowStart = now - (now % WINDOW_MS);
    let s = this.keys.get(key);
    if (!s) {
      if (this.keys.size >= MAX_KEYS) this.forgetOldest(windowStart);
      s = { windowStart, current: 0, previous: 0, inFlight: 0 };
      this.keys.set(key, s);
    }
    if (s.windowStart !== windowStart) {
      s.previous = s.windowStart === windowStart - WINDOW_MS ? s.current : 0;
      s.current = 0;
      s.windowStart = windowStart;
    }
    s.current++;
    const refuse = (refused: string, retryAfterS: number) => ({ refused, retryAfterS, limit: this.limitPerMinute, resetS: Math.ceil((windowStart + WINDOW_MS) / 1000) });
    const used = s.previous * (1 - (now - windowStart) / WINDOW_MS) + s.current;
    if (used > this.limitPerMinute) {
      return refuse(`rate limit of ${this.limitPerMinute} requests per minute per node key exceeded; retry after the seconds Retry-After says`, Math.ceil((windowStart + WINDOW_MS - now) / 1000));
    }
    if (s.inFlight >= this.maxConcurrent) {
      return refuse(`at most ${this.maxConcurrent} requests at once per node key; wait for one to finish`, 1);
    }
    s.inFlight++;
    const state = s;
    let released = false;
    return {
      release: () => {
        if (!released) state.inFlight--;
        released = true;
      },
    };
  }

  /** Drops keys idle since before the previous window; if none are, the first ones met. */
  private forgetOldest(windowStart: number) {
    for (const [k, v] of this.keys) if (v.inFlight === 0 && v.windowStart < windowStart - WINDOW_MS) this.keys.delete(k);
    for (const [k, v] of this.keys) {
      if (this.keys.size < MAX_KEYS) break;
      if (v.inFlight === 0) this.keys.delete(k);
    }
  }
}

/** Guards requests by the bearer token they present, before it is even looked up. */
export function localLimit(limiter: LocalLimiter) {
  return createMiddleware(async (c: Context, next) => {
    const key = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '')?.[1]?.toLowerCase();
    if (!key) return next(); // authentication answers it
    const admitted = limiter.admit(key);
    if ('refused' in admitted) {
      c.header('Retry-After', String(Math.max(1, admitted.retryAfterS)));
      c.header('X-RateLimit-Limit', String(admitted.limit));
      c.header('X-RateLimit-Remaining', '0');
      c.header('X-RateLimit-Reset', String(admitted.resetS));
      throw new ApiError('rate_limited', admitted.refused);
    }
    try {
      await next();
    } finally {
      admitted.release();
    }
  });
}
