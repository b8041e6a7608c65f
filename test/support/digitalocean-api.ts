// A local stand-in for the part of DigitalOcean's API v2 the integration uses
// (https://docs.digitalocean.com/reference/api/): Bearer auth answered with DigitalOcean's
// error body ({"id", "message", "request_id"}), GET /account, GET /firewalls/{id}, POST and
// DELETE /firewalls/{id}/rules, GET, POST /tags and DELETE /tags/{name}. Each firewall holds
// the user's own rules besides those an integration closes. A change shows at once but the
// firewall reports "waiting", with pending_changes, until `applyAfterReads` later reads of it;
// only then is it in force (what `diverting` judges). Rules are stored as DigitalOcean reads
// them back: all ports and ICMP as ports "0", only the source kinds given.
import { randomUUID } from 'node:crypto';
import { parsePrefix } from '../../domain/prefix.js';
import { startStandIn, type ProviderStandIn, type StandInAnswer, type StandInRequest } from './provider-stand-in.js';

export interface DoSources {
  addresses?: string[];
  droplet_ids?: number[];
  load_balancer_uids?: string[];
  kubernetes_ids?: string[];
  tags?: string[];
}
export interface DoInboundRule {
  protocol: string;
  ports: string;
  sources: DoSources;
}
export interface DoOutboundRule {
  protocol: string;
  ports: string;
  destinations: DoSources;
}
interface StoredFirewall {
  id: string;
  name: string;
  created_at: string;
  droplet_ids: number[];
  inbound_rules: DoInboundRule[];
  outbound_rules: DoOutboundRule[];
  /** The inbound rules in force on the droplets. */
  applied: DoInboundRule[];
  /** Reads of the firewall left before the last change is in force (0: applied). */
  pendingReads: number;
}

export interface DigitalOceanApi extends ProviderStandIn {
  apiToken: string;
  /** The account's tags (Bulwark marks a diversion with one). */
  tags: Set<string>;
  /** Write requests with their JSON bodies, in order. */
  writes: Array<{ method: string; path: string; json: any }>;
  /** A firewall holding these rules (the user's own); returns its id. */
  addFirewall(inbound: DoInboundRule[], outbound?: DoOutboundRule[]): string;
  /** The firewall as GET shows it now (a copy), without counting as a read. */
  firewall(id: string): { status: string; inbound_rules: DoInboundRule[]; outbound_rules: DoOutboundRule[] };
  /** The inbound rules in force (a copy). */
  applied(id: string): DoInboundRule[];
}

const SOURCE_KINDS = ['addresses', 'droplet_ids', 'load_balancer_uids', 'kubernetes_ids', 'tags'] as const;
const ANYWHERE = ['0.0.0.0/0', '::/0'];
const MAX_RULES = 50;
const MAX_SOURCES = 1000;

