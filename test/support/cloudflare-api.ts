// A local stand-in for the part of Cloudflare's API v4 that Magic Transit on demand uses:
// Bearer tokens (GET /accounts/{a}/tokens/verify), the account's IP prefixes and their BGP
// prefixes, and PATCH of a BGP prefix's `on_demand.advertised`; answers in the
// {success, errors, messages, result} envelope. Keeps state, can apply changes late, and
// can be told to fail.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CloudflareApi {
  /** …/client/v4 */
  baseUrl: string;
  accountId: string;
  apiToken: string;
  advertised(cidr: string): boolean;
  set(cidr: string, on: boolean): void;
  applyAfterReads: number;
  failNext(n: number, status?: number): void;
  requests: string[];
  close(): Promise<void>;
}

export async function startCloudflareApi(cidrs: string[]): Promise<CloudflareApi> {
  const accountId = '0123456789abcdef0123456789abcdef';
  const apiToken = 'cf-test-token-0123456789abcdef';
  const prefixes = cidrs.map((cidr, i) => ({ id: `pfx${i}`, cidr, bgpId: `bgp${i}`, advertised: false, pending: null as null | { value: boolean; reads: number } }));
  let failures = 0;
  let failStatus = 500;
  const requests: string[] = [];
  const api: Partial<CloudflareApi> = { applyAfterReads: 0 };
  const envelope = (result: unknown) => ({ success: true, errors: [], messages: [], result });
  const error = (code: number, message: string) => ({ success: false, errors: [{ code, message }], messages: [], result: null });
  const bgpView = (p: (typeof prefixes)[number]) => ({ id: p.bgpId, cidr: p.cidr, on_demand: { advertised: p.advertised, advertised_modified_at: null, on_demand_enabled: true, on_demand_locked: false } });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      requests.push(`${req.method} ${req.url}`);
      if (failures > 0) {
        failures--;
        return send(failStatus, error(failStatus === 429 ? 971 : 10000, 'simulated failure'));
      }
      if (req.headers.authorization !== `Bearer ${apiToken}`) return send(403, error(10000, 'Authentication error'));
      const path = (req.url ?? '').replace(/^\/client\/v4/, '');
      const acct = `/accounts/${accountId}`;
      if (!path.startsWith(acct)) return send(403, error(9109, 'Unauthorized to access requested resource'));
      const rest = path.slice(acct.length);
      if (req.method === 'GET' && rest === '/tokens/verify') return send(200, envelope({ id: 'tok', status: 'active' }));
      if (req.method === 'GET' && rest === '/addressing/prefixes') return send(200, envelope(prefixes.map((p) => ({ id: p.id, cidr: p.cidr, account_id: accountId }))));
      const list = /^\/addressing\/prefixes\/([^/]+)\/bgp\/prefixes$/.exec(rest);
      if (req.method === 'GET' && list) {
        const p = prefixes.find((x) => x.id === list[1]);
        return p ? send(200, envelope([bgpView(p)])) : send(404, error(1000, 'not found'));
      }
      const one = /^\/addressing\/prefixes\/([^/]+)\/bgp\/prefixes\/([^/]+)$/.exec(rest);
      const p = one && prefixes.find((x) => x.id === one[1] && x.bgpId === one[2]);
      if (!p) return send(404, error(1000, 'not found'));
      if (req.method === 'GET') {
        if (p.pending && --p.pending.reads <= 0) {
          p.advertised = p.pending.value;
          p.pending = null;
        }
        return send(200, envelope(bgpView(p)));
      }
      if (req.method === 'PATCH') {
        let body: { on_demand?: { advertised?: unknown } };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return send(400, error(1001, 'invalid JSON'));
        }
        const value = body.on_demand?.advertised;
        if (typeof value !== 'boolean') return send(400, error(1002, 'on_demand.advertised must be a boolean'));
        if (api.applyAfterReads! > 0) p.pending = { value, reads: api.applyAfterReads! };
        else p.advertised = value;
        return send(200, envelope(bgpView(p)));
      }
      send(405, error(1003, 'method not allowed'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(api, {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`,
    accountId,
    apiToken,
    advertised: (cidr: string) => prefixes.find((p) => p.cidr === cidr)?.advertised ?? false,
    set: (cidr: string, on: boolean) => void (prefixes.find((p) => p.cidr === cidr)!.advertised = on),
    failNext(n: number, status = 500) {
      failures = n;
      failStatus = status;
    },
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }) as CloudflareApi;
}
