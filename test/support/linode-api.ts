// A local stand-in for the part of Linode's API v4 the integration uses
// (https://techdocs.akamai.com/linode-api/reference/): Bearer auth refused with Linode's
// error body ({"errors": [{"reason": "Invalid Token"}]}), GET /profile, GET
// /networking/firewalls/{id}, and GET and PUT /networking/firewalls/{id}/rules, the PUT
// replacing every rule (a missing list becomes empty) after checking it as Linode does:
// actions, protocols, ports only for TCP and UDP (at most 15 pieces, a range counting two),
// addresses as IP/mask (at most 255 per rule), labels of 3-32 characters, at most 25 rules
// per firewall inbound and outbound together; a refusal is a 400 naming the field. Rules are
// kept as sent, unknown fields included, with a `version` counted up on each change and a
// `fingerprint` of them. A change shows (and is in force) only after `applyAfterReads` later
// reads of the firewall or its rules.
import { createHash } from 'node:crypto';
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';
import { startStandIn, type ProviderStandIn, type StandInAnswer } from './provider-stand-in.js';

export interface LinodeRule {
  action: string;
  protocol: string;
  ports?: string;
  addresses?: { ipv4?: string[]; ipv6?: string[] };
  label?: string;
  description?: string;
  [field: string]: unknown;
}
export interface LinodeRules {
  inbound: LinodeRule[];
  inbound_policy: string;
  outbound: LinodeRule[];
  outbound_policy: string;
}
interface StoredFirewall {
  id: number;
  label: string;
  status: 'enabled' | 'disabled';
  created: string;
  updated: string;
  /** The rules shown and in force. */
  rules: LinodeRules;
  version: number;
  /** A change not shown yet, and the reads left before it is. */
  pending: { rules: LinodeRules; reads: number } | null;
}

export interface LinodeApi extends ProviderStandIn {
  apiToken: string;
  /** Write requests with their JSON bodies, in order. */
  writes: Array<{ method: string; path: string; json: any }>;
  /** A firewall holding these rules (the user's own); returns its id. */
  addFirewall(rules?: Partial<LinodeRules>, status?: 'enabled' | 'disabled'): number;
  /** The rules as GET shows them now (a copy), without counting as a read. */
  rules(id: number): LinodeRules & { version: number };
  /** Enables or disables the firewall (someone in the console). */
  setStatus(id: number, status: 'enabled' | 'disabled'): void;
  /** Changes the rules behind Bulwark's back (someone in the console). */
  edit(id: number, change: (rules: LinodeRules) => void): void;
}

export const MAX_RULES = 25;
const MAX_ADDRESSES = 255;
const MAX_PORT_PIECES = 15;
const ANYWHERE = { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] };

/** A firewall as a user might have set it up: SSH from the office, the web and a game server open, an old scanner dropped (a field Bulwark does not know), ping; outbound, no SMTP. */
export const USER_RULES: LinodeRules = {
  inbound: [
    { label: 'ssh-office', action: 'ACCEPT', protocol: 'TCP', ports: '22', addresses: { ipv4: ['198.51.100.0/24'], ipv6: ['2001:DB8:100::/48'] }, description: 'SSH from the office' },
    { label: 'web', action: 'ACCEPT', protocol: 'TCP', ports: '80, 443', addresses: ANYWHERE },
    { label: 'game-servers', action: 'ACCEPT', protocol: 'UDP', ports: '27015-27030', addresses: ANYWHERE },
    { label: 'old-scanner', action: 'DROP', protocol: 'TCP', addresses: { ipv4: ['192.0.2.128/25'] }, description: 'seen in March', x_note: { kept: ['verbatim'] } },
    { label: 'ping', action: 'ACCEPT', protocol: 'ICMP', addresses: ANYWHERE },
  ],
  inbound_policy: 'DROP',
  outbound: [{ label: 'no-smtp', action: 'DROP', protocol: 'TCP', ports: '25', addresses: ANYWHERE }],
  outbound_policy: 'ACCEPT',
};
/** What an integration drops by default: the game server's UDP, ping, and the web from a botnet's range. */
export const DROP = [{ protocol: 'udp', ports: '27015-27030' }, { protocol: 'icmp' }, { protocol: 'tcp', ports: '80', sources: ['198.18.0.0/15'] }];

