// F5 BIG-IP adapter, through iControl REST: a token login (POST /mgmt/shared/authn/login,
// then X-F5-Auth-Token; logged in again when the token expires), then per `config.mode`:
// - `route` (default): a blackhole route per rule (POST /mgmt/tm/net/route {"name",
//   "network", "blackhole": true}; DELETE /mgmt/tm/net/route/~<partition>~<name>): the
//   BIG-IP drops the target's traffic, and its own routing (dynamic routing, or an upstream
//   RTBH session) carries it on. Routes Bulwark made are named `bulwark_<prefix>`.
// - `afm`: the target in the AFM address list `bulwark_<policy>` (made with the first
//   target, deleted with the last: BIG-IP keeps no empty address list), which the drop rule
//   `bulwark_drop` of the firewall policy `config.policy` refers to (the policy is made if
//   missing; the rule is put first, and back when it is gone or altered). The user's own
//   rules, lists and routes are never touched.
// `auth_token` is `username:password`; BIG-IPs usually present a self-signed certificate:
// `config.tls_ca` is the CA (or the certificate itself) to verify it with.
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';
import type { MitigationIntent } from '../../domain/intent.js';
import type { HttpAnswer } from '../http-client.js';
import { applianceHttp, loginOf, messageOf } from './appliance.js';
import { AdapterError, CredentialsRefused, type AdapterSettings, type MitigationAdapter } from './types.js';

const NAME_PREFIX = 'bulwark_';
/** The drop rule Bulwark keeps in the AFM policy. */
export const AFM_RULE = 'bulwark_drop';

/** A route name BIG-IP accepts, one per prefix: bulwark_203.0.113.5_32, bulwark_2001_db8__1_128. */
export const routeName = (prefix: string) => `${NAME_PREFIX}${prefix.replace(/[:/]/g, '_')}`;
/** The AFM address list Bulwark owns beside a policy. */
export const afmListName = (policy: string) => `${NAME_PREFIX}${policy}`;

type Call = (method: string, path: string, body?: unknown) => Promise<HttpAnswer>;
type Fail = (what: string, a: HttpAnswer) => never;

/** What a blackhole the BIG-IP holds reads as, for the reconciler (next hop and communities are the defaults: only the prefix keys it). */
const blackholeOf = (text: string): MitigationIntent | null => {
  const p = parsePrefix(text);
  if (!p.ok) return null;
  return { kind: 'blackhole', prefix: formatPrefix(p.prefix), nextHop: p.prefix.family === 4 ? '192.0.2.1' : '2001:db8::1', communities: ['65535:666'] };
};
/** 203.0.113.5 and 203.0.113.5/32 are one target. */
const canonical = (text: string) => {
  const p = parsePrefix(text);
  return p.ok ? formatPrefix(p.prefix) : text;
};

function blackholeOnly(intent: MitigationIntent): string {
  if (intent.kind !== 'blackhole') throw new AdapterError('the f5 adapter blocks blackhole targets only; use a BGP speaker for FlowSpec', false);
  return intent.prefix;
}

// One change at a time to each address list from this process: BIG-IP replaces a list's
// addresses as a whole, so two concurrent read-add-write rounds would lose one.
const listQueues = new Map<string, Promise<unknown>>();
function oneAtATime<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (listQueues.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => undefined);
  listQueues.set(key, tail);
  void tail.then(() => listQueues.get(key) === tail && listQueues.delete(key));
  return run;
}

interface Backend {
  announce(prefix: string): Promise<void>;
  withdraw(prefix: string): Promise<void>;
  list(): Promise<MitigationIntent[]>;
  /** What the test saw beyond the login. */
  describe(): Promise<string>;
}

function routeBackend(call: Call, fail: Fail, partition: string): Backend {
  return {
    async announce(prefix) {
      const a = await call('POST', '/mgmt/tm/net/route', { name: routeName(prefix), partition, network: prefix, blackhole: true, description: 'Bulwark mitigation rule' });
      // 409: it exists already (a retried announce): done.
      if (a.status !== 200 && a.status !== 409) fail(`refused the blackhole route for ${prefix}`, a);
    },
    async withdraw(prefix) {
      const a = await call('DELETE', `/mgmt/tm/net/route/~${partition}~${encodeURIComponent(routeName(prefix))}`);
      if (a.status !== 200 && a.status !== 404) fail(`refused to delete the blackhole route for ${prefix}`, a);
    },
    async list() {
      const a = await call('GET', `/mgmt/tm/net/route?$filter=partition+eq+${encodeURIComponent(partition)}`);
      if (a.status !== 200) fail('routes', a);
      const items = (JSON.parse(a.body) as { items?: Array<{ name: string; network: string; blackhole?: boolean }> }).items ?? [];
      return items.flatMap((r) => (r.name.startsWith(NAME_PREFIX) && r.blackhole ? [blackholeOf(r.network)].filter((i) => i !== null) : []));
    },
    describe: async () => 'routes readable',
  };
}

