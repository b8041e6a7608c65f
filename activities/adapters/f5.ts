// F5 BIG-IP adapter, through iControl REST: a token login (POST /mgmt/shared/authn/login,
// then X-F5-Auth-Token; logged in again when the token expires), and a blackhole route per
// rule (POST /mgmt/tm/net/route {"name", "network", "blackhole": true}; DELETE
// /mgmt/tm/net/route/~<partition>~<name>): the BIG-IP drops the target's traffic, and its
// own routing (dynamic routing, or an upstream RTBH session) carries it on. Routes Bulwark
// made are named `bulwark_<prefix>`, so listing and removing never touch the user's own.
// `auth_token` is `username:password`; BIG-IPs usually present a self-signed certificate:
// `config.tls_ca` is the CA (or the certificate itself) to verify it with.
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';
import type { MitigationIntent } from '../../domain/intent.js';
import type { HttpAnswer } from '../http-client.js';
import { applianceHttp, loginOf, messageOf } from './appliance.js';
import { AdapterError, type AdapterSettings, type MitigationAdapter } from './types.js';

const NAME_PREFIX = 'bulwark_';

/** A route name BIG-IP accepts, one per prefix: bulwark_203.0.113.5_32, bulwark_2001_db8__1_128. */
export const routeName = (prefix: string) => `${NAME_PREFIX}${prefix.replace(/[:/]/g, '_')}`;

export function createF5Adapter(settings: AdapterSettings): MitigationAdapter {
  const partition = typeof settings.config?.partition === 'string' ? settings.config.partition : 'Common';
  const raw = applianceHttp('F5 BIG-IP', settings);
  let token: string | null = null;

  async function login(): Promise<string> {
    const answer = await raw('POST', '/mgmt/shared/authn/login', { ...loginOf('F5 BIG-IP', settings), loginProviderName: 'tmos' }, {});
    // A refused login is never retried: BIG-IP locks accounts after repeated failures.
    if (answer.status === 401 || answer.status === 403) throw new AdapterError(`F5 BIG-IP refused the login: ${messageOf(answer)}`, false);
    if (answer.status !== 200) throw new AdapterError(`F5 BIG-IP login: HTTP ${answer.status} ${messageOf(answer)}`, answer.status >= 500 || answer.status === 429);
    const t = (JSON.parse(answer.body) as { token?: { token?: string } }).token?.token;
    if (!t) throw new AdapterError('F5 BIG-IP login answered no token');
    return t;
  }

  /** A call with the session token; one fresh login when it has expired. */
  async function call(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      token ??= await login();
      const answer = await raw(method, path, body, { 'x-f5-auth-token': token });
      if (answer.status !== 401 || attempt > 0) return answer;
      token = null;
    }
  }

  function fail(what: string, a: HttpAnswer): never {
    throw new AdapterError(`F5 BIG-IP ${what}: HTTP ${a.status} ${messageOf(a)}`, a.status >= 500 || a.status === 429);
  }

  function blackholeOnly(intent: MitigationIntent): string {
    if (intent.kind !== 'blackhole') throw new AdapterError('the f5 adapter announces blackhole routes only; use a BGP speaker for FlowSpec', false);
    return intent.prefix;
  }

  return {
    async announce(intent) {
      const prefix = blackholeOnly(intent);
      const a = await call('POST', '/mgmt/tm/net/route', { name: routeName(prefix), partition, network: prefix, blackhole: true, description: 'Bulwark mitigation rule' });
      // 409: it exists already (a retried announce): done.
      if (a.status !== 200 && a.status !== 409) fail(`refused the blackhole route for ${prefix}`, a);
    },
    async withdraw(intent) {
      const prefix = blackholeOnly(intent);
      const a = await call('DELETE', `/mgmt/tm/net/route/~${partition}~${encodeURIComponent(routeName(prefix))}`);
      if (a.status !== 200 && a.status !== 404) fail(`refused to delete the blackhole route for ${prefix}`, a);
    },
    async test() {
      const t0 = performance.now();
      token = null; // the credentials themselves are what a test checks
      const a = await call('GET', '/mgmt/tm/sys/version');
      if (a.status !== 200) fail('version', a);
      const entries = (JSON.parse(a.body) as { entries?: Record<string, { nestedStats?: { entries?: Record<string, { description?: string }> } }> }).entries ?? {};
      const stats = Object.values(entries)[0]?.nestedStats?.entries ?? {};
      return { latencyMs: performance.now() - t0, detail: `BIG-IP ${stats.Product?.description ?? ''} ${stats.Version?.description ?? ''}: logged in, routes readable`.replace(/\s+/g, ' ') };
    },
    async list() {
      const a = await call('GET', `/mgmt/tm/net/route?$filter=partition+eq+${encodeURIComponent(partition)}`);
      if (a.status !== 200) fail('routes', a);
      const items = (JSON.parse(a.body) as { items?: Array<{ name: string; network: string; blackhole?: boolean }> }).items ?? [];
      const out: MitigationIntent[] = [];
      for (const r of items) {
        const p = parsePrefix(r.network);
        if (!r.name.startsWith(NAME_PREFIX) || !r.blackhole || !p.ok) continue;
        out.push({ kind: 'blackhole', prefix: formatPrefix(p.prefix), nextHop: p.prefix.family === 4 ? '192.0.2.1' : '2001:db8::1', communities: ['65535:666'] });
      }
      return out;
    },
    close: async () => {
      if (!token) return;
      // Tokens are a limited resource on a BIG-IP: give it back.
      await raw('DELETE', `/mgmt/shared/authz/tokens/${token}`, undefined, { 'x-f5-auth-token': token }).catch(() => undefined);
      token = null;
    },
  };
}
