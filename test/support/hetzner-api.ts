// A local stand-in for the part of Hetzner's Robot webservice the integration uses
// (https://robot.hetzner.com/doc/webservice/en.html#firewall): HTTP Basic auth, with the
// caller blocked after three failed logins (for `lockMs`; Robot: 10 minutes), GET /server,
// GET /firewall/{server} and POST /firewall/{server} (form-encoded, replacing the whole
// firewall) checked as Robot does: at most 10 input rules, actions accept/discard, IPv4
// prefixes, ports only for tcp and udp; a refusal is 400 INVALID_INPUT naming the fields.
// A change is asynchronous: the firewall reads `in process` for `applyAfterReads` reads,
// and another change meanwhile is refused with 409 FIREWALL_IN_PROCESS.
// (?) The body of the lockout answer is unconfirmed; Robot documents the lockout itself.
import { startStandIn, type ProviderStandIn, type StandInAnswer } from './provider-stand-in.js';
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';

export type RobotRule = Record<string, string | null>;
export interface RobotFirewall {
  status: 'active' | 'disabled';
  filter_ipv6: boolean;
  whitelist_hos: boolean;
  port: 'main' | 'kvm';
  input: RobotRule[];
  output: RobotRule[];
}

export interface HetznerApi extends ProviderStandIn {
  username: string;
  password: string;
  /** How long three failed logins block the caller (ms). */
  lockMs: number;
  /** Failed logins so far, and whether the caller is blocked now. */
  badLogins(): number;
  blocked(): boolean;
  /** Lifts a block and forgets failed logins. */
  unblock(): void;
  /** POSTs to the firewall, with their forms. */
  writes: Array<{ path: string; form: URLSearchParams }>;
  /** A server whose firewall holds these rules (the user's own); returns its number. */
  addServer(firewall?: Partial<RobotFirewall>): number;
  /** The firewall as shown now (a copy), without counting as a read. */
  firewall(server: number): RobotFirewall;
  /** Changes the firewall behind Bulwark's back (someone in Robot). */
  edit(server: number, change: (fw: RobotFirewall) => void): void;
}

export const MAX_INPUT_RULES = 10;
const FIELDS = ['ip_version', 'name', 'dst_ip', 'src_ip', 'dst_port', 'src_port', 'protocol', 'tcp_flags', 'action'] as const;
const rule = (r: Partial<RobotRule>): RobotRule => Object.fromEntries(FIELDS.map((f) => [f, r[f] ?? null]));

/** A firewall as a user might have set it up: SSH from the office, the web, a game port, ping; everything else discarded by Robot's default. */
export const USER_INPUT: RobotRule[] = [
  rule({ name: 'ssh office', ip_version: 'ipv4', src_ip: '198.51.100.0/24', dst_port: '22', protocol: 'tcp', action: 'accept' }),
  rule({ name: 'web', ip_version: 'ipv4', dst_port: '80-443', protocol: 'tcp', action: 'accept' }),
  rule({ name: 'game', ip_version: 'ipv4', dst_port: '27015-27030', protocol: 'udp', action: 'accept' }),
  rule({ name: 'ping', ip_version: 'ipv4', protocol: 'icmp', action: 'accept' }),
];
export const USER_OUTPUT: RobotRule[] = [rule({ name: 'allow all', ip_version: 'ipv4', action: 'accept' })];
/** What an integration discards by default: the game port's UDP, ping, and the web from a botnet's range. */
export const DISCARD = [{ protocol: 'udp', ports: '27015-27030' }, { protocol: 'icmp' }, { protocol: 'tcp', ports: '80', sources: ['198.18.0.0/15'] }];

const copy = <T>(v: T): T => structuredClone(v);
const robotError = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): StandInAnswer => ({ status, body: { error: { status, code, message, ...extra } } });

/** The rules of one side out of Robot's form fields (`rules[input][0][name]=…`), in index order. */
function formRules(form: URLSearchParams, side: 'input' | 'output'): Array<Record<string, string>> | string {
  const out: Array<Record<string, string>> = [];
  for (const [key, value] of form) {
    const m = /^rules\[(input|output)\]\[(\d+)\]\[([a-z_]+)\]$/.exec(key);
    if (!m) continue;
    if (m[1] !== side) continue;
    const i = Number(m[2]);
    if (!(FIELDS as readonly string[]).includes(m[3]!)) return key;
    (out[i] ??= {})[m[3]!] = value;
  }
  for (let i = 0; i < out.length; i++) if (!out[i]) return `rules[${side}][${i}]`;
  return out;
}