interface FwRule {
  name: string;
  action?: string;
  status?: string;
  ipProtocol?: string;
  source?: Record<string, unknown>;
  destination?: { addressLists?: string[]; [k: string]: unknown };
}

function afmBackend(call: Call, fail: Fail, endpoint: string, partition: string, policy: string): Backend {
  const list = afmListName(policy);
  const listPath = `/${partition}/${list}`;
  const listUrl = `/mgmt/tm/security/firewall/address-list/~${partition}~${list}`;
  const policyPath = `/${partition}/${policy}`;
  const policyUrl = `/mgmt/tm/security/firewall/policy/~${partition}~${policy}`;
  const ruleUrl = `${policyUrl}/rules/${AFM_RULE}`;
  const wanted = { action: 'drop', status: 'enabled', ipProtocol: 'any', destination: { addressLists: [listPath] } };
  /** An address as BIG-IP holds it: a host bare, a network as CIDR. */
  const entry = (prefix: string) => {
    const p = parsePrefix(prefix);
    return p.ok && p.prefix.length === (p.prefix.family === 4 ? 32 : 128) ? prefix.split('/')[0]! : prefix;
  };
  const same = (a: string, b: string) => canonical(a) === canonical(b);

  /** The list's addresses, null when there is no list. */
  async function addresses(): Promise<string[] | null> {
    const a = await call('GET', listUrl);
    if (a.status === 404) return null;
    if (a.status !== 200) fail(`address list ${listPath}`, a);
    return ((JSON.parse(a.body) as { addresses?: Array<{ name: string }> }).addresses ?? []).map((x) => x.name);
  }
  const setAddresses = async (names: string[]) => {
    const a = await call('PATCH', listUrl, { addresses: names.map((name) => ({ name })) });
    if (a.status !== 200) fail(`refused the addresses of ${listPath}`, a);
  };
  /** Whether the drop rule is there and drops everything to the list, as Bulwark made it. */
  const inForce = (r: FwRule) =>
    r.action === 'drop' &&
    (r.status ?? 'enabled') === 'enabled' &&
    (r.ipProtocol ?? 'any') === 'any' &&
    JSON.stringify(r.destination?.addressLists ?? []) === JSON.stringify([listPath]) &&
    Object.keys(r.destination ?? {}).every((k) => k === 'addressLists' || k === 'addressListsReference') &&
    Object.keys(r.source ?? {}).every((k) => k === 'identity');
  async function rule(): Promise<FwRule | null> {
    const a = await call('GET', ruleUrl);
    if (a.status === 404) return null;
    if (a.status !== 200) fail(`rule ${AFM_RULE} of policy ${policyPath}`, a);
    return JSON.parse(a.body) as FwRule;
  }
  async function deleteRule() {
    const a = await call('DELETE', ruleUrl);
    if (a.status !== 200 && a.status !== 404) fail(`refused to delete the drop rule ${AFM_RULE} in ${policyPath}`, a);
  }
  async function ensurePolicy() {
    const a = await call('GET', policyUrl);
    if (a.status === 200) return;
    if (a.status !== 404) fail(`firewall policy ${policyPath}`, a);
    const made = await call('POST', '/mgmt/tm/security/firewall/policy', { name: policy, partition, description: 'made by Bulwark for its drop rule' });
    if (made.status !== 200 && made.status !== 409) fail(`refused to make the firewall policy ${policyPath}`, made);
  }
  async function ensureRule() {
    const r = await rule();
    if (r && inForce(r)) return;
    // Bulwark's own rule, altered by hand: made again as it was (the user's rules are never touched).
    if (r) await deleteRule();
    const a = await call('POST', `${policyUrl}/rules`, { name: AFM_RULE, ...wanted, placeBefore: 'first', description: `Bulwark: drops traffic to the targets in ${listPath}` });
    if (a.status !== 200 && a.status !== 409) fail(`refused the drop rule ${AFM_RULE} in ${policyPath}`, a);
  }

  return {
    announce: (prefix) =>
      oneAtATime(`${endpoint} ${listPath}`, async () => {
        const have = await addresses();
        if (have === null) {
          const a = await call('POST', '/mgmt/tm/security/firewall/address-list', {
            name: list,
            partition,
            description: 'targets of live Bulwark blackhole rules',
            addresses: [{ name: entry(prefix) }],
          });
          // 409: made meanwhile elsewhere: add to it.
          if (a.status === 409) await setAddresses([...((await addresses()) ?? []).filter((x) => !same(x, prefix)), entry(prefix)]);
          else if (a.status !== 200) fail(`refused the address list ${listPath}`, a);
        } else if (!have.some((x) => same(x, prefix))) await setAddresses([...have, entry(prefix)]);
        await ensurePolicy();
        await ensureRule();
      }),
    withdraw: (prefix) =>
      oneAtATime(`${endpoint} ${listPath}`, async () => {
        const have = await addresses();
        const rest = have?.filter((x) => !same(x, prefix));
        if (!have || !rest || rest.length === have.length) return; // not there: done
        if (rest.length > 0) return setAddresses(rest);
        // The last one: BIG-IP keeps no empty list, and a list in use cannot go: the rule first.
        await deleteRule();
        const l = await call('DELETE', listUrl);
        if (l.status !== 200 && l.status !== 404) fail(`refused to delete the address list ${listPath}`, l);
      }),
    async list() {
      const have = await addresses();
      if (!have?.length) return [];
      // Without the drop rule in force nothing is blocked: nothing is reported, so the
      // reconciler announces each live rule again, and that puts the rule back.
      const r = await rule();
      if (!r || !inForce(r)) return [];
      return have.map(blackholeOf).filter((i) => i !== null);
    },
    async describe() {
      const p = await call('GET', `${policyUrl}/rules`);
      let policyText: string;
      if (p.status === 200) {
        const names = ((JSON.parse(p.body) as { items?: FwRule[] }).items ?? []).map((r) => r.name);
        const at = names.indexOf(AFM_RULE);
        policyText = `AFM policy ${policyPath}: ${names.length} rule(s), Bulwark's drop rule ${at < 0 ? 'not there (made with the first target)' : at === 0 ? 'first' : `at position ${at + 1}`}`;
      } else if (p.status === 404 && !/not registered/i.test(messageOf(p))) {
        policyText = `AFM policy ${policyPath} does not exist: made with the first target; attach it to a context (global, route domain, virtual server) for it to drop anything`;
      } else fail(`firewall policy ${policyPath} (is AFM provisioned?)`, p);
      const have = await addresses();
      return `${policyText}; address list ${listPath} holds ${have?.length ?? 0} target(s)`;
    },
  };
}

