// A local stand-in for the part of OVHcloud's API the integration uses
// (https://eu.api.ovh.com/1.0): the unsigned GET /auth/time, GET /me, and the Edge Network
// Firewall under /ip/{block}/firewall: addresses on the firewall (enabled, state), their
// rules by sequence 0-19 (state creationPending/ok/removalPending). Authentication is checked
// as OVH does: the application key, the consumer key and its access rules, the timestamp
// against its own clock (which a test can skew) and the signature
// "$1$" + sha1hex(secret+consumerKey+METHOD+fullURL+body+timestamp); errors answer
// {"class", "errorCode", "message"}. Changes can apply only after some status reads (GET of
// the address on the firewall), and it can be told to fail.
import { createHash } from 'node:crypto';
import { startStandIn, type ProviderStandIn, type StandInAnswer, type StandInRequest } from './provider-stand-in.js';

/** A rule exactly as OVH answers it. */
export interface OvhRule {
  sequence: number;
  action: 'permit' | 'deny';
  protocol: string;
  source: string;
  destination: string;
  destinationPort: string | null;
  sourcePort: string | null;
  tcpOption: string | null;
  fragments: boolean;
  rule: string;
  state: 'creationPending' | 'ok' | 'removalPending';
  creationDate: string;
}
export interface OvhFirewall {
  ipOnFirewall: string;
  enabled: boolean;
  state: 'ok' | 'enableFirewallPending' | 'disableFirewallPending';
  rules: OvhRule[];
}
/** A rule of the user's own, as made in the console. */
export interface UserRule {
  sequence: number;
  action: 'permit' | 'deny';
  protocol: string;
  source?: string;
  destinationPort?: number;
  tcpOption?: 'established' | 'syn';
}

export interface OvhApi extends ProviderStandIn {
  applicationKey: string;
  applicationSecret: string;
  consumerKey: string;
  /** A consumer key whose access rules grant GET /me only. */
  meOnlyConsumerKey: string;
  /** Seconds this stand-in's clock runs ahead of the machine's: /auth/time answers by it, timestamps are judged by it. */
  clockSkewSeconds: number;
  /** A fresh IP block of the account ("198.18.7.0/24"). */
  addBlock(): string;
  /** The address on the firewall as OVH holds it (rules by sequence), or null. */
  firewall(block: string, ip: string): OvhFirewall | null;
  /** Puts the address on the firewall with rules of the user's own, applied at once (as in the console). */
  setFirewall(block: string, ip: string, enabled: boolean, rules?: UserRule[]): void;
  /** The next `times` requests `match` accepts answer `status` (after the ones failNext fails). */
  failOn(match: (req: StandInRequest) => boolean, status?: number, times?: number): void;
}

interface Entry {
  fw: Omit<OvhFirewall, 'rules'>;
  rules: Map<number, OvhRule>;
  /** Changes not applied yet: each applies after `reads` more status reads. */
  pending: Array<{ reads: number; apply: () => void }>;
}

const PROTOCOLS = ['ah', 'esp', 'gre', 'icmp', 'ipv4', 'tcp', 'udp'];
const ALLOWED_WINDOW_S = 180;

function ipv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((a, p) => a * 256 + Number(p), 0);
}
/** [network, length] of "a.b.c.d/len" (or a bare address); null when invalid or host bits are set. */
function block4(text: string): [number, number] | null {
  const [addr, len = '32', ...rest] = text.split('/');
  const value = ipv4(addr ?? '');
  const length = Number(len);
  if (rest.length || value === null || !/^\d{1,2}$/.test(len) || length > 32) return null;
  const size = 2 ** (32 - length);
  return value % size === 0 ? [value, length] : null;
}
const within = (block: string, ip: string) => {
  const b = block4(block);
  const a = ipv4(ip);
  return !!b && a !== null && Math.floor(a / 2 ** (32 - b[1])) === Math.floor(b[0] / 2 ** (32 - b[1]));
};

