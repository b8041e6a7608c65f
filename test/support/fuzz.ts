// A seeded fuzzer for the REST API: valid requests to every endpoint, mutated the way
// hostile or broken clients mutate them (wrong types, out-of-range and huge numbers,
// unicode, NUL, deep nesting, duplicate keys, unknown or missing fields, broken JSON,
// odd ids and query strings). test/fuzz.test.ts runs a few hundred; bench/fuzz.ts many more.
import { ERROR_STATUS } from '../../api/errors.js';
import { request, type Stack } from './stack.js';
import { mulberry32 } from './seeded.js';

/** Seeded draws (test/support/seeded.ts). */
export function rng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
export type Rng = ReturnType<typeof rng>;

export interface Endpoint {
  method: string;
  /** With `{id}` / `{uuid}` / `{ref}` where the real path takes one. */
  path: string;
  /** A valid body (the fuzzer mutates it); none for endpoints without one. */
  body?: () => Record<string, unknown>;
  /** A valid query string. */
  query?: Record<string, string>;
  /** The node key instead of the deploy token. */
  agent?: boolean;
}

const NASTY_STRINGS = [
  '',
  ' ',
  'a'.repeat(10_000),
  '\u0000',
  'x\u0000y',
  '\ud800',
  '\udfff\ud800',
  '😀🔥',
  '\u202e\u0301e\u0301',
  '../../etc/passwd',
  "'; drop table nodes; --",
  '%00',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '203.0.113.5\n',
  '::',
  '0.0.0.0/0',
  '1e3',
  '0x10',
  '-1',
  'NaN',
  'null',
  'true',
];
const NASTY_NUMBERS = [0, -1, -0.5, 0.5, 1.5, 2 ** 31, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 1e308, -1e308, Number.MIN_VALUE];

function nastyValue(r: Rng, depth = 0): unknown {
  switch (r.int(depth > 2 ? 4 : 7)) {
    case 0:
      return r.pick(NASTY_STRINGS);
    case 1:
      return r.pick(NASTY_NUMBERS);
    case 2:
      return r.pick([true, false, null]);
    case 3:
      return r.pick(NASTY_STRINGS) + String.fromCharCode(r.int(0x10000));
    case 4:
      return Array.from({ length: r.int(4) }, () => nastyValue(r, depth + 1));
    case 5:
      return Object.fromEntries(Array.from({ length: r.int(3) }, (_, i) => [`k${i}`, nastyValue(r, depth + 1)]));
    default:
      return deep(r.int(2) ? 200 : 5);
  }
}

function deep(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
}

/** A path inside a JSON value: object keys and array indexes. */
function leaves(v: unknown, at: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return [at, ...v.flatMap((x, i) => leaves(x, [...at, i]))];
  if (v && typeof v === 'object') return [at, ...Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, k]))];
  return [at];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const valueAt = (root: unknown, path: Array<string | number>) => path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root);

function setAt(root: unknown, path: Array<string | number>, value: unknown, remove = false): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
  return copy;
}

