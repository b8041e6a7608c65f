// A local stand-in for the part of F5 BIG-IP's iControl REST API the f5 adapter uses, over
// HTTPS with its own self-signed certificate (as a BIG-IP presents): token login
// (/mgmt/shared/authn/login), X-F5-Auth-Token on every call, /mgmt/tm/sys/version,
// blackhole routes under /mgmt/tm/net/route with BIG-IP's 409 and 404 answers, and AFM:
// address lists (/mgmt/tm/security/firewall/address-list: never empty, PATCH replaces the
// addresses, none deleted while a rule refers to it) and firewall policies with their
// ordered rules (/mgmt/tm/security/firewall/policy/~P~N/rules: a new rule must say where it
// goes, placeBefore/placeAfter first, last or a rule's name; the lists it names must exist).
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { failureSwitch, selfSignedCert } from './tls.js';

export interface F5Route {
  name: string;
  partition: string;
  network: string;
  blackhole: boolean;
}

export interface F5FirewallRule {
  name: string;
  action: string;
  status?: string;
  ipProtocol?: string;
  description?: string;
  source?: Record<string, unknown>;
  destination?: { addressLists?: string[]; addresses?: Array<{ name: string }>; [k: string]: unknown };
}

export interface F5Policy {
  name: string;
  partition: string;
  /** In evaluation order. */
  rules: F5FirewallRule[];
}

export interface F5AddressList {
  name: string;
  partition: string;
  addresses: string[];
}

export interface F5Api {
  baseUrl: string;
  /** The CA to trust (the server's self-signed certificate). */
  ca: string;
  credentials: string;
  routes: Map<string, F5Route>;
  /** AFM firewall policies by full path ("/Common/edge"). */
  policies: Map<string, F5Policy>;
  /** AFM address lists by full path. */
  addressLists: Map<string, F5AddressList>;
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
  const state = { routes: new Map<string, F5Route>(), policies: new Map<string, F5Policy>(), addressLists: new Map<string, F5AddressList>(), logins: 0 };
  const failing = failureSwitch();

  const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
  const validAddress = (a: unknown) => typeof a === 'string' && (isIP(a) !== 0 || (/^([0-9a-f.:]+)\/(\d{1,3})$/i.test(a) && isIP(a.split('/')[0]!) !== 0));
  const listJson = (l: F5AddressList) => ({
    kind: 'tm:security:firewall:address-list:address-liststate',
    name: l.name,
    partition: l.partition,
    fullPath: `/${l.partition}/${l.name}`,
    addresses: l.addresses.map((name) => ({ name })),
  });
  const ruleJson = (r: F5FirewallRule) => ({
    kind: 'tm:security:firewall:policy:rules:rulesstate',
    fullPath: r.name,
    status: 'enabled',
    ipProtocol: 'any',
    source: { identity: {} },
    destination: {},
    ...r,
  });
  const referencedBy = (path: string) =>
    [...state.policies.values()].flatMap((p) =>
      p.rules
        .filter((r) => r.destination?.addressLists?.includes(path) || (r.source?.addressLists as string[] | undefined)?.includes(path))
        .map((r) => `/${p.partition}/${p.name} rule ${r.name}`),
    );
  const missingLists = (r: Partial<F5FirewallRule>) =>
    [...(r.destination?.addressLists ?? []), ...((r.source?.addressLists as string[] | undefined) ?? [])].filter((l) => !state.addressLists.has(l));