const copy = <T>(v: T): T => structuredClone(v);
const canonical = (a: string) => {
  const p = parsePrefix(a);
  return p.ok ? formatPrefix(p.prefix) : a;
};
const addressKey = (r: LinodeRule) => [...(r.addresses?.ipv4 ?? []), ...(r.addresses?.ipv6 ?? [])].map(canonical).sort().join(',');
const PROTOCOLS: Record<string, string[]> = { tcp: ['TCP'], udp: ['UDP'], icmp: ['ICMP'], any: ['TCP', 'UDP', 'ICMP'] };

type Problem = { reason: string; field?: string };

/** Linode's checks of a ports string: "22", "80, 443", "1000-2000"; no leading zeros; at most 15 pieces. */
function portsProblem(ports: unknown): string | null {
  if (typeof ports !== 'string') return 'Must be a string';
  let count = 0;
  for (const piece of ports.split(/, ?/)) {
    const m = /^([1-9]\d{0,4})(?:-([1-9]\d{0,4}))?$/.exec(piece);
    if (!m) return `Invalid port or port range: "${piece}"`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 65535 || hi > 65535) return 'Ports must be within 1 and 65535';
    if (m[2] !== undefined && hi <= lo) return 'The end of a port range must be greater than its start';
    count += m[2] === undefined ? 1 : 2;
  }
  return count > MAX_PORT_PIECES ? `At most ${MAX_PORT_PIECES} ports and port ranges (a range counts two)` : null;
}

function ruleProblems(r: any, field: string): Problem[] {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return [{ field, reason: 'Must be an object' }];
  const out: Problem[] = [];
  if (!['ACCEPT', 'DROP'].includes(r.action)) out.push({ field: `${field}.action`, reason: 'Must be one of ACCEPT, DROP' });
  if (!['TCP', 'UDP', 'ICMP', 'IPENCAP'].includes(r.protocol)) out.push({ field: `${field}.protocol`, reason: 'Must be one of TCP, UDP, ICMP, IPENCAP' });
  if (r.ports !== undefined && r.ports !== null && r.ports !== '') {
    if (r.protocol === 'ICMP' || r.protocol === 'IPENCAP') out.push({ field: `${field}.ports`, reason: 'Ports are not allowed for ICMP and IPENCAP protocols' });
    else {
      const p = portsProblem(r.ports);
      if (p) out.push({ field: `${field}.ports`, reason: p });
    }
  }
  // (?) Linode's rule label rules are unconfirmed beyond 3-32 characters; its firewall labels allow letters, digits, "-", "_" and ".".
  if (r.label !== undefined && (typeof r.label !== 'string' || !/^[A-Za-z0-9._-]{3,32}$/.test(r.label))) out.push({ field: `${field}.label`, reason: 'Must be 3-32 characters: letters, numbers, "-", "_" or "."' });
  const a = r.addresses;
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return [...out, { field: `${field}.addresses`, reason: 'Must be an object with ipv4 and/or ipv6 lists' }];
  let count = 0;
  for (const family of ['ipv4', 'ipv6'] as const) {
    const list = a[family];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      out.push({ field: `${field}.addresses.${family}`, reason: 'Must be a list' });
      continue;
    }
    for (const text of list) {
      const p = typeof text === 'string' && text.includes('/') ? parsePrefix(text) : null;
      if (!p?.ok || p.prefix.family !== (family === 'ipv4' ? 4 : 6)) out.push({ field: `${field}.addresses.${family}`, reason: `Invalid ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address or network (IP/mask): ${JSON.stringify(text)}` });
    }
    count += list.length;
  }
  // (?) Whether Linode takes a rule with no address is unconfirmed: refused here.
  if (count === 0) out.push({ field: `${field}.addresses`, reason: 'At least one address is required' });
  if (count > MAX_ADDRESSES) out.push({ field: `${field}.addresses`, reason: `At most ${MAX_ADDRESSES} addresses per rule` });
  return out;
}