const PORT = /^([1-9]\d{0,4})(-([1-9]\d{0,4}))?$/;
/** The fields of a rule Robot would refuse. */
function invalidFields(r: Record<string, string>, at: string): string[] {
  const bad: string[] = [];
  if (!['accept', 'discard'].includes(r.action ?? '')) bad.push(`${at}[action]`);
  if (r.ip_version !== undefined && !['ipv4', 'ipv6'].includes(r.ip_version)) bad.push(`${at}[ip_version]`);
  for (const f of ['src_ip', 'dst_ip'] as const) {
    if (r[f] === undefined) continue;
    const p = parsePrefix(r[f]!);
    if (!p.ok || !r[f]!.includes('/') || r.ip_version !== 'ipv4' || p.prefix.family !== 4) bad.push(`${at}[${f}]`);
  }
  if (r.protocol !== undefined && !['tcp', 'udp', 'gre', 'icmp', 'ipip', 'ah', 'esp'].includes(r.protocol)) bad.push(`${at}[protocol]`);
  for (const f of ['src_port', 'dst_port'] as const) {
    if (r[f] === undefined) continue;
    const m = PORT.exec(r[f]!);
    if (!m || Number(m[1]) > 65535 || (m[3] !== undefined && (Number(m[3]) > 65535 || Number(m[3]) < Number(m[1]))) || !['tcp', 'udp'].includes(r.protocol ?? '')) bad.push(`${at}[${f}]`);
  }
  // (?) Robot's limit on rule names is unconfirmed: 64 characters here.
  if (r.name !== undefined && r.name.length > 64) bad.push(`${at}[name]`);
  return bad;
}

