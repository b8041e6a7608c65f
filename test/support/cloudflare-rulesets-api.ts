// A local stand-in for the part of Cloudflare's API v4 the cloudflare adapter's
// magic_firewall mode uses: Bearer token, the {success, errors, result} envelope, the
// account's magic_transit phase entry point ruleset (GET answers 404 until it is made with
// PUT), rules added with POST .../rulesets/{id}/rules and removed with DELETE
// .../rules/{rule_id}, each answering the whole ruleset. https://developers.cloudflare.com/api/resources/rulesets/
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { failureSwitch } from './tls.js';

export interface MagicRule {
  id: string;
  action: string;
  expression: string;
  description: string;
  enabled: boolean;
}

export interface CloudflareRulesetsApi {
  baseUrl: string;
  token: string;
  accountId: string;
  /** The account's Magic Firewall rules, null until the entry point exists. */
  rules(): MagicRule[] | null;
  /** A rule of the user's own, made in the dashboard. */
  addUserRule(expression: string): void;
  /** The next `n` requests answer `status` (Cloudflare overloaded, or rate-limiting with 429). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

const ACTIONS = ['block', 'skip', 'log'];

export async function startCloudflareRulesetsApi(): Promise<CloudflareRulesetsApi> {
  const token = 'cf-rulesets-token-0123456789abcdef';
  const accountId = randomBytes(16).toString('hex');
  let ruleset: { id: string; name: string; phase: string; kind: string; rules: MagicRule[] } | null = null;
  const envelope = (result: unknown) => ({ success: true, errors: [], messages: [], result });
  const newRule = (r: Omit<MagicRule, 'id'>): MagicRule => ({ id: randomBytes(16).toString('hex'), ...r });
  const failing = failureSwitch();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing.answered(res)) return;
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const error = (status: number, code: number, message: string) => answer(status, { success: false, errors: [{ code, message }], messages: [], result: null });
      if (req.headers.authorization !== `Bearer ${token}`) return error(403, 10000, 'Authentication error');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      let body: any;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        return error(400, 10026, 'could not parse the request body');
      }
      if (req.method === 'GET' && path === '/user/tokens/verify') return answer(200, envelope({ id: 'f267e341f3dd4697bd3b9f71dd96247f', status: 'active' }));
      const entry = `/accounts/${accountId}/rulesets/phases/magic_transit/entrypoint`;
      if (path === entry && req.method === 'GET') return ruleset ? answer(200, envelope(ruleset)) : error(404, 10003, 'could not find entrypoint ruleset in the magic_transit phase');
      if (path === entry && req.method === 'PUT') {
        ruleset = { id: randomBytes(16).toString('hex'), name: body?.name ?? 'default', phase: 'magic_transit', kind: 'root', rules: (body?.rules ?? []).map(newRule) };
        return answer(200, envelope(ruleset));
      }
      const rules = /^\/accounts\/([^/]+)\/rulesets\/([^/]+)\/rules(?:\/([^/]+))?$/.exec(path);
      if (rules && rules[1] === accountId) {
        if (!ruleset || rules[2] !== ruleset.id) return error(404, 10003, 'ruleset not found');
        if (req.method === 'POST' && !rules[3]) {
          if (!ACTIONS.includes(body?.action)) return error(400, 20021, `invalid action ${String(body?.action)}`);
          if (typeof body.expression !== 'string' || !/^[a-z]/.test(body.expression)) return error(400, 20120, 'the expression is invalid');
          if (typeof body.description === 'string' && body.description.length > 500) return error(400, 20124, 'description is longer than 500 characters');
          ruleset.rules.push(newRule({ action: body.action, expression: body.expression, description: body.description ?? '', enabled: body.enabled !== false }));
          return answer(200, envelope(ruleset));
        }
        if (req.method === 'DELETE' && rules[3]) {
          const at = ruleset.rules.findIndex((r) => r.id === rules[3]);
          if (at < 0) return error(404, 10006, 'rule not found');
          ruleset.rules.splice(at, 1);
          return answer(200, envelope(ruleset));
        }
      }
      return error(404, 7000, 'No route for that URI');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    accountId,
    rules: () => (ruleset ? structuredClone(ruleset.rules) : null),
    addUserRule(expression) {
      ruleset ??= { id: randomBytes(16).toString('hex'), name: 'default', phase: 'magic_transit', kind: 'root', rules: [] };
      ruleset.rules.push(newRule({ action: 'block', expression, description: 'blocked by the NOC', enabled: true }));
    },
    failNext: failing.failNext,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