export async function startLinodeApi(): Promise<LinodeApi> {
  const apiToken = `${'5e'.repeat(32)}`;
  const firewalls = new Map<number, StoredFirewall>();
  const writes: LinodeApi['writes'] = [];
  let nextId = 71000 + Math.floor(Math.random() * 1000) * 10;
  const errors = (status: number, ...problems: Problem[]): StandInAnswer => ({ status, body: { errors: problems } });
  const notFound = () => errors(404, { reason: 'Not found' });

  const fingerprint = (rules: LinodeRules) => createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 8);
  const rulesView = (fw: StoredFirewall) => ({
    ...copy(fw.rules),
    fingerprint: fingerprint(fw.rules),
    version: fw.version,
    effective_rule_count: fw.rules.inbound.length + fw.rules.outbound.length,
  });
  const view = (fw: StoredFirewall) => ({
    id: fw.id,
    label: fw.label,
    status: fw.status,
    created: fw.created,
    updated: fw.updated,
    tags: [],
    rules: rulesView(fw),
    entities: [{ id: fw.id + 1, label: `linode${fw.id + 1}`, type: 'linode', url: `/v4/linode/instances/${fw.id + 1}`, parent_entity: null }],
  });
  const apply = (fw: StoredFirewall, rules: LinodeRules) => {
    fw.rules = rules;
    fw.version++;
    fw.updated = new Date().toISOString().slice(0, 19);
  };
  /** A read of the firewall or its rules: brings a pending change closer. */
  const read = (fw: StoredFirewall) => {
    if (fw.pending && --fw.pending.reads <= 0) {
      apply(fw, fw.pending.rules);
      fw.pending = null;
    }
  };

  function putRules(fw: StoredFirewall, json: any): StandInAnswer {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return errors(400, { reason: 'Request body must be a JSON object' });
    const problems: Problem[] = [];
    for (const side of ['inbound', 'outbound'] as const) {
      const list = json[side] ?? [];
      if (!Array.isArray(list)) problems.push({ field: side, reason: 'Must be a list' });
      else list.forEach((r: unknown, i: number) => problems.push(...ruleProblems(r, `${side}[${i}]`)));
    }
    for (const policy of ['inbound_policy', 'outbound_policy'] as const) {
      if (json[policy] !== undefined && !['ACCEPT', 'DROP'].includes(json[policy])) problems.push({ field: policy, reason: 'Must be one of ACCEPT, DROP' });
    }
    const total = (Array.isArray(json.inbound) ? json.inbound.length : 0) + (Array.isArray(json.outbound) ? json.outbound.length : 0);
    // (?) Linode's wording and field for the limit are unconfirmed.
    if (total > MAX_RULES) problems.push({ field: 'inbound', reason: `A firewall may have at most ${MAX_RULES} rules, inbound and outbound combined (got ${total})` });
    if (problems.length > 0) return errors(400, ...problems);
    // The PUT replaces every rule: a list left out becomes empty; (?) a policy left out is kept.
    const rules: LinodeRules = {
      inbound: copy(json.inbound ?? []),
      inbound_policy: json.inbound_policy ?? fw.rules.inbound_policy,
      outbound: copy(json.outbound ?? []),
      outbound_policy: json.outbound_policy ?? fw.rules.outbound_policy,
    };
    if (api.applyAfterReads > 0) fw.pending = { rules, reads: api.applyAfterReads };
    else {
      fw.pending = null;
      apply(fw, rules);
    }
    return { status: 200, body: { ...copy(rules), fingerprint: fingerprint(rules), version: fw.version + (fw.pending ? 1 : 0), effective_rule_count: rules.inbound.length + rules.outbound.length } };
  }

  const server = await startStandIn(
    '/v4',
    (req) => {
      if (req.headers.authorization !== `Bearer ${apiToken}`) return errors(401, { reason: 'Invalid Token' });
      if (req.method !== 'GET') writes.push({ method: req.method, path: req.path, json: req.json });
      if (req.path === '/profile' && req.method === 'GET') return { status: 200, body: { username: 'ops-team', email: 'ops@example.com', uid: 1234, restricted: false, two_factor_auth: true } };
      const m = /^\/networking\/firewalls\/(\d+)(\/rules)?$/.exec(req.path);
      const fw = m ? firewalls.get(Number(m[1])) : undefined;
      if (!fw) return notFound();
      if (req.method === 'GET') {
        read(fw);
        return { status: 200, body: m![2] ? rulesView(fw) : view(fw) };
      }
      if (req.method === 'PUT' && m![2]) return putRules(fw, req.json);
      return errors(405, { reason: 'Method Not Allowed' });
    },
    (status) => ({ errors: [{ reason: status === 429 ? 'Too Many Requests' : status >= 500 ? 'Please try again later' : 'simulated failure' }] }),
  );

  const stored = (id: number) => {
    const fw = firewalls.get(id);
    if (!fw) throw new Error(`no firewall ${id}`);
    return fw;
  };
  const api: LinodeApi = {
    ...server,
    type: 'linode',
    apiToken,
    writes,
    applyAfterReads: 0,
    addFirewall(rules = {}, status = 'enabled') {
      const id = (nextId += 10);
      const now = new Date().toISOString().slice(0, 19);
      firewalls.set(id, { id, label: `web-fw-${id}`, status, created: now, updated: now, rules: { ...copy(USER_RULES), ...copy(rules) }, version: 1, pending: null });
      return id;
    },
    rules: (id) => ({ ...copy(stored(id).rules), version: stored(id).version }),
    setStatus: (id, status) => void (stored(id).status = status),
    edit(id, change) {
      const fw = stored(id);
      const rules = copy(fw.rules);
      change(rules);
      fw.pending = null;
      apply(fw, rules);
    },
    integration() {
      const firewall_id = api.addFirewall();
      return { config: { prefixes: ['203.0.113.10/32'], firewall_id, rules: copy(DROP) }, credentials: { api_token: apiToken } };
    },
    badCredentials: () => ({ api_token: `${'0b'.repeat(32)}` }),
    diverting(config) {
      // In force: each configured drop is a DROP rule ahead of all of the user's own (not labelled bulwark-…), on an enabled firewall.
      const fw = stored(config.firewall_id as number);
      if (fw.status !== 'enabled') return 'off';
      const inbound = fw.rules.inbound;
      const firstUser = inbound.findIndex((r) => !String(r.label ?? '').startsWith('bulwark-'));
      const ahead = firstUser < 0 ? inbound : inbound.slice(0, firstUser);
      const wanted = (config.rules as Array<{ protocol: string; ports?: string; sources?: string[] }>).flatMap((r) =>
        PROTOCOLS[r.protocol]!.map((protocol) => ({ protocol, ports: r.ports ?? '', addresses: (r.sources ?? ['0.0.0.0/0', '::/0']).map(canonical).sort().join(',') })),
      );
      const found = wanted.filter((w) => ahead.some((r) => r.action === 'DROP' && r.protocol === w.protocol && String(r.ports ?? '').replace(/\s/g, '') === w.ports && addressKey(r) === w.addresses)).length;
      return found === 0 ? 'off' : found === wanted.length ? 'on' : 'partial';
    },
    turnOff(config) {
      // Someone deletes Bulwark's rules in the console (and leaves the rest as it is).
      api.edit(config.firewall_id as number, (rules) => {
        rules.inbound = rules.inbound.filter((r) => !String(r.label ?? '').startsWith('bulwark-'));
      });
    },
  };
  return api;
}
