// A local stand-in for the part of Cloudflare's API v4 the WAF integration uses: Bearer
// tokens (GET /user/tokens/verify), zones (GET /zones/{z}) and each zone's IP access rules
// (POST, paginated GET with the notes/configuration/mode filters, PATCH, DELETE under
// /zones/{z}/firewall/access_rules/rules), answered in the {success, errors, messages,
// result} envelope. Keeps rules per zone, refuses a second rule for the same address
// (10009), can apply changes only after some later list reads, and can be told to fail.
// Validation error codes other than 10000/10009 are the stand-in's own.
import { randomBytes } from 'node:crypto';
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';
import { startStandIn, type ProviderStandIn, type StandInAnswer, type StandInRequest } from './provider-stand-in.js';

export interface WafRule {
  id: string;
  mode: string;
  configuration: { target: string; value: string };
  notes: string;
  allowed_modes: string[];
  created_on: string;
  modified_on: string;
  scope: { id: string; type: 'zone' };
}

export interface CloudflareWafApi extends ProviderStandIn {
  apiToken: string;
  /** A fresh zone (32 hex id), optionally holding the user's own rules. */
  addZone(rules?: Array<{ mode: string; target: string; value: string; notes?: string }>): string;
  /** The zone's rules as Cloudflare applies them now, in creation order. */
  rules(zoneId: string): WafRule[];
  /** Deletes a rule behind Bulwark's back (someone in the dashboard). */
  deleteRule(zoneId: string, id: string): void;
  /** The largest per_page a list may ask for. */
  maxPerPage: number;
  /** The zone's security level setting (Under Attack Mode is "under_attack"). */
  securityLevel(zoneId: string): string;
}

const SECURITY_LEVELS = ['off', 'essentially_off', 'low', 'medium', 'high', 'under_attack'];

const MODES = ['block', 'challenge', 'whitelist', 'js_challenge', 'managed_challenge'];
const envelope = (result: unknown, extra: Record<string, unknown> = {}): StandInAnswer => ({ status: 200, body: { success: true, errors: [], messages: [], result, ...extra } });
const error = (status: number, code: number, message: string): StandInAnswer => ({ status, body: { success: false, errors: [{ code, message }], messages: [], result: null } });

const keyOf = (text: string) => {
  const r = parsePrefix(text);
  return r.ok ? formatPrefix(r.prefix) : text;
};

/** The address or range as written canonically, if `configuration` is one Cloudflare accepts for its target. */
function canonical(target: unknown, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const r = parsePrefix(value);
  if (!r.ok) return null;
  const { family, length } = r.prefix;
  if (target === 'ip') return family === 4 && !value.includes('/') ? formatPrefix(r.prefix) : null;
  if (target === 'ip6') return family === 6 && !value.includes('/') ? formatPrefix(r.prefix) : null;
  if (target === 'ip_range') return value.includes('/') && (family === 4 ? [16, 24] : [32, 48, 64]).includes(length) ? formatPrefix(r.prefix) : null;
  return null;
}

