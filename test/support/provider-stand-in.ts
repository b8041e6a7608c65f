// What every local stand-in for a scrubbing provider's API shares: an HTTP server on
// loopback that logs each request, reads its body (JSON or form), can be told to fail the
// next requests (a status, or no answer at all: a timeout) and hands the rest to the
// provider's own handler. Each stand-in implements ProviderStandIn, so one suite can run
// every provider through the same diversion cycle (test/scrubbing-providers.test.ts).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ScrubbingType } from '../../domain/scrubbing.js';

export interface StandInRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** The path without the query and without the stand-in's base path. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: string;
  /** The JSON body (undefined if none or not JSON). */
  json: any;
  /** The form-encoded body, for form requests. */
  form: URLSearchParams;
}

export interface StandInAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StandInServer {
  baseUrl: string;
  /** "METHOD /path?query" of every request, failed ones included. */
  requests: string[];
  /** The next `n` requests answer `status` with `body` (or the provider's usual error body); status 0: no answer (a timeout). */
  failNext(n: number, status?: number, body?: unknown): void;
  close(): Promise<void>;
}

/**
 * Starts a stand-in whose API lives under `basePath` ("/v2"). `handle` answers the
 * requests not failed on purpose; `errorBody` shapes a simulated failure as the provider would.
 */
export async function startStandIn(basePath: string, handle: (req: StandInRequest) => StandInAnswer | Promise<StandInAnswer>, errorBody: (status: number) => unknown): Promise<StandInServer> {
  const requests: string[] = [];
  let failures = 0;
  let failure: { status: number; body?: unknown } = { status: 500 };
  const stalled = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const send = (a: StandInAnswer) => {
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      };
      const url = req.url ?? '/';
      requests.push(`${req.method} ${url}`);
      if (failures > 0) {
        failures--;
        if (failure.status === 0) return void stalled.add(res); // never answered: the caller times out
        return send({ status: failure.status, body: failure.body ?? errorBody(failure.status) });
      }
      const parsed = new URL(url, 'http://stand-in');
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = raw ? JSON.parse(raw) : undefined;
      } catch {
        json = undefined;
      }
      const path = parsed.pathname.startsWith(basePath) ? parsed.pathname.slice(basePath.length) || '/' : parsed.pathname;
      try {
        send(await handle({ method: req.method ?? 'GET', url, path, query: parsed.searchParams, headers: req.headers, raw, json, form: new URLSearchParams(raw) }));
      } catch (err) {
        send({ status: 500, body: { error: `stand-in failed: ${(err as Error).message}` } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}`,
    requests,
    failNext(n, status = 500, body) {
      failures = n;
      failure = { status, body };
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of stalled) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One provider's stand-in, as the shared diversion suite drives it. */
export interface ProviderStandIn extends StandInServer {
  type: ScrubbingType;
  /** An integration's `config` and `credentials` against this stand-in; each call names a fresh resource (instance, firewall, zone …) so integrations do not share state. */
  integration(): { config: Record<string, unknown>; credentials: Record<string, unknown> };
  /** Credentials the provider refuses (401/403). */
  badCredentials(): Record<string, unknown>;
  /** What the provider does now for the integration made by the last `integration()` call (or the one named by its config). */
  diverting(config: Record<string, unknown>): 'on' | 'off' | 'partial';
  /** Undoes the diversion behind Bulwark's back, as someone in the provider's console. */
  turnOff(config: Record<string, unknown>): void;
  /** Changes take effect only after this many later status reads (a provider applying asynchronously). */
  applyAfterReads: number;
}