/** A firewall as a user might have set it up: SSH from the office, the web and a game server open to all, ping, a health check from a load balancer. */
export const USER_INBOUND: DoInboundRule[] = [
  { protocol: 'tcp', ports: '22', sources: { addresses: ['198.51.100.0/24', '2001:db8:100::/48'] } },
  { protocol: 'tcp', ports: '80', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'tcp', ports: '443', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'udp', ports: '27015-27030', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'icmp', ports: '0', sources: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'tcp', ports: '8080', sources: { load_balancer_uids: ['4de7ac8b-495b-4884-9a69-1050c6793cd6'] } },
];
export const USER_OUTBOUND: DoOutboundRule[] = [
  { protocol: 'tcp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'udp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'icmp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
];
/** What an integration closes by default: the web and the game server. */
export const CLOSE = [
  { protocol: 'tcp', ports: '80' },
  { protocol: 'tcp', ports: '443' },
  { protocol: 'udp', ports: '27015-27030' },
];

const copy = <T>(v: T): T => structuredClone(v);
const sameSet = (a: readonly unknown[] = [], b: readonly unknown[] = []) => a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
const sameRule = (a: DoInboundRule, b: DoInboundRule) => a.protocol === b.protocol && a.ports === b.ports && SOURCE_KINDS.every((k) => sameSet(a.sources[k], b.sources[k]));

/** Whether a configured rule ({protocol, ports?, sources?}) stands among `rules`. */
function holds(rules: DoInboundRule[], r: { protocol: string; ports?: string; sources?: string[] }): boolean {
  return rules.some((h) => sameRule(h, { protocol: r.protocol, ports: r.protocol === 'icmp' ? '0' : (r.ports ?? '0'), sources: { addresses: r.sources ?? ANYWHERE } }));
}

export async function startDigitalOceanApi(): Promise<DigitalOceanApi> {
  const apiToken = `dop_v1_${'5e'.repeat(32)}`;
  const firewalls = new Map<string, StoredFirewall>();
  const tags = new Set<string>();
  const writes: DigitalOceanApi['writes'] = [];
  const error = (status: number, id: string, message: string): StandInAnswer => ({ status, body: { id, message, request_id: randomUUID() } });
  const notFound = () => error(404, 'not_found', 'The resource you were accessing could not be found.');
  const invalid = (message: string) => error(422, 'unprocessable_entity', message);

  /** A rule as sent, as DigitalOcean stores it, or the reason it refuses it. */
  function readRule(raw: any, side: 'sources' | 'destinations'): { rule: DoInboundRule } | { refused: string } {
    if (typeof raw !== 'object' || raw === null) return { refused: 'a rule must be an object' };
    const protocol = raw.protocol;
    if (!['tcp', 'udp', 'icmp'].includes(protocol)) return { refused: 'protocol must be one of tcp, udp, icmp' };
    let ports = '0';
    if (protocol !== 'icmp') {
      if (typeof raw.ports !== 'string') return { refused: 'ports is required for tcp and udp rules' };
      if (raw.ports !== 'all' && raw.ports !== '0') {
        const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(raw.ports);
        const lo = Number(m?.[1]);
        const hi = Number(m?.[2] ?? m?.[1]);
        if (!m || lo < 1 || hi > 65535 || lo > hi) return { refused: `invalid ports: ${raw.ports}` };
        ports = raw.ports;
      }
    }
    const given = raw[side];
    if (typeof given !== 'object' || given === null || Array.isArray(given)) return { refused: 'You specified an invalid type for one of the sources.' };
    const sources: DoSources = {};
    let count = 0;
    for (const kind of SOURCE_KINDS) {
      const list = given[kind];
      if (list === undefined || (Array.isArray(list) && list.length === 0)) continue;
      if (!Array.isArray(list)) return { refused: `${side}.${kind} must be an array` };
      if (kind === 'addresses' && list.some((a: unknown) => typeof a !== 'string' || !parsePrefix(a).ok)) return { refused: 'invalid address' };
      (sources as Record<string, unknown>)[kind] = [...list];
      count += list.length;
    }
    if (count === 0) return { refused: `a rule needs at least one of ${SOURCE_KINDS.join(', ')}` };
    if (count > MAX_SOURCES) return { refused: `a rule may have at most ${MAX_SOURCES} ${side}` };
    return { rule: { protocol, ports, sources } };
  }
  function readRules(req: StandInRequest): { inbound: DoInboundRule[]; outbound: DoOutboundRule[] } | { refused: string } {
    if (typeof req.json !== 'object' || req.json === null) return { refused: 'The request body must be a JSON object.' };
    const inbound: DoInboundRule[] = [];
    const outbound: DoOutboundRule[] = [];
    for (const raw of req.json.inbound_rules ?? []) {
      const r = readRule(raw, 'sources');
      if ('refused' in r) return r;
      inbound.push(r.rule);
    }
    for (const raw of req.json.outbound_rules ?? []) {
      const r = readRule(raw, 'destinations');
      if ('refused' in r) return r;
      outbound.push({ protocol: r.rule.protocol, ports: r.rule.ports, destinations: r.rule.sources });
    }
    if (inbound.length + outbound.length === 0) return { refused: 'inbound_rules or outbound_rules must hold at least one rule' };
    return { inbound, outbound };
  }
  function changed(fw: StoredFirewall) {
    if (api.applyAfterReads > 0) fw.pendingReads = api.applyAfterReads;
    else {
      fw.applied = copy(fw.inbound_rules);
      fw.pendingReads = 0;
    }
  }
  const view = (fw: StoredFirewall) => ({
    id: fw.id,
    name: fw.name,
    status: fw.pendingReads > 0 ? 'waiting' : 'succeeded',
    created_at: fw.created_at,
    pending_changes: fw.pendingReads > 0 ? fw.droplet_ids.map((droplet_id) => ({ droplet_id, removing: false, status: 'waiting' })) : [],
    droplet_ids: [...fw.droplet_ids],
    tags: [],
    inbound_rules: copy(fw.inbound_rules),
    outbound_rules: copy(fw.outbound_rules),
  });

  const server = await startStandIn(
    '/v2',
    (req) => {
      if (req.headers.authorization !== `Bearer ${apiToken}`) return error(401, 'unauthorized', 'Unable to authenticate you');
      if (req.method !== 'GET') writes.push({ method: req.method, path: req.path, json: req.json });
      if (req.method === 'GET' && req.path === '/account') {
        return { status: 200, body: { account: { droplet_limit: 25, floating_ip_limit: 5, email: 'ops@example.com', uuid: 'b6fr89dbf6d9156cace5f3c78dc9851d957381ef', email_verified: true, status: 'active', status_message: '' } } };
      }
      if (req.path === '/tags' && req.method === 'POST') {
        const name: unknown = req.json?.name;
        if (typeof name !== 'string' || !/^[A-Za-z0-9:_-]{1,255}$/.test(name)) return invalid('Tags may contain letters, numbers, colons, dashes, and underscores.');
        tags.add(name);
        return { status: 201, body: { tag: { name, resources: { count: 0, droplets: { count: 0 } } } } };
      }
      const tag = /^\/tags\/([^/]+)$/.exec(req.path);
      if (tag) {
        const name = decodeURIComponent(tag[1]!);
        if (!tags.has(name)) return notFound();
        if (req.method === 'GET') return { status: 200, body: { tag: { name, resources: { count: 0, droplets: { count: 0 } } } } };
        if (req.method === 'DELETE') {
          tags.delete(name);
          return { status: 204 };
        }
        return notFound();
      }
      const m = /^\/firewalls\/([^/]+)(\/rules)?$/.exec(req.path);
      const fw = m ? firewalls.get(decodeURIComponent(m[1]!)) : undefined;
      if (!fw) return notFound();
      if (req.method === 'GET' && !m![2]) {
        if (fw.pendingReads > 0 && --fw.pendingReads <= 0) fw.applied = copy(fw.inbound_rules);
        return { status: 200, body: { firewall: view(fw) } };
      }
      if (m![2] && (req.method === 'POST' || req.method === 'DELETE')) {
        const rules = readRules(req);
        if ('refused' in rules) return invalid(rules.refused);
        if (req.method === 'POST') {
          const total = fw.inbound_rules.length + fw.outbound_rules.length + rules.inbound.length + rules.outbound.length;
          if (total > MAX_RULES) return invalid(`A firewall may have at most ${MAX_RULES} rules.`);
          // (?) Whether DigitalOcean keeps or merges a rule sent twice is unconfirmed: kept here.
          fw.inbound_rules.push(...rules.inbound);
          fw.outbound_rules.push(...rules.outbound);
        } else {
          // (?) A rule that is not there is passed over (DigitalOcean's answer to it is unconfirmed).
          fw.inbound_rules = fw.inbound_rules.filter((h) => !rules.inbound.some((r) => sameRule(h, r)));
          fw.outbound_rules = fw.outbound_rules.filter((h) => !rules.outbound.some((r) => sameRule({ ...h, sources: h.destinations }, { ...r, sources: r.destinations })));
        }
        changed(fw);
        return { status: 204 };
      }
      return notFound();
    },
    (status) => ({ id: status === 429 ? 'too_many_requests' : status >= 500 ? 'server_error' : 'error', message: 'simulated failure', request_id: randomUUID() }),
  );

  const stored = (id: string) => {
    const fw = firewalls.get(id);
    if (!fw) throw new Error(`no firewall ${id}`);
    return fw;
  };
  const api: DigitalOceanApi = {
    ...server,
    type: 'digitalocean',
    apiToken,
    tags,
    writes,
    applyAfterReads: 0,
    addFirewall(inbound, outbound = USER_OUTBOUND) {
      const id = randomUUID();
      firewalls.set(id, {
        id,
        name: `web-${id.slice(0, 8)}`,
        created_at: new Date().toISOString(),
        droplet_ids: [Math.floor(Math.random() * 1e8), Math.floor(Math.random() * 1e8)],
        inbound_rules: copy(inbound),
        outbound_rules: copy(outbound),
        applied: copy(inbound),
        pendingReads: 0,
      });
      return id;
    },
    firewall: (id) => {
      const v = view(stored(id));
      return { status: v.status, inbound_rules: v.inbound_rules, outbound_rules: v.outbound_rules };
    },
    applied: (id) => copy(stored(id).applied),
    integration() {
      const firewall_id = api.addFirewall(USER_INBOUND);
      return { config: { prefixes: ['203.0.113.10/32'], firewall_id, close: copy(CLOSE) }, credentials: { api_token: apiToken } };
    },
    badCredentials: () => ({ api_token: `dop_v1_${'0b'.repeat(32)}` }),
    diverting(config) {
      const close = config.close as Array<{ protocol: string; ports?: string; sources?: string[] }>;
      const rules = stored(config.firewall_id as string).applied;
      const open = close.filter((r) => holds(rules, r)).length;
      return open === 0 ? 'on' : open === close.length ? 'off' : 'partial';
    },
    turnOff(config) {
      // Someone puts the closed rules back in the console (and leaves the rest as it is).
      const fw = stored(config.firewall_id as string);
      for (const r of config.close as Array<{ protocol: string; ports?: string; sources?: string[] }>) {
        if (!holds(fw.inbound_rules, r)) fw.inbound_rules.push({ protocol: r.protocol, ports: r.protocol === 'icmp' ? '0' : (r.ports ?? '0'), sources: { addresses: r.sources ?? ANYWHERE } });
      }
      fw.applied = copy(fw.inbound_rules);
      fw.pendingReads = 0;
    },
  };
  return api;
}
