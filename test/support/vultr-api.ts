// A local stand-in for the part of Vultr's API v2 the integration uses
// (https://www.vultr.com/api/): Bearer auth, GET /account, GET and PATCH /instances/{id}
// with `ddos_protection`, shown in the instance's `features`. It keeps state, can apply a
// change only after some status reads (as a provider that applies asynchronously), and can
// be told to fail.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface VultrApi {
  /** The base URL the integration is configured with (…/v2). */
  baseUrl: string;
  apiKey: string;
  /** Whether the instance's DDoS protection is on. */
  protectedNow(instanceId: string): boolean;
  /** Turns it on or off behind Bulwark's back (someone in the console). */
  set(instanceId: string, on: boolean): void;
  /** Changes take effect only after this many later reads of the instance. */
  applyAfterReads: number;
  /** Answer the next `n` requests with `status`. */
  failNext(n: number, status?: number): void;
  requests: string[];
  close(): Promise<void>;
}

export async function startVultrApi(instanceIds: string[]): Promise<VultrApi> {
  const apiKey = 'VULTRTESTKEY0123456789';
  const on = new Map(instanceIds.map((id) => [id, false]));
  const pending = new Map<string, { value: boolean; reads: number }>();
  let failures = 0;
  let failStatus = 500;
  const requests: string[] = [];
  const api: Partial<VultrApi> = { applyAfterReads: 0 };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body?: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      requests.push(`${req.method} ${req.url}`);
      if (failures > 0) {
        failures--;
        return send(failStatus, { error: 'simulated failure', status: failStatus });
      }
      if (req.headers.authorization !== `Bearer ${apiKey}`) return send(401, { error: 'Invalid API token.', status: 401 });
      const path = (req.url ?? '').replace(/^\/v2/, '');
      if (req.method === 'GET' && path === '/account') return send(200, { account: { name: 'Test Account', email: 'ops@example.com' } });
      const m = /^\/instances\/([^/]+)$/.exec(path);
      if (!m || !on.has(decodeURIComponent(m[1]!))) return send(404, { error: 'Invalid instance-id.', status: 404 });
      const id = decodeURIComponent(m[1]!);
      if (req.method === 'PATCH') {
        let body: { ddos_protection?: unknown };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return send(400, { error: 'Invalid JSON.', status: 400 });
        }
        if (typeof body.ddos_protection !== 'boolean') return send(400, { error: 'ddos_protection must be a boolean', status: 400 });
        if (api.applyAfterReads! > 0) pending.set(id, { value: body.ddos_protection, reads: api.applyAfterReads! });
        else on.set(id, body.ddos_protection);
        return send(202, { instance: instance(id) });
      }
      if (req.method === 'GET') {
        const p = pending.get(id);
        if (p && --p.reads <= 0) {
          on.set(id, p.value);
          pending.delete(id);
        }
        return send(200, { instance: instance(id) });
      }
      send(405, { error: 'Method not allowed', status: 405 });
    });
  });
  const instance = (id: string) => ({ id, main_ip: '203.0.113.10', features: on.get(id) ? ['ddos_protection', 'auto_backups'] : ['auto_backups'] });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(api, {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`,
    apiKey,
    protectedNow: (id: string) => on.get(id) ?? false,
    set: (id: string, value: boolean) => void on.set(id, value),
    failNext(n: number, status = 500) {
      failures = n;
      failStatus = status;
    },
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }) as VultrApi;
}
