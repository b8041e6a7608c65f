// The console's guard rails: the session cookie (a deploy token exchanged for it, never
// kept in the browser), CSRF on every form, the security headers of every page, and the
// one way the console acts: the REST API itself, called in-process as the session's token.
import { timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { findSession, SESSION_HOURS, type ConsoleSession } from '../../db/console-sessions.js';
import type { ConsoleCall } from '../auth.js';
import type { AppDeps } from '../context.js';
import { CONSOLE_BASE } from './layout.js';

export type ConsoleEnv = { Variables: { deps: AppDeps; session: ConsoleSession; api: ApiCaller; download: ApiDownload } };

export const SESSION_COOKIE = 'bulwark_session';
/** Sign-in's CSRF token (no session yet): a cookie the form must repeat. */
export const SIGNIN_COOKIE = 'bulwark_signin';

/**
 * Scripts and styles from this app only, no inline code, nothing framed, forms posting
 * only here: an injected string cannot run, restyle or send anything away.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const securityHeaders = createMiddleware(async (c, next) => {
  await next();
  c.header('Content-Security-Policy', CSP);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
  if (!c.req.path.startsWith(`${CONSOLE_BASE}/assets/`)) c.header('Cache-Control', 'no-store');
});

const secure = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';

export function setSessionCookie(c: Context, id: string) {
  setCookie(c, SESSION_COOKIE, id, { path: CONSOLE_BASE, httpOnly: true, sameSite: 'Strict', secure: secure(c), maxAge: SESSION_HOURS * 3600 });
}

export function clearSessionCookie(c: Context) {
  deleteCookie(c, SESSION_COOKIE, { path: CONSOLE_BASE, secure: secure(c) });
}

export function setSigninCookie(c: Context, token: string) {
  setCookie(c, SIGNIN_COOKIE, token, { path: CONSOLE_BASE, httpOnly: true, sameSite: 'Strict', secure: secure(c), maxAge: 3600 });
}

export const sessionIdOf = (c: Context) => getCookie(c, SESSION_COOKIE) ?? '';
export const signinTokenOf = (c: Context) => getCookie(c, SIGNIN_COOKIE) ?? '';

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** A browser says where a request came from: another site's never acts here, whatever it carries. */
export function crossSite(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return true;
  const origin = c.req.header('origin');
  return origin !== undefined && origin !== 'null' && origin !== new URL(c.req.url).origin;
}

/** A console request's answer from the REST API: its status and envelope. */
export type ApiAnswer = { status: number; body: { ok: boolean; error?: { code: string; message: string } } & Record<string, unknown> };
export type ApiCaller = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

/** The REST API's app, asked in-process: `path` below /api/v1. */
export type ApiRequest = (path: string, init: RequestInit, env: ConsoleCall) => Response | Promise<Response>;

/** The REST API's raw answer to a GET as the session's token (a capture's file). */
export type ApiDownload = (path: string) => Promise<Response>;

const envOf = (session: ConsoleSession): ConsoleCall => ({ consoleSession: { tokenId: session.tokenId, workspace: session.workspace } });

/** Calls the REST API in-process as the session's token: the same routes, validation, rate limit and tenant checks as cURL. */
export function apiCaller(request: ApiRequest, session: ConsoleSession): ApiCaller {
  return async (method, path, body) => {
    const init: RequestInit = body === undefined ? { method } : { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const res = await request(path, init, envOf(session));
    return { status: res.status, body: (await res.json()) as ApiAnswer['body'] };
  };
}

export const apiDownload =
  (request: ApiRequest, session: ConsoleSession): ApiDownload =>
  async (path) =>
    request(path, { method: 'GET' }, envOf(session));

/**
 * Every page but sign-in: a live session or back to sign-in (htmx's polls are told to
 * go there too); every POST carries the session's CSRF token and comes from this site.
 */
export function requireSession(request: ApiRequest) {
  return createMiddleware<ConsoleEnv>(async (c, next) => {
    const session = await findSession(c.var.deps.db, sessionIdOf(c));
    if (!session) {
      if (c.req.header('hx-request')) {
        c.header('HX-Redirect', `${CONSOLE_BASE}/signin`);
        return c.body(null, 401);
      }
      return c.redirect(`${CONSOLE_BASE}/signin`, 303);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const form = await c.req.parseBody();
      const given = typeof form._csrf === 'string' ? form._csrf : (c.req.header('x-csrf-token') ?? '');
      if (crossSite(c) || !sameToken(given, session.csrf)) return c.text('Forbidden: this form has expired or came from another site. Reload the page and try again.', 403);
    }
    c.set('session', session);
    c.set('api', apiCaller(request, session));
    c.set('download', apiDownload(request, session));
    await next();
  });
}