export async function startHetznerApi(): Promise<HetznerApi> {
  const username = '#ws+AbCdEfGh';
  const password = 'robot-webservice-secret';
  const servers = new Map<number, { shown: RobotFirewall; pending: { fw: RobotFirewall; reads: number } | null }>();
  const writes: HetznerApi['writes'] = [];
  let failed = 0;
  let blockedUntil = 0;
  let next = 321000 + Math.floor(Math.random() * 1000) * 10;

  const view = (n: number, fw: RobotFirewall, inProcess: boolean) => ({
    firewall: {
      server_ip: `203.0.113.${n % 200}`,
      server_ipv6_net: '2001:db8:1234::',
      server_number: n,
      status: inProcess ? 'in process' : fw.status,
      filter_ipv6: fw.filter_ipv6,
      whitelist_hos: fw.whitelist_hos,
      port: fw.port,
      rules: { input: copy(fw.input), output: copy(fw.output) },
    },
  });

  function post(n: number, form: URLSearchParams): StandInAnswer {
    const s = servers.get(n)!;
    if (s.pending) return robotError(409, 'FIREWALL_IN_PROCESS', 'The firewall cannot be updated because a previous update is still in process');
    const input = formRules(form, 'input');
    const output = formRules(form, 'output');
    if (typeof input === 'string' || typeof output === 'string') return robotError(400, 'INVALID_INPUT', 'invalid input', { invalid: [input, output].filter((x) => typeof x === 'string'), missing: null });
    const status = form.get('status');
    const invalid = [...(['active', 'disabled'].includes(status ?? '') ? [] : ['status']), ...input.flatMap((r, i) => invalidFields(r, `rules[input][${i}]`)), ...output.flatMap((r, i) => invalidFields(r, `rules[output][${i}]`))];
    if (input.length > MAX_INPUT_RULES) invalid.push('rules[input]');
    if (invalid.length > 0) return robotError(400, 'INVALID_INPUT', 'invalid input', { invalid, missing: null });
    const canon = (r: Record<string, string>) => rule({ ...r, ...(r.src_ip ? { src_ip: formatPrefix((parsePrefix(r.src_ip) as { ok: true; prefix: any }).prefix) } : {}) });
    const fw: RobotFirewall = {
      status: status as RobotFirewall['status'],
      filter_ipv6: (form.get('filter_ipv6') ?? String(s.shown.filter_ipv6)) === 'true',
      whitelist_hos: (form.get('whitelist_hos') ?? String(s.shown.whitelist_hos)) === 'true',
      port: (form.get('port') as RobotFirewall['port']) ?? s.shown.port,
      input: input.map(canon),
      output: output.map(canon),
    };
    s.pending = { fw, reads: api.applyAfterReads };
    if (api.applyAfterReads <= 0) {
      s.shown = fw;
      s.pending = null;
    }
    return { status: 200, body: view(n, s.pending ? s.shown : fw, s.pending !== null) };
  }

  const server = await startStandIn(
    '',
    (req) => {
      if (Date.now() < blockedUntil) return robotError(403, 'BLOCKED', 'Too many failed login attempts; your IP address is blocked for 10 minutes');
      const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        if (++failed >= 3) blockedUntil = Date.now() + api.lockMs;
        return robotError(401, 'UNAUTHORIZED', 'Unauthorized');
      }
      failed = 0;
      if (req.method === 'GET' && req.path === '/server') {
        return { status: 200, body: [...servers.keys()].map((n) => ({ server: { server_ip: `203.0.113.${n % 200}`, server_number: n, server_name: `srv-${n}`, product: 'AX41-NVMe', dc: 'FSN1-DC14', status: 'ready' } })) };
      }
      const m = /^\/firewall\/(\d+)$/.exec(req.path);
      const n = m ? Number(m[1]) : NaN;
      if (!servers.has(n)) return robotError(404, 'SERVER_NOT_FOUND', 'Server not found');
      if (req.method === 'GET') {
        const s = servers.get(n)!;
        if (s.pending && --s.pending.reads <= 0) {
          s.shown = s.pending.fw;
          s.pending = null;
        }
        return { status: 200, body: view(n, s.shown, s.pending !== null) };
      }
      if (req.method === 'POST') {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return robotError(400, 'INVALID_INPUT', 'invalid input');
        writes.push({ path: req.path, form: req.form });
        return post(n, req.form);
      }
      return robotError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed');
    },
    (status) => ({ error: { status, code: status >= 500 ? 'INTERNAL_ERROR' : 'ERROR', message: 'simulated failure' } }),
  );

  const stored = (n: number) => {
    const s = servers.get(n);
    if (!s) throw new Error(`no server ${n}`);
    return s;
  };
  const ours = (r: RobotRule) => String(r.name ?? '').startsWith('bulwark-');
  const api: HetznerApi = {
    ...server,
    type: 'hetzner_mitigation',
    username,
    password,
    lockMs: 600_000,
    writes,
    applyAfterReads: 0,
    badLogins: () => failed,
    blocked: () => Date.now() < blockedUntil,
    unblock() {
      failed = 0;
      blockedUntil = 0;
    },
    addServer(fw = {}) {
      const n = (next += 10);
      servers.set(n, { shown: { status: 'active', filter_ipv6: false, whitelist_hos: true, port: 'main', input: copy(USER_INPUT), output: copy(USER_OUTPUT), ...copy(fw) }, pending: null });
      return n;
    },
    firewall: (n) => copy(stored(n).shown),
    edit(n, change) {
      const s = stored(n);
      const fw = copy(s.shown);
      change(fw);
      s.shown = fw;
      s.pending = null;
    },
    integration() {
      const server_number = api.addServer();
      return { config: { prefixes: [`203.0.113.${server_number % 200}/32`], server_number, rules: copy(DISCARD) }, credentials: { username, password } };
    },
    badCredentials: () => ({ username, password: 'wrong-password' }),
    diverting(config) {
      // In force: the firewall active, each configured discard ahead of the user's own rules.
      const fw = stored(config.server_number as number).shown;
      if (fw.status !== 'active') return 'off';
      const first = fw.input.findIndex((r) => !ours(r));
      const ahead = first < 0 ? fw.input : fw.input.slice(0, first);
      const wanted = (config.rules as Array<{ protocol: string; ports?: string; sources?: string[] }>).flatMap((r) => (r.sources ?? ['0.0.0.0/0']).map((src) => ({ ...r, src })));
      const found = wanted.filter((w) => ahead.some((r) => r.action === 'discard' && (r.protocol ?? 'any') === w.protocol && (r.dst_port ?? undefined) === w.ports && r.src_ip === w.src)).length;
      return found === 0 ? 'off' : found === wanted.length ? 'on' : 'partial';
    },
    turnOff(config) {
      api.edit(config.server_number as number, (fw) => {
        fw.input = fw.input.filter((r) => !ours(r));
      });
    },
  };
  return api;
}
