// A local stand-in for the part of F5 BIG-IP's iControl REST API the f5 adapter uses, over
// HTTPS with its own self-signed certificate (as a BIG-IP presents): token login
// (/mgmt/shared/authn/login), X-F5-Auth-Token on every call, /mgmt/tm/sys/version, and
// blackhole routes under /mgmt/tm/net/route with BIG-IP's 409 and 404 answers.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { failureSwitch, selfSignedCert } from './tls.js';

export interface F5Route {
  name: string;
  partition: string;
  network: string;
  blackhole: boolean;
}

export interface F5Api {
  baseUrl: string;
  /** The CA to trust (the server's self-signed certificate). */
  ca: string;
  credentials: string;
  routes: Map<string, F5Route>;
  /** Login attempts, good and bad. */
  logins: number;
  /** Forgets every token (they expired). */
  expireTokens(): void;
  /** The next `n` requests answer `status` (the appliance busy or restarting). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

export async function startF5Api(): Promise<F5Api> {
  const { cert, key } = selfSignedCert();
  const tokens = new Set<string>();
  const user = 'admin';
  const password = 'bigip-pass-123';
  const state = { routes: new Map<string, F5Route>(), logins: 0 };
  const failing = failureSwitch();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing.answered(res)) return;
      const url = new URL(req.url ?? '/', 'https://x');
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      const error = (code: number, message: string) => answer(code, { code, message, errorStack: [], apiError: 3 });
      let body: any;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        return error(400, 'Found invalid JSON body in the request.');
      }
      if (req.method === 'POST' && url.pathname === '/mgmt/shared/authn/login') {
        state.logins++;
        if (body?.username !== user || body?.password !== password) return error(401, 'Authentication failed.');
        const token = randomBytes(16).toString('hex').toUpperCase();
        tokens.add(token);
        return answer(200, { username: user, loginProviderName: 'tmos', token: { token, timeout: 1200, userName: user } });
      }
      const token = String(req.headers['x-f5-auth-token'] ?? '');
      if (!tokens.has(token)) return error(401, `X-F5-Auth-Token does not exist.`);
      const del = /^\/mgmt\/shared\/authz\/tokens\/([A-Z0-9]+)$/.exec(url.pathname);
      if (req.method === 'DELETE' && del) {
        tokens.delete(del[1]!);
        return answer(200, { token: del[1] });
      }
      if (req.method === 'GET' && url.pathname === '/mgmt/tm/sys/version') {
        return answer(200, {
          kind: 'tm:sys:version:versionstats',
          selfLink: 'https://localhost/mgmt/tm/sys/version?ver=17.1.0',
          entries: { 'https://localhost/mgmt/tm/sys/version/0': { nestedStats: { entries: { Build: { description: '0.0.6' }, Product: { description: 'BIG-IP' }, Version: { description: '17.1.0' } } } } },
        });
      }
      if (url.pathname === '/mgmt/tm/net/route') {
        if (req.method === 'GET') {
          const partition = /partition\s+eq\s+(\S+)/.exec(url.searchParams.get('$filter') ?? '')?.[1];
          return answer(200, { kind: 'tm:net:route:routecollectionstate', items: [...state.routes.values()].filter((r) => !partition || r.partition === partition).map((r) => ({ kind: 'tm:net:route:routestate', fullPath: `/${r.partition}/${r.name}`, ...r })) });
        }
        if (req.method === 'POST') {
          if (typeof body?.name !== 'string' || !/^[A-Za-z0-9_.:-]+$/.test(body.name)) return error(400, '01070734:3: Configuration error: invalid name');
          if (typeof body.network !== 'string' || !/^[0-9a-f.:]+\/\d+$/.test(body.network)) return error(400, `0107004d:3: Bad parameter in network (${String(body.network)})`);
          if (body.blackhole !== true && !body.gw) return error(400, '01070726:3: A route must have a gateway, pool, interface or blackhole');
          const partition = body.partition ?? 'Common';
          const id = `${partition}/${body.name}`;
          if (state.routes.has(id)) return error(409, `01020066:3: The requested route (/${id}) already exists in partition ${partition}.`);
          const route = { name: body.name, partition, network: body.network, blackhole: true };
          state.routes.set(id, route);
          return answer(200, { kind: 'tm:net:route:routestate', fullPath: `/${id}`, ...route });
        }
      }
      const one = /^\/mgmt\/tm\/net\/route\/~([^~]+)~(.+)$/.exec(url.pathname);
      if (one && req.method === 'DELETE') {
        const id = `${one[1]}/${decodeURIComponent(one[2]!)}`;
        if (!state.routes.delete(id)) return error(404, `01020036:3: The requested route (/${id}) was not found.`);
        return answer(200, {});
      }
      return error(404, `Public URI path not registered: ${url.pathname}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: cert,
    credentials: `${user}:${password}`,
    routes: state.routes,
    get logins() {
      return state.logins;
    },
    expireTokens: () => tokens.clear(),
    failNext: failing.failNext,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