/** The body as text: usually a mutated valid body, sometimes broken JSON or a duplicate key. */
export function mutateBody(r: Rng, valid: Record<string, unknown> | undefined): { text: string | undefined; contentType?: string } {
  const base = valid ?? {};
  const choice = r.int(12);
  if (choice === 0) return { text: r.pick(['{', '{"a":', '[1,2', 'nul', '"just a string"', '42', '[]', 'null', '{"a":1}}', '\u0000']) };
  if (choice === 1 && valid) {
    // Duplicate keys: JSON.parse keeps the last one.
    const [k] = Object.keys(base);
    if (k) return { text: JSON.stringify(base).replace(/^\{/, `{${JSON.stringify(k)}:${JSON.stringify(nastyValue(r))},`) };
  }
  if (choice === 2) return { text: JSON.stringify(base), contentType: r.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', '']) };
  if (choice === 3) return { text: undefined };
  let body: unknown = base;
  for (let n = 1 + r.int(3); n > 0; n--) {
    const paths = leaves(body);
    const path = r.pick(paths);
    const what = r.int(4);
    if (what === 0 && path.length > 0) body = setAt(body, path, undefined, true);
    else if (what === 1) {
      // An unknown (or odd) key in one of the objects.
      const objects = paths.filter((p) => isObject(valueAt(body, p)));
      if (objects.length > 0) body = setAt(body, [...r.pick(objects), r.pick(['extra', 'id', '__proto__', 'constructor', 'x\u0000'])], nastyValue(r));
    }
    else body = setAt(body, path, nastyValue(r));
  }
  return { text: JSON.stringify(body) };
}

const ODD_IDS = ['0', '-1', '1.5', '1e3', '0x10', 'abc', '%00', '%20', '9'.repeat(40), '2147483648', '9223372036854775808', '00000000-0000-4000-8000-000000000000', 'not-a-uuid', '..', '%2e%2e', '😀'];

export function mutatePath(r: Rng, path: string, real: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => (r.int(3) === 0 ? real[name]! : encodeURIComponent(r.pick(ODD_IDS))).replace(/%25/g, '%'));
}

export function mutateQuery(r: Rng, valid: Record<string, string> = {}): string {
  const q = new URLSearchParams(valid);
  const keys = [...Object.keys(valid), 'limit', 'offset', 'foo', 'node', 'since', 'status'];
  for (let n = r.int(3); n > 0; n--) q.set(r.pick(keys), String(r.pick([...NASTY_STRINGS.slice(0, 12), ...NASTY_NUMBERS.map(String)])));
  const text = q.toString();
  return text ? `?${text}` : '';
}

export const DOCUMENTED_CODES = new Set(Object.keys(ERROR_STATUS));

/** Every endpoint, with a valid request to start from. `real` names existing ids. */
export function endpoints(real: Record<string, string>): Endpoint[] {
  const rule = () => ({ target_ip: '203.0.113.200', intent_type: 'flowspec', adapter_id: Number(real.adapter), ttl: 60, match: { protocol: 'udp', source_port: 53 }, action: { type: 'discard' } });
  return [
    { method: 'GET', path: '/mitigation/rules' },
    { method: 'GET', path: '/mitigation/rules/history', query: { limit: '10' } },
    { method: 'GET', path: '/mitigation/rules/{id}' },
    { method: 'POST', path: '/mitigation/rules', body: rule },
    { method: 'POST', path: '/mitigation/rules/{id}/withdraw', body: () => ({ reason: 'fuzz' }) },
    { method: 'GET', path: '/mitigation/adapters' },
    { method: 'POST', path: '/mitigation/adapters', body: () => ({ adapter_type: 'webhook', name: 'fuzz', endpoint: real.hook!, auth_token: 's', config: { communities: ['65001:666'], timeout_ms: 1000 } }) },
    { method: 'POST', path: '/mitigation/adapters/{id}/test' },
    { method: 'DELETE', path: '/mitigation/adapters/{id}' },
    { method: 'GET', path: '/allowlist', query: { node: real.uuid! } },
    { method: 'POST', path: '/allowlist', body: () => ({ ip_address: '198.51.100.77', label: 'fuzz', scope: 'node', node: real.uuid }) },
    { method: 'DELETE', path: '/allowlist/{id}' },
    { method: 'GET', path: '/mitigation/escalation' },
    {
      method: 'POST',
      path: '/mitigation/escalation',
      body: () => ({ thresholds: { tier1_pps: 100000, tier2_pps: 200000 }, ttl: { tier1: 600 }, actions: { tier1: 'flowspec' }, adapter_id: Number(real.adapter), dry_run: true, geo_lockdown: { enabled: false, countries: ['KP'] } }),
    },
    { method: 'GET', path: '/mitigation/thresholds' },
    { method: 'POST', path: '/mitigation/thresholds', body: () => ({ target_ip: '203.0.113.201', label: 'fuzz', thresholds: { tier1_pps: 1000 } }) },
    { method: 'DELETE', path: '/mitigation/thresholds/{id}' },
    { method: 'GET', path: '/nodes', query: { limit: '10', status: 'online' } },
    { method: 'POST', path: '/nodes', body: () => ({ name: 'fuzz-node', ip: '203.0.113.202', location: 'x', os: 'y', interface: 'eth0' }) },
    { method: 'GET', path: '/nodes/{uuid}' },
    { method: 'PATCH', path: '/nodes/{uuid}', body: () => ({ location: 'Frankfurt' }) },
    { method: 'POST', path: '/nodes/{uuid}/commands', body: () => ({ type: 'block_source', suite: 'nftables', source: '198.51.100.9' }) },
    { method: 'GET', path: '/incidents', query: { status: 'open', limit: '5' } },
    { method: 'GET', path: '/incidents/{id}' },
    { method: 'GET', path: '/pcaps', query: { limit: '5' } },
    { method: 'GET', path: '/pcaps/{id}/packets', query: { limit: '5' } },
    { method: 'GET', path: '/pcaps/{id}/analysis' },
    { method: 'GET', path: '/pcaps/{id}/download' },
    { method: 'GET', path: '/scrubbing' },
    { method: 'POST', path: '/scrubbing', body: () => ({ type: 'vultr', name: 'fuzz', config: { prefixes: ['203.0.113.212/32'], instance_id: 'cb676a46-66fd-4dfb-b839-443f2e6c0b60' }, credentials: { api_key: 'FUZZKEY0000' }, base_url: 'http://127.0.0.1:9/v2' }) },
    { method: 'GET', path: '/scrubbing/{scrubbing}/status' },
    { method: 'POST', path: '/scrubbing/{scrubbing}/test' },
    // (announce is left out: a valid one waits on the unreachable provider's retries.)
    { method: 'POST', path: '/scrubbing/{scrubbing}/withdraw', body: () => ({ reason: 'fuzz' }) },
    { method: 'DELETE', path: '/scrubbing/{scrubbing}' },
    { method: 'POST', path: '/agent/heartbeat', agent: true, body: () => ({ agent_version: '1', traffic_state: 'normal', pps: 10, bps: 1000, protocol_mix: { udp: 0.5 } }) },
    { method: 'GET', path: '/agent/config', agent: true },
    { method: 'POST', path: '/agent/metrics', agent: true, body: () => ({ samples: [{ at: new Date().toISOString(), pps: 1, bps: 2, protocol_mix: { tcp: 1 } }] }) },
    { method: 'POST', path: '/agent/incidents', agent: true, body: () => ({ ref: 'fuzz-1', started_at: new Date().toISOString(), pps: 10, bps: 10, classification: { family: 'udp_flood', confidence: 0.5, top_sources: [{ value: '198.51.100.1', packets: 3 }] } }) },
    { method: 'POST', path: '/agent/incidents/{ref}/update', agent: true, body: () => ({ pps: 20, bps: 20 }) },
    { method: 'POST', path: '/agent/incidents/{ref}/resolve', agent: true, body: () => ({ ended_at: new Date().toISOString() }) },
    { method: 'POST', path: '/agent/incidents/{ref}/pcaps', agent: true, body: () => ({ size_bytes: 100, sha256: 'a'.repeat(64), captured_at: new Date().toISOString() }) },
    { method: 'GET', path: '/agent/commands', agent: true, query: { wait: '0', running: '1,2' } },
    { method: 'POST', path: '/agent/commands/{id}/result', agent: true, body: () => ({ ok: false, error: 'fuzz' }) },
  ];
}

export interface FuzzFailure {
  request: string;
  status: number;
  body: string;
}

/**
 * Sends `requests` mutated requests (seeded) and answers every one that broke the contract:
 * a 5xx, an answer that is not the envelope, a code outside the documented list, or a
 * status that is not its code's.
 */
export async function fuzzApi(o: FuzzTarget & { seed: number; requests: number }): Promise<FuzzFailure[]> {
  const r = rng(o.seed);
  const list = endpoints(o.real);
  const failures: FuzzFailure[] = [];
  for (let i = 0; i < o.requests; i++) {
    const ep = r.pick(list);
    const path = `/api/v1${mutatePath(r, ep.path, o.real)}${r.int(3) === 0 ? mutateQuery(r, ep.query) : ep.query ? `?${new URLSearchParams(ep.query)}` : ''}`;
    // fetch sends no body with a GET; other endpoints without one get one now and then.
    const { text, contentType } = ep.method !== 'GET' && (ep.body || r.int(4) === 0) ? mutateBody(r, ep.body?.()) : { text: undefined };
    const headers: Record<string, string> = { authorization: `Bearer ${ep.agent ? o.nodeKey : o.token}` };
    if (text !== undefined) headers['content-type'] = contentType ?? 'application/json';
    const what = `${ep.method} ${path} ${text?.slice(0, 300) ?? ''}`;
    let res: Response;
    try {
      res = await fetch(o.baseUrl + path, { method: ep.method, headers, body: text });
    } catch (err) {
      failures.push({ request: what, status: 0, body: String(err) });
      continue;
    }
    const raw = await res.text();
    const type = res.headers.get('content-type') ?? '';
    if (res.status === 200 && type.startsWith('application/vnd.tcpdump.pcap')) continue;
    let parsed: { ok?: unknown; error?: { code?: string; message?: unknown } } | null = null;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // Not JSON: a failure below.
    }
    const code = parsed?.error?.code;
    const envelope =
      parsed !== null &&
      (parsed.ok === true
        ? res.status < 300
        : parsed.ok === false && typeof code === 'string' && DOCUMENTED_CODES.has(code) && ERROR_STATUS[code as keyof typeof ERROR_STATUS] === res.status && typeof parsed.error?.message === 'string');
    // 431: the HTTP server's own limit on a request's head (16 KiB), before any route runs.
    if (res.status === 431 && path.length > 8192) continue;
    if (res.status >= 500 || !envelope) failures.push({ request: what, status: res.status, body: raw.slice(0, 500) });
  }
  return failures;
}