export async function startOvhApi(): Promise<OvhApi> {
  const applicationKey = 'ovhAppKey7Tq2';
  const applicationSecret = 'ovhAppSecret4Xr9Lm2Pq8Zw';
  const consumerKey = 'ovhConsumerKey9Hs3Vb6Nc1Dk';
  const meOnlyConsumerKey = 'ovhConsumerMeOnly5Jt8Qa2';
  const grants = new Map<string, (method: string, path: string) => boolean>([
    [consumerKey, () => true],
    [meOnlyConsumerKey, (method, path) => method === 'GET' && path === '/me'],
  ]);
  const blocks = new Set<string>();
  const entries = new Map<string, Entry>();
  const key = (block: string, ip: string) => `${block}|${ip}`;
  const failures: Array<{ match: (req: StandInRequest) => boolean; status: number; times: number }> = [];
  let origin = '';
  let made = 0;

  const error = (status: number, message: string, errorCode?: string): StandInAnswer => {
    const classes: Record<number, string> = { 400: 'Client::BadRequest', 403: 'Client::Forbidden', 404: 'Client::NotFound', 405: 'Client::MethodNotAllowed', 409: 'Client::Conflict' };
    const cls = classes[status] ?? 'Server::InternalServerError';
    return { status, body: { class: cls, ...(errorCode ? { errorCode } : {}), message } };
  };
  const serverNow = () => Math.floor(Date.now() / 1000) + api.clockSkewSeconds;
  /** Applies `change` now, or after `applyAfterReads` status reads of the address. */
  const later = (entry: Entry, change: () => void) => (api.applyAfterReads > 0 ? entry.pending.push({ reads: api.applyAfterReads, apply: change }) : change());
  const view = (e: Entry): OvhFirewall => ({ ...e.fw, rules: [...e.rules.values()].sort((a, b) => a.sequence - b.sequence).map((r) => ({ ...r })) });

  function makeRule(ip: string, r: { sequence: number; action: 'permit' | 'deny'; protocol: string; source?: string; from?: number; to?: number; tcpOption?: string | null; fragments?: boolean }, state: OvhRule['state']): OvhRule {
    const port = r.from === undefined ? null : r.to === undefined || r.to === r.from ? `eq ${r.from}` : `range ${r.from} ${r.to}`;
    const source = r.source ?? 'any';
    const text = [r.action, r.protocol, source, `${ip}/32`, port, r.tcpOption].filter(Boolean).join(' ');
    return { sequence: r.sequence, action: r.action, protocol: r.protocol, source, destination: `${ip}/32`, destinationPort: port, sourcePort: null, tcpOption: r.tcpOption ?? null, fragments: r.fragments ?? false, rule: text, state, creationDate: new Date().toISOString() };
  }

  /** OVH's checks, in its order: application key, consumer key, timestamp, signature, then the key's access rules. */
  function refused(req: StandInRequest, path: string): StandInAnswer | null {
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (header('x-ovh-application') !== applicationKey) return error(403, 'This application key is invalid', 'INVALID_KEY');
    const ck = header('x-ovh-consumer') ?? '';
    const granted = grants.get(ck);
    if (!granted) return error(403, 'This credential does not exist', 'INVALID_CREDENTIAL');
    const timestamp = Number(header('x-ovh-timestamp'));
    if (!Number.isInteger(timestamp) || Math.abs(timestamp - serverNow()) > ALLOWED_WINDOW_S) return error(400, 'Query out of time', 'QUERY_TIME_OUT');
    const expected = `$1$${createHash('sha1')
      .update([applicationSecret, ck, req.method, origin + req.url, req.raw, header('x-ovh-timestamp')].join('+'))
      .digest('hex')}`;
    if (header('x-ovh-signature') !== expected) return error(400, 'Invalid signature', 'INVALID_SIGNATURE');
    if (!granted(req.method, path)) return error(403, 'This call has not been granted', 'NOT_GRANTED_CALL');
    return null;
  }

  function createRule(entry: Entry, ip: string, body: any): StandInAnswer {
    if (typeof body !== 'object' || body === null) return error(400, 'Invalid body');
    const known = ['action', 'protocol', 'sequence', 'source', 'destinationPort', 'destinationPortRange', 'sourcePort', 'sourcePortRange', 'tcpOption', 'l3PacketLength'];
    const unknown = Object.keys(body).find((k) => !known.includes(k));
    if (unknown) return error(400, `Invalid parameter: ${unknown}`);
    const { action, protocol, sequence, source, destinationPort, destinationPortRange, tcpOption } = body;
    if (action !== 'permit' && action !== 'deny') return error(400, `Invalid value for action: ${action}`);
    if (!PROTOCOLS.includes(protocol)) return error(400, `Invalid value for protocol: ${protocol}`);
    if (!Number.isInteger(sequence) || sequence < 0 || sequence > 19) return error(400, `Invalid value for sequence: ${sequence}`);
    if (source !== undefined && (typeof source !== 'string' || !block4(source))) return error(400, `Invalid value for source: ${source}`);
    const ports = destinationPort !== undefined || destinationPortRange !== undefined;
    if (ports && protocol !== 'tcp' && protocol !== 'udp') return error(400, 'Ports only with TCP/UDP protocol');
    if (destinationPort !== undefined && destinationPortRange !== undefined) return error(400, 'destinationPortRange cannot be set alongside destinationPort');
    const [from, to] = destinationPortRange !== undefined ? [destinationPortRange?.from, destinationPortRange?.to] : [destinationPort, undefined];
    const port = (p: unknown) => p === undefined || (Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535);
    if (!port(from) || !port(to) || (ports && from === undefined) || (to !== undefined && to < from)) return error(400, 'Invalid destination port');
    if (tcpOption !== undefined && protocol !== 'tcp') return error(400, 'tcpOption can only be used with TCP protocol');
    if (entry.rules.has(sequence)) return error(409, `A rule already exists at sequence ${sequence}`);
    const rule = makeRule(ip, { sequence, action, protocol, source: source && `${source}${source.includes('/') ? '' : '/32'}`, from, to, tcpOption: tcpOption?.option ?? null, fragments: tcpOption?.fragments ?? false }, api.applyAfterReads > 0 ? 'creationPending' : 'ok');
    entry.rules.set(sequence, rule);
    later(entry, () => void (rule.state = 'ok'));
    return { status: 200, body: rule };
  }

  function handle(req: StandInRequest): StandInAnswer {
    const segments = req.path.split('/').filter(Boolean).map(decodeURIComponent);
    const path = `/${segments.join('/')}`;
    if (path === '/auth/time') return req.method === 'GET' ? { status: 200, body: serverNow() } : error(405, 'Method not allowed');
    const no = refused(req, path);
    if (no) return no;
    if (path === '/me') return req.method === 'GET' ? { status: 200, body: { nichandle: 'ab12345-ovh', name: 'Example', firstname: 'Ops', email: 'ops@example.com', country: 'FR' } } : error(405, 'Method not allowed');

    const [ip0, block, fw0, ip, rule0, sequenceText, ...rest] = segments;
    if (ip0 !== 'ip' || fw0 !== 'firewall' || !block || rest.length || (rule0 !== undefined && rule0 !== 'rule')) return error(404, 'Got an invalid (or empty) URL');
    if (!blocks.has(block)) return error(404, `The requested object (ip = ${block}) does not exist`);
    if (ip === undefined) {
      if (req.method === 'GET') return { status: 200, body: [...entries.keys()].filter((k) => k.startsWith(`${block}|`)).map((k) => k.split('|')[1]) };
      if (req.method !== 'POST') return error(405, 'Method not allowed');
      const target = req.json?.ipOnFirewall;
      if (typeof target !== 'string' || !within(block, target)) return error(400, `Invalid value for ipOnFirewall: ${target}`);
      if (entries.has(key(block, target))) return error(409, `${target} is already on the firewall`);
      const entry: Entry = { fw: { ipOnFirewall: target, enabled: false, state: 'ok' }, rules: new Map(), pending: [] };
      entries.set(key(block, target), entry);
      return { status: 200, body: { ...entry.fw } };
    }
    const entry = entries.get(key(block, ip));
    if (!entry) return error(404, `The requested object (ipOnFirewall = ${ip}) does not exist`);
    if (rule0 === undefined) {
      if (req.method === 'GET') {
        // A status read: changes waiting for reads come closer.
        for (const p of entry.pending) p.reads--;
        for (const p of entry.pending.filter((p) => p.reads <= 0)) p.apply();
        entry.pending = entry.pending.filter((p) => p.reads > 0);
        return { status: 200, body: { ...entry.fw } };
      }
      if (req.method !== 'PUT') return error(405, 'Method not allowed');
      const enabled = req.json?.enabled;
      if (typeof enabled !== 'boolean') return error(400, 'Invalid value for enabled');
      entry.fw.enabled = enabled;
      entry.fw.state = api.applyAfterReads > 0 ? (enabled ? 'enableFirewallPending' : 'disableFirewallPending') : 'ok';
      later(entry, () => void (entry.fw.state = 'ok'));
      return { status: 200, body: null };
    }
    if (sequenceText === undefined) {
      if (req.method === 'GET') return { status: 200, body: [...entry.rules.keys()].sort((a, b) => a - b) };
      if (req.method === 'POST') return createRule(entry, ip, req.json);
      return error(405, 'Method not allowed');
    }
    const rule = entry.rules.get(Number(sequenceText));
    if (!/^\d+$/.test(sequenceText) || !rule) return error(404, `The requested object (sequence = ${sequenceText}) does not exist`);
    if (req.method === 'GET') return { status: 200, body: rule };
    if (req.method !== 'DELETE') return error(405, 'Method not allowed');
    if (rule.state === 'removalPending') return error(409, `Rule ${rule.sequence} is already being removed`);
    rule.state = 'removalPending';
    later(entry, () => void entry.rules.delete(rule.sequence));
    return { status: 200, body: rule };
  }

  const server = await startStandIn(
    '/1.0',
    (req) => {
      const failure = failures.find((f) => f.times > 0 && f.match(req));
      if (failure) {
        failure.times--;
        return error(failure.status, 'Simulated failure');
      }
      return handle(req);
    },
    (status) => ({ class: status >= 500 ? 'Server::InternalServerError' : 'Client::BadRequest', message: `Simulated failure (HTTP ${status})` }),
  );
  origin = new URL(server.baseUrl).origin;

  const addBlock = () => {
    const n = made++;
    const block = `198.${18 + Math.floor(n / 256)}.${n % 256}.0/24`;
    blocks.add(block);
    return block;
  };
  const addressesOf = (config: Record<string, unknown>) => (config.prefixes as string[]).map((p) => p.split('/')[0]!);
  const diverts = (e: Entry | undefined) => !!e && e.fw.enabled && e.fw.state === 'ok' && [...e.rules.values()].some((r) => r.action === 'deny' && r.state === 'ok');

  const api: OvhApi = {
    ...server,
    type: 'ovh_mitigation',
    applyAfterReads: 0,
    applicationKey,
    applicationSecret,
    consumerKey,
    meOnlyConsumerKey,
    clockSkewSeconds: 0,
    addBlock,
    firewall: (block, ip) => {
      const e = entries.get(key(block, ip));
      return e ? view(e) : null;
    },
    setFirewall(block, ip, enabled, rules = []) {
      blocks.add(block);
      const entry = entries.get(key(block, ip)) ?? { fw: { ipOnFirewall: ip, enabled, state: 'ok' as const }, rules: new Map(), pending: [] };
      entry.fw = { ipOnFirewall: ip, enabled, state: 'ok' };
      for (const r of rules) entry.rules.set(r.sequence, makeRule(ip, { ...r, from: r.destinationPort }, 'ok'));
      entries.set(key(block, ip), entry);
    },
    failOn(match, status = 500, times = 1) {
      failures.push({ match, status, times });
    },
    integration() {
      const block = addBlock();
      const base = block.split('.').slice(0, 3).join('.');
      return {
        config: { prefixes: [`${base}.10/32`, `${base}.11/32`], ip_block: block, rules: [{ protocol: 'udp' }, { protocol: 'tcp', ports: '27015-27030' }] },
        credentials: { application_key: applicationKey, application_secret: applicationSecret, consumer_key: consumerKey },
      };
    },
    badCredentials: () => ({ application_key: applicationKey, application_secret: applicationSecret, consumer_key: 'ovhConsumerRevoked0000' }),
    diverting(config) {
      const on = addressesOf(config).filter((ip) => diverts(entries.get(key(config.ip_block as string, ip)))).length;
      return on === 0 ? 'off' : on === addressesOf(config).length ? 'on' : 'partial';
    },
    turnOff(config) {
      for (const ip of addressesOf(config)) {
        const e = entries.get(key(config.ip_block as string, ip));
        if (e) e.fw = { ...e.fw, enabled: false, state: 'ok' };
      }
    },
  };
  return api;
}