export function createF5Adapter(settings: AdapterSettings): MitigationAdapter {
  const config = settings.config ?? {};
  const partition = typeof config.partition === 'string' ? config.partition : 'Common';
  const raw = applianceHttp('F5 BIG-IP', settings);
  let token: string | null = null;

  async function login(): Promise<string> {
    const answer = await raw('POST', '/mgmt/shared/authn/login', { ...loginOf('F5 BIG-IP', settings), loginProviderName: 'tmos' }, {});
    // A refused login is never retried: BIG-IP locks accounts after repeated failures.
    if (answer.status === 401 || answer.status === 403) throw new CredentialsRefused(`F5 BIG-IP refused the login: ${messageOf(answer)}`);
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

  const backend =
    config.mode === 'afm' && typeof config.policy === 'string' ? afmBackend(call, fail, settings.endpoint, partition, config.policy) : routeBackend(call, fail, partition);

  return {
    announce: (intent) => backend.announce(blackholeOnly(intent)),
    withdraw: (intent) => backend.withdraw(blackholeOnly(intent)),
    async test() {
      const t0 = performance.now();
      token = null; // the credentials themselves are what a test checks
      const a = await call('GET', '/mgmt/tm/sys/version');
      if (a.status !== 200) fail('version', a);
      const entries = (JSON.parse(a.body) as { entries?: Record<string, { nestedStats?: { entries?: Record<string, { description?: string }> } }> }).entries ?? {};
      const stats = Object.values(entries)[0]?.nestedStats?.entries ?? {};
      const what = await backend.describe();
      return {
        latencyMs: performance.now() - t0,
        detail: `BIG-IP ${stats.Product?.description ?? ''} ${stats.Version?.description ?? ''}: logged in, ${what}`.replace(/\s+/g, ' '),
      };
    },
    list: () => backend.list(),
    close: async () => {
      if (!token) return;
      // Tokens are a limited resource on a BIG-IP: give it back.
      await raw('DELETE', `/mgmt/shared/authz/tokens/${token}`, undefined, { 'x-f5-auth-token': token }).catch(() => undefined);
      token = null;
    },
  };
}