export type FuzzTarget = { baseUrl: string; token: string; nodeKey: string; real: Record<string, string> };

/** A workspace with one of each thing the endpoints name (adapter on `hookUrl`, rule, node, incident, entry). */
export async function prepareFuzz(stack: Stack, hookUrl: string): Promise<FuzzTarget> {
  const { token, call } = await stack.tenant();
  const adapter = (await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'fuzz', endpoint: hookUrl })).body.adapter.id;
  const rule = (await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.210', intent_type: 'blackhole', adapter_id: adapter })).body.rule.id;
  const node = (await call('POST', '/api/v1/nodes', { name: 'fuzz-host', ip: '203.0.113.211' })).body;
  const agent = (path: string, body: unknown) => request(stack.baseUrl, 'POST', `/api/v1/agent${path}`, body, { authorization: `Bearer ${node.api_key}` });
  const incident = (await agent('/incidents', { ref: 'fuzz-ref', started_at: new Date().toISOString(), pps: 1, bps: 1 })).body.incident.id;
  const entry = (await call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.99' })).body.entry.id;
  // A provider nobody answers for: checks fail fast, nothing is diverted.
  const scrubbing = (
    await call('POST', '/api/v1/scrubbing', { type: 'vultr', name: 'fuzz', config: { prefixes: ['203.0.113.213/32'], instance_id: 'cb676a46-66fd-4dfb-b839-443f2e6c0b61' }, credentials: { api_key: 'FUZZKEY0000' }, base_url: 'http://127.0.0.1:9/v2' })
  ).body.integration.id;
  return {
    baseUrl: stack.baseUrl,
    token,
    nodeKey: node.api_key,
    real: { id: String(rule), adapter: String(adapter), hook: hookUrl, uuid: node.node.uuid, ref: 'fuzz-ref', incident: String(incident), entry: String(entry), scrubbing: String(scrubbing) },
  };
}