export async function startCloudflareWafApi(): Promise<CloudflareWafApi> {
  const apiToken = 'cf-waf-test-token-0123456789abcdef';
  /** Per zone: every rule with when it shows (`appearsIn` reads) and when a deletion takes effect. */
  interface Held {
    rule: WafRule;
    key: string;
    appearsIn: number;
    goneIn: number | null;
  }
  const zones = new Map<string, Held[]>();
  const levels = new Map<string, string>();
  let nextId = 1;
  const now = () => new Date().toISOString();
  const applied = (zoneId: string) => (zones.get(zoneId) ?? []).filter((h) => h.appearsIn <= 0);
  const make = (zoneId: string, mode: string, target: string, value: string, key: string, notes: string): Held => {
    const at = now();
    return {
      rule: { id: (nextId++).toString(16).padStart(32, '0'), mode, configuration: { target, value }, notes, allowed_modes: MODES, created_on: at, modified_on: at, scope: { id: zoneId, type: 'zone' } },
      key,
      appearsIn: api.applyAfterReads,
      goneIn: null,
    };
  };
  /** One list read: pending changes move on by one. */
  const read = (zoneId: string) => {
    const held = zones.get(zoneId)!;
    for (const h of held) if (h.appearsIn > 0) h.appearsIn--;
    for (const h of [...held]) if (h.goneIn !== null && --h.goneIn <= 0) held.splice(held.indexOf(h), 1);
  };

  function list(zoneId: string, q: URLSearchParams): StandInAnswer {
    read(zoneId);
    const page = Number(q.get('page') ?? '1');
    const perPage = Number(q.get('per_page') ?? '20');
    if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1 || perPage > api.maxPerPage) return error(400, 1004, `page must be >= 1 and per_page 1-${api.maxPerPage}`);
    const notes = q.get('notes')?.toLowerCase();
    const target = q.get('configuration.target');
    const value = q.get('configuration.value');
    const mode = q.get('mode');
    const tests: Array<(r: WafRule, key: string) => boolean> = [];
    if (notes !== undefined) tests.push((r) => r.notes.toLowerCase().includes(notes)); // Cloudflare: case-insensitive substring
    if (target !== null) tests.push((r) => r.configuration.target === target);
    if (value !== null) tests.push((_r, key) => key === keyOf(value));
    if (mode !== null) tests.push((r) => r.mode === mode);
    const any = q.get('match') === 'any';
    const found = applied(zoneId).filter((h) => tests.length === 0 || (any ? tests.some((t) => t(h.rule, h.key)) : tests.every((t) => t(h.rule, h.key))));
    const result = found.slice((page - 1) * perPage, page * perPage).map((h) => h.rule);
    return envelope(result, { result_info: { page, per_page: perPage, count: result.length, total_count: found.length, total_pages: Math.ceil(found.length / perPage) } });
  }

  function handle(req: StandInRequest): StandInAnswer {
    if (req.headers.authorization !== `Bearer ${apiToken}`) {
      // What Cloudflare answers a token it does not know: the verify endpoint says so in its own words. (?)
      return req.path === '/user/tokens/verify' ? error(401, 1000, 'Invalid API Token') : error(403, 10000, 'Authentication error');
    }
    if (req.method === 'GET' && req.path === '/user/tokens/verify') return envelope({ id: 'f267e341f3dd4697bd3b9f71dd96247f', status: 'active', not_before: null, expires_on: null });
    const setting = /^\/zones\/([^/]+)\/settings\/security_level$/.exec(req.path);
    if (setting) {
      // https://developers.cloudflare.com/api/resources/zones/subresources/settings/methods/edit/
      const zoneId = decodeURIComponent(setting[1]!);
      if (!zones.has(zoneId)) return error(403, 9109, 'Unauthorized to access requested resource');
      const answer = () => envelope({ id: 'security_level', value: levels.get(zoneId) ?? 'medium', editable: true, modified_on: now() });
      if (req.method === 'GET') return answer();
      if (req.method !== 'PATCH') return error(405, 10405, 'Method not allowed');
      if (!SECURITY_LEVELS.includes(req.json?.value)) return error(400, 1007, `Invalid value for zone setting security_level`);
      levels.set(zoneId, req.json.value);
      return answer();
    }
    const m = /^\/zones\/([^/]+)(\/firewall\/access_rules\/rules(?:\/([^/]+))?)?$/.exec(req.path);
    if (!m) return error(404, 7000, 'No route for that URI');
    const zoneId = decodeURIComponent(m[1]!);
    if (!zones.has(zoneId)) return error(403, 9109, 'Unauthorized to access requested resource');
    if (!m[2]) return req.method === 'GET' ? envelope({ id: zoneId, name: `zone-${zoneId.slice(-6)}.example.com`, status: 'active', paused: false, type: 'full' }) : error(405, 10405, 'Method not allowed');
    const held = zones.get(zoneId)!;
    const ruleId = m[3] === undefined ? null : decodeURIComponent(m[3]);

    if (ruleId === null && req.method === 'GET') return list(zoneId, req.query);
    if (ruleId === null && req.method === 'POST') {
      const b = req.json;
      if (b === undefined || typeof b !== 'object') return error(400, 10026, 'firewallaccessrules.api.invalid_json');
      if (!MODES.includes(b.mode)) return error(400, 10012, 'firewallaccessrules.api.validation_error:invalid mode');
      const key = canonical(b.configuration?.target, b.configuration?.value);
      if (key === null) return error(400, 10014, 'firewallaccessrules.api.validation_error:invalid configuration');
      if (b.notes !== undefined && typeof b.notes !== 'string') return error(400, 10012, 'firewallaccessrules.api.validation_error:notes must be a string');
      if (held.some((h) => h.key === key && h.goneIn === null)) return error(400, 10009, 'firewallaccessrules.api.duplicate_of_existing');
      const h = make(zoneId, b.mode, b.configuration.target, b.configuration.value, key, b.notes ?? '');
      held.push(h);
      return envelope(h.rule);
    }
    // A rule being deleted is gone as far as changes go.
    const h = held.find((x) => x.rule.id === ruleId && x.goneIn === null);
    if (!h) return error(404, 10007, 'firewallaccessrules.api.not_found');
    if (req.method === 'GET') return envelope(h.rule);
    if (req.method === 'DELETE') {
      if (h.appearsIn <= 0 && api.applyAfterReads > 0) h.goneIn = api.applyAfterReads;
      else held.splice(held.indexOf(h), 1);
      return envelope({ id: h.rule.id });
    }
    if (req.method === 'PATCH') {
      const b = req.json;
      if (b === undefined || typeof b !== 'object') return error(400, 10026, 'firewallaccessrules.api.invalid_json');
      if (b.mode !== undefined && !MODES.includes(b.mode)) return error(400, 10012, 'firewallaccessrules.api.validation_error:invalid mode');
      if (b.configuration !== undefined) return error(400, 10013, 'firewallaccessrules.api.validation_error:configuration cannot be changed');
      if (b.mode !== undefined) h.rule.mode = b.mode;
      if (typeof b.notes === 'string') h.rule.notes = b.notes;
      h.rule.modified_on = now();
      return envelope(h.rule);
    }
    return error(405, 10405, 'Method not allowed');
  }

  const server = await startStandIn('/client/v4', handle, (status) => error(status, status === 429 ? 971 : status, 'simulated failure').body);

  /** For each configured source, the applied rules (a deletion not yet applied still counts) doing what the config asks. */
  const covering = (config: Record<string, unknown>) => {
    const keys = (config.sources as string[]).map(keyOf);
    const mode = (config.mode as string | undefined) ?? 'block';
    return keys.map((k) => applied(config.zone_id as string).filter((h) => h.key === k && h.rule.mode === mode));
  };
  const api: CloudflareWafApi = {
    ...server,
    type: 'cloudflare_waf',
    apiToken,
    applyAfterReads: 0,
    maxPerPage: 1000,
    addZone(rules = []) {
      const zoneId = randomBytes(16).toString('hex');
      zones.set(zoneId, []);
      for (const r of rules) {
        const h = make(zoneId, r.mode, r.target, r.value, canonical(r.target, r.value) ?? r.value, r.notes ?? '');
        h.appearsIn = 0;
        zones.get(zoneId)!.push(h);
      }
      return zoneId;
    },
    rules: (zoneId) => applied(zoneId).map((h) => structuredClone(h.rule)),
    securityLevel: (zoneId) => levels.get(zoneId) ?? 'medium',
    deleteRule(zoneId, id) {
      const held = zones.get(zoneId)!;
      const at = held.findIndex((h) => h.rule.id === id);
      if (at >= 0) held.splice(at, 1);
    },
    integration() {
      const zone_id = api.addZone();
      return { config: { prefixes: ['203.0.113.0/24'], zone_id, sources: ['198.51.100.23', '100.64.0.0/16', '2001:db8:bad::/48'], mode: 'block' }, credentials: { api_token: apiToken } };
    },
    badCredentials: () => ({ api_token: 'cf-waf-wrong-token-000000000000' }),
    diverting(config) {
      const states = covering(config).map((hs) => hs.length > 0);
      return states.every(Boolean) ? 'on' : states.some(Boolean) ? 'partial' : 'off';
    },
    turnOff(config) {
      for (const hs of covering(config)) for (const h of hs) api.deleteRule(config.zone_id as string, h.rule.id);
    },
  };
  return api;
}
