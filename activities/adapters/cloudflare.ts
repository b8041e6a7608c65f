// Cloudflare adapter. BGP blackholes and FlowSpec have no meaning at Cloudflare; what a
// rule asks is done there instead, as the adapter's `config.mode` says:
// - `magic_firewall` (Magic Transit customers, `config.account_id`): each rule is a block
//   rule in the account's magic_transit phase ruleset, its expression the rule's match
//   (`ip.dst in {203.0.113.5/32}` for a blackhole; destination, source, protocols, ports,
//   packet lengths, TCP flags for FlowSpec): the traffic is dropped at Cloudflare's edge.
// - `ip_access_rules` (`config.zone_id`): FlowSpec rules that name a source and nothing
//   else the zone could tell apart: the source is blocked from the zone.
// Rules Bulwark made carry `bulwark <intent>` as their description/notes, so listing (for
// the reconciler) and removal never touch the user's own. `auth_token` is an API token;
// `endpoint` the API's base URL (https://api.cloudflare.com/client/v4).
import type { FlowMatch, MitigationIntent, NumRange } from '../../domain/intent.js';
import { routeKey } from '../../domain/intent.js';
import { parsePrefix } from '../../domain/prefix.js';
import { cloudflareApi } from '../scrubbing/cloudflare-api.js';
import { ProviderError } from '../scrubbing/types.js';
import { AdapterError, type AdapterSettings, type MitigationAdapter } from './types.js';

const TAG = 'bulwark ';
const FLAG_FIELDS: Record<string, string> = { fin: 'tcp.flags.fin', syn: 'tcp.flags.syn', rst: 'tcp.flags.reset', psh: 'tcp.flags.push', ack: 'tcp.flags.ack', urg: 'tcp.flags.urg' };