  /** The AFM endpoints: an answer, or null when the path is none of theirs. */
  function firewall(method: string, path: string, body: any): { status: number; body: unknown } | null {
    const ok = (b: unknown) => ({ status: 200, body: b });
    const err = (status: number, message: string) => ({ status, body: message });
    if (path === '/mgmt/tm/security/firewall/address-list') {
      if (method === 'GET') return ok({ kind: 'tm:security:firewall:address-list:address-listcollectionstate', items: [...state.addressLists.values()].map(listJson) });
      if (method !== 'POST') return null;
      if (typeof body?.name !== 'string' || !NAME.test(body.name)) return err(400, '01070734:3: Configuration error: invalid name');
      const partition = body.partition ?? 'Common';
      const id = `/${partition}/${body.name}`;
      if (state.addressLists.has(id)) return err(409, `01020066:3: The requested address list (${id}) already exists in partition ${partition}.`);
      const addresses = (body.addresses ?? []).map((a: { name?: unknown }) => a?.name);
      if (addresses.length === 0) return err(400, `Address list (${id}) must contain at least one address, address list, FQDN or geo entry.`);
      const bad = addresses.find((a: unknown) => !validAddress(a));
      if (bad !== undefined) return err(400, `Invalid IP address or range (${String(bad)}) in address list (${id}).`);
      const list = { name: body.name, partition, addresses };
      state.addressLists.set(id, list);
      return ok(listJson(list));
    }
    const listOne = /^\/mgmt\/tm\/security\/firewall\/address-list\/~([^~/]+)~([^~/]+)$/.exec(path);
    if (listOne) {
      const id = `/${listOne[1]}/${listOne[2]}`;
      const list = state.addressLists.get(id);
      if (!list) return err(404, `01020036:3: The requested address list (${id}) was not found.`);
      if (method === 'GET') return ok(listJson(list));
      if (method === 'PATCH') {
        if (body?.addresses === undefined) return ok(listJson(list));
        const addresses = (body.addresses ?? []).map((a: { name?: unknown }) => a?.name);
        if (addresses.length === 0) return err(400, `Address list (${id}) must contain at least one address, address list, FQDN or geo entry.`);
        const bad = addresses.find((a: unknown) => !validAddress(a));
        if (bad !== undefined) return err(400, `Invalid IP address or range (${String(bad)}) in address list (${id}).`);
        list.addresses = addresses;
        return ok(listJson(list));
      }
      if (method === 'DELETE') {
        const users = referencedBy(id);
        if (users.length > 0) return err(400, `Cannot delete address list (${id}): it is in use by ${users.join(', ')}.`);
        state.addressLists.delete(id);
        return ok({});
      }
      return null;
    }
    if (path === '/mgmt/tm/security/firewall/policy') {
      if (method === 'GET')
        return ok({
          kind: 'tm:security:firewall:policy:policycollectionstate',
          items: [...state.policies.values()].map((p) => ({
            kind: 'tm:security:firewall:policy:policystate',
            name: p.name,
            partition: p.partition,
            fullPath: `/${p.partition}/${p.name}`,
          })),
        });
      if (method !== 'POST') return null;
      if (typeof body?.name !== 'string' || !NAME.test(body.name)) return err(400, '01070734:3: Configuration error: invalid name');
      const partition = body.partition ?? 'Common';
      const id = `/${partition}/${body.name}`;
      if (state.policies.has(id)) return err(409, `01020066:3: The requested firewall policy (${id}) already exists in partition ${partition}.`);
      state.policies.set(id, { name: body.name, partition, rules: [] });
      return ok({ kind: 'tm:security:firewall:policy:policystate', name: body.name, partition, fullPath: id });
    }
    const policyPath = /^\/mgmt\/tm\/security\/firewall\/policy\/~([^~/]+)~([^~/]+)(\/rules(?:\/([^/]+))?)?$/.exec(path);
    if (!policyPath) return null;
    const id = `/${policyPath[1]}/${policyPath[2]}`;
    const policy = state.policies.get(id);
    if (!policy) return err(404, `01020036:3: The requested firewall policy (${id}) was not found.`);
    if (!policyPath[3]) return method === 'GET' ? ok({ kind: 'tm:security:firewall:policy:policystate', name: policy.name, partition: policy.partition, fullPath: id }) : null;
    const ruleName = policyPath[4] && decodeURIComponent(policyPath[4]);
    if (!ruleName) {
      if (method === 'GET') return ok({ kind: 'tm:security:firewall:policy:rules:rulescollectionstate', items: policy.rules.map(ruleJson) });
      if (method !== 'POST') return null;
      if (typeof body?.name !== 'string' || !NAME.test(body.name) || body.name === 'first' || body.name === 'last')
        return err(400, '01070734:3: Configuration error: invalid rule name');
      if (policy.rules.some((r) => r.name === body.name)) return err(409, `01020066:3: The requested rule (${body.name}) already exists in policy ${id}.`);
      if (!['accept', 'accept-decisively', 'drop', 'reject'].includes(body.action)) return err(400, `01070734:3: Configuration error: invalid action (${String(body.action)})`);
      const before = body.placeBefore !== undefined;
      const place = before ? body.placeBefore : body.placeAfter;
      if (typeof place !== 'string') return err(400, 'place-before or place-after must be specified when adding a rule');
      const n = policy.rules.length;
      const named = policy.rules.findIndex((r) => r.name === place);
      if (place !== 'first' && place !== 'last' && named < 0) return err(400, `01020036:3: The requested rule (${place}) was not found.`);
      const missing = missingLists(body);
      if (missing.length > 0) return err(400, `01020036:3: The requested address list (${missing[0]}) was not found.`);
      const { placeBefore: _b, placeAfter: _a, ...fields } = body;
      const at = place === 'first' ? (before ? 0 : Math.min(1, n)) : place === 'last' ? (before ? Math.max(n - 1, 0) : n) : before ? named : named + 1;
      policy.rules.splice(at, 0, fields);
      return ok(ruleJson(fields));
    }
    const index = policy.rules.findIndex((r) => r.name === ruleName);
    if (index < 0) return err(404, `01020036:3: The requested rule (${ruleName}) was not found in policy ${id}.`);
    if (method === 'GET') return ok(ruleJson(policy.rules[index]!));
    if (method === 'PATCH') {
      const missing = missingLists(body ?? {});
      if (missing.length > 0) return err(400, `01020036:3: The requested address list (${missing[0]}) was not found.`);
      policy.rules[index] = { ...policy.rules[index]!, ...body, name: ruleName };
      return ok(ruleJson(policy.rules[index]!));
    }
    if (method === 'DELETE') {
      policy.rules.splice(index, 1);
      return ok({});
    }
    return null;
  }
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
          entries: {
            'https://localhost/mgmt/tm/sys/version/0': {
              nestedStats: { entries: { Build: { description: '0.0.6' }, Product: { description: 'BIG-IP' }, Version: { description: '17.1.0' } } },
            },
          },
        });
      }
      if (url.pathname === '/mgmt/tm/net/route') {
        if (req.method === 'GET') {
          const partition = /partition\s+eq\s+(\S+)/.exec(url.searchParams.get('$filter') ?? '')?.[1];
          return answer(200, {
            kind: 'tm:net:route:routecollectionstate',
            items: [...state.routes.values()]
              .filter((r) => !partition || r.partition === partition)
              .map((r) => ({ kind: 'tm:net:route:routestate', fullPath: `/${r.partition}/${r.name}`, ...r })),
          });
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
      const afm = firewall(req.method ?? 'GET', url.pathname, body);
      if (afm) return answer(afm.status, afm.status === 200 ? afm.body : { code: afm.status, message: afm.body, errorStack: [], apiError: 3 });
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
    policies: state.policies,
    addressLists: state.addressLists,
    get logins() {
      return state.logins;
    },
    expireTokens: () => tokens.clear(),
    failNext: failing.failNext,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