const set = (ranges: NumRange[]) => `{${ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}..${r.to}`)).join(' ')}}`;

/** The Magic Firewall expression (Cloudflare's Rules language) that matches what the intent names. */
export function expression(intent: MitigationIntent): string {
  if (intent.kind === 'blackhole') return `ip.dst in {${intent.prefix}}`;
  const m: FlowMatch = intent.match;
  if (m.fragments) throw new AdapterError('the cloudflare adapter cannot match fragments; use a BGP speaker for that rule', false);
  if (intent.action.type !== 'discard') throw new AdapterError('the cloudflare adapter blocks (discard); rate limits are not supported', false);
  const parts = [`ip.dst in {${intent.destination}}`];
  if (m.source) parts.push(`ip.src in {${m.source}}`);
  if (m.protocols) parts.push(`ip.proto in {${m.protocols.join(' ')}}`);
  // Ports belong to TCP or UDP: both unless the match names only one of them.
  const transports = (m.protocols ?? [6, 17]).filter((p) => p === 6 || p === 17).map((p) => (p === 6 ? 'tcp' : 'udp'));
  for (const [ranges, field] of [
    [m.sourcePorts, 'srcport'],
    [m.destinationPorts, 'dstport'],
  ] as const) {
    if (!ranges) continue;
    if (transports.length === 0) throw new AdapterError('ports need TCP or UDP in the match', false);
    const each = transports.map((t) => `${t}.${field} in ${set(ranges)}`);
    parts.push(each.length === 1 ? each[0]! : `(${each.join(' or ')})`);
  }
  if (m.packetLengths) parts.push(`ip.len in ${set(m.packetLengths)}`);
  if (m.tcpFlags) parts.push(`(${m.tcpFlags.map((f) => FLAG_FIELDS[f]).join(' or ')})`);
  return parts.join(' and ');
}

interface MagicRule {
  id: string;
  action: string;
  expression: string;
  description?: string;
}

export function createCloudflareAdapter(settings: AdapterSettings): MitigationAdapter {
  const config = settings.config ?? {};
  const mode = config.mode === 'ip_access_rules' ? 'ip_access_rules' : 'magic_firewall';
  if (!settings.authToken) throw new AdapterError('the cloudflare adapter needs an API token (auth_token)', false);
  const base = settings.endpoint.replace(/\/+$/, '');
  const api = cloudflareApi({ baseUrl: base, timeoutMs: settings.timeoutMs, targets: settings.targets, tag: 'bulwark', config: {}, credentials: {} }, settings.authToken);
  const describe = (intent: MitigationIntent) => `${TAG}${JSON.stringify(intent)}`;
  const decode = (text: string | undefined): MitigationIntent | null => {
    if (!text?.startsWith(TAG)) return null;
    try {
      return JSON.parse(text.slice(TAG.length)) as MitigationIntent;
    } catch {
      return null;
    }
  };
  /** Cloudflare's refusals become the adapter's: never retried when Cloudflare said no. */
  const cf = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProviderError) throw new AdapterError(err.message, err.retryable);
      throw err;
    }
  };

  // ------------------------------------------------------------ magic_firewall
  const phase = `/accounts/${String(config.account_id)}/rulesets/phases/magic_transit/entrypoint`;
  async function ruleset(): Promise<{ id: string; rules: MagicRule[] }> {
    const found = await api<{ id: string; rules?: MagicRule[] }>('GET', phase, undefined, [404]);
    if (found) return { id: found.id, rules: found.rules ?? [] };
    // The account has no magic_transit ruleset yet: its entry point is made empty.
    const made = await api<{ id: string; rules?: MagicRule[] }>('PUT', phase, { name: 'default', description: 'Magic Firewall', rules: [] });
    return { id: made.id, rules: made.rules ?? [] };
  }
  const ours = (rules: MagicRule[], intent: MitigationIntent) => rules.filter((r) => {
    const d = decode(r.description);
    return d !== null && routeKey(d) === routeKey(intent);
  });

  // ------------------------------------------------------------ ip_access_rules
  const zoneRules = `/zones/${String(config.zone_id)}/firewall/access_rules/rules`;
  function accessSource(intent: MitigationIntent): string {
    if (intent.kind !== 'flowspec' || !intent.match.source) throw new AdapterError('ip_access_rules mode blocks sources: the rule must be FlowSpec with a source; use magic_firewall to block a destination', false);
    const { source, ...rest } = intent.match;
    if (Object.keys(rest).length > 0) throw new AdapterError('ip_access_rules mode blocks a source from the whole zone: a match with more than a source would block more than asked; use magic_firewall', false);
    return source;
  }
  interface AccessRule {
    id: string;
    notes?: string;
  }
  async function accessRulesOf(intent: MitigationIntent | null): Promise<AccessRule[]> {
    const out: AccessRule[] = [];
    for (let page = 1; ; page++) {
      const batch = await api<AccessRule[]>('GET', `${zoneRules}?notes=${encodeURIComponent(TAG.trim())}&per_page=100&page=${page}`);
      out.push(...batch.filter((r) => {
        const d = decode(r.notes);
        return d !== null && (intent === null || routeKey(d) === routeKey(intent));
      }));
      if (batch.length < 100) return out;
    }
  }

  return {
    announce: (intent) =>
      cf(async () => {
        if (mode === 'magic_firewall') {
          const rs = await ruleset();
          if (ours(rs.rules, intent).length > 0) return; // announced already (a retry)
          await api('POST', `/accounts/${String(config.account_id)}/rulesets/${rs.id}/rules`, { action: 'block', expression: expression(intent), description: describe(intent), enabled: true });
          return;
        }
        const source = accessSource(intent);
        if ((await accessRulesOf(intent)).length > 0) return;
        const p = parsePrefix(source);
        const single = p.ok && p.prefix.length === (p.prefix.family === 4 ? 32 : 128);
        await api('POST', zoneRules, { mode: 'block', configuration: { target: single ? (p.ok && p.prefix.family === 6 ? 'ip6' : 'ip') : 'ip_range', value: single ? source.split('/')[0] : source }, notes: describe(intent) });
      }),
    withdraw: (intent) =>
      cf(async () => {
        if (mode === 'magic_firewall') {
          const rs = await ruleset();
          for (const r of ours(rs.rules, intent)) await api('DELETE', `/accounts/${String(config.account_id)}/rulesets/${rs.id}/rules/${r.id}`, undefined, [404]);
          return;
        }
        for (const r of await accessRulesOf(intent)) await api('DELETE', `${zoneRules}/${r.id}`, undefined, [404]);
      }),
    test: () =>
      cf(async () => {
        const t0 = performance.now();
        await api('GET', '/user/tokens/verify');
        const what = mode === 'magic_firewall' ? `${(await ruleset()).rules.length} Magic Firewall rules` : `${(await accessRulesOf(null)).length} IP access rules of Bulwark's`;
        return { latencyMs: performance.now() - t0, detail: `token valid; ${what}` };
      }),
    list: () =>
      cf(async () => {
        const described = mode === 'magic_firewall' ? (await ruleset()).rules.map((r) => r.description) : (await accessRulesOf(null)).map((r) => r.notes);
        return described.map(decode).filter((d): d is MitigationIntent => d !== null);
      }),
    close: async () => {},
  };
}
