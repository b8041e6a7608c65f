// Linode (Akamai Cloud) has no DDoS or mitigation API. What it offers is the Cloud Firewall,
// an ordered rule list where the first matching rule wins. While the diversion runs, the
// configured rules are put as DROP rules at the front of the firewall's inbound rules, each
// preceded by an ACCEPT rule for the workspace's allowlisted sources within it (same protocol
// and ports, so allowlisted traffic goes on to the user's own rules as before rather than
// being dropped; it is accepted only where a drop would otherwise apply). Withdrawing writes
// the inbound rules back without them. The user's rules, the outbound rules and both
// policies are written back as read: same order, every field (unknown ones too).
//
// Bulwark's rules are known by their labels: settings.tag and a counter (`bulwark-7-a1`,
// `bulwark-7-d2`; Linode rule labels are 3-32 characters). Each enable replaces whatever
// carries those labels, so a repeat changes nothing and a half-done one is finished.
//
// PUT .../rules replaces every rule, so the change is read-modify-write. Linode's `version`
// and `fingerprint` are read-only; the API takes no precondition on them, so an edit made in
// the console between Bulwark's read and its write (one round trip) is overwritten. Nothing
// is awaited between the two to keep that window small.
//
// Endpoints (https://techdocs.akamai.com/linode-api/reference/): GET /profile (credential
// test); GET /networking/firewalls/{id} (status "enabled"/"disabled" and the `rules` object);
// PUT /networking/firewalls/{id}/rules {inbound, inbound_policy, outbound, outbound_policy}.
// Limits: 25 rules per firewall, inbound and outbound together (Linode's OpenAPI text and its
// Cloud Firewall guide); 255 addresses and 15 port pieces (a range counts two) per rule.
// Rules take addresses as IP/mask. Errors: {"errors": [{"reason", "field"?}]}.
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { LINODE_MAX_RULES } from '../../domain/scrubbing/linode.js';
import { formatPrefix, parsePrefix, prefixContains, type Prefix } from '../../domain/prefix.js';
import { providerApi } from './provider-api.js';
import { ProviderError, type DiversionContext, type ProviderSettings, type ProviderStatus, type ScrubbingProvider } from './types.js';

const MAX_ADDRESSES = 255;
const MAX_PORT_PIECES = 15;
const ANYWHERE = ['0.0.0.0/0', '::/0'];
const PROTOCOLS = { tcp: ['TCP'], udp: ['UDP'], icmp: ['ICMP'], any: ['TCP', 'UDP', 'ICMP'] } as const;

/** A rule as Linode holds it; the user's may carry more fields, kept as they are. */
interface LinodeRule {
  action?: string;
  protocol?: string;
  ports?: string;
  addresses?: { ipv4?: string[]; ipv6?: string[] };
  label?: string;
  description?: string;
}
interface Rules {
  inbound?: LinodeRule[];
  inbound_policy?: string;
  outbound?: unknown[];
  outbound_policy?: string;
  /** Read-only: the rules counted toward the limit, rule sets expanded (newer API versions). */
  effective_rule_count?: number;
}
interface Firewall {
  id: number;
  label?: string;
  status?: string;
  rules?: Rules;
}
/** What one of Bulwark's rules matches: a protocol, ports (absent: all) and canonical sources. */
interface Shape {
  protocol: string;
  ports?: string;
  addresses: string[];
}

const canonical = (a: unknown) => {
  const p = parsePrefix(String(a));
  return p.ok ? formatPrefix(p.prefix) : String(a).trim().toLowerCase();
};
const prefixes = (texts: string[]) => texts.map((t) => parsePrefix(t)).flatMap((p) => (p.ok ? [p.prefix] : []));
/** Compares a held rule with a wanted one, whatever spacing and address notation Linode reads back. */
const keyOf = (r: LinodeRule | null) =>
  [r?.action, r?.protocol, String(r?.ports ?? '').replace(/\s+/g, ''), [...(r?.addresses?.ipv4 ?? []), ...(r?.addresses?.ipv6 ?? [])].map(canonical).sort().join(','), r?.label].join(' ');
const pieces = (ports: string) => (ports.includes('-') ? 2 : 1);

/** The allowlisted part of `sources`: each allowlisted prefix inside a source, or a source an allowlisted prefix covers. */
function narrow(sources: string[], allowlisted: Prefix[]): string[] {
  const found = new Set<string>();
  for (const s of prefixes(sources)) {
    for (const a of allowlisted) {
      if (prefixContains(s, a)) found.add(formatPrefix(a));
      else if (prefixContains(a, s)) found.add(formatPrefix(s));
    }
  }
  return [...found];
}

/** Splits `items` into runs whose weights add up to at most `max`. */
function chunks<T>(items: T[], max: number, weight: (t: T) => number = () => 1): T[][] {
  const out: T[][] = [];
  let run: T[] = [];
  let sum = 0;
  for (const item of items) {
    if (run.length > 0 && sum + weight(item) > max) {
      out.push(run);
      run = [];
      sum = 0;
    }
    run.push(item);
    sum += weight(item);
  }
  if (run.length > 0) out.push(run);
  return out;
}

/**
 * The ACCEPT rules that keep allowlisted sources out of the drops: per protocol and set of
 * allowlisted sources, the ports of the drops they lie in (all ports if one drop has none).
 */
function acceptShapes(drops: Shape[], allowlisted: Prefix[]): Shape[] {
  const groups = new Map<string, { protocol: string; ports: string[] | null; addresses: string[] }>();
  for (const d of drops) {
    const addresses = narrow(d.addresses, allowlisted).sort();
    if (addresses.length === 0) continue;
    const key = `${d.protocol} ${addresses.join(',')}`;
    const g = groups.get(key) ?? { protocol: d.protocol, ports: [], addresses };
    groups.set(key, g);
    if (d.ports === undefined) g.ports = null;
    else if (g.ports && !g.ports.includes(d.ports)) g.ports.push(d.ports);
  }
  return [...groups.values()].flatMap((g) => {
    const portRuns = g.ports === null ? [undefined] : chunks(g.ports, MAX_PORT_PIECES, pieces).map((run) => run.join(', '));
    return portRuns.flatMap((ports) => chunks(g.addresses, MAX_ADDRESSES).map((addresses) => ({ protocol: g.protocol, ports, addresses })));
  });
}

const toRule = (action: 'ACCEPT' | 'DROP', s: Shape, label: string, description: string): LinodeRule => {
  const ipv4 = s.addresses.filter((a) => !a.includes(':'));
  const ipv6 = s.addresses.filter((a) => a.includes(':'));
  return {
    action,
    protocol: s.protocol,
    ...(s.ports === undefined ? {} : { ports: s.ports }),
    addresses: { ...(ipv4.length ? { ipv4 } : {}), ...(ipv6.length ? { ipv6 } : {}) },
    label,
    description,
  };
};
const describe = (s: Shape) => `${s.protocol}${s.ports ? ` ${s.ports}` : ''} from ${s.addresses.join(' ') === ANYWHERE.join(' ') ? 'anywhere' : s.addresses.join(', ')}`;

const refuse = (message: string): never => {
  throw new ProviderError(message, false);
};

export function createLinodeProvider(s: ProviderSettings<ScrubbingConfig<'linode'>, ScrubbingCredentials<'linode'>>): ScrubbingProvider {
  const api = providerApi({
    name: 'Linode',
    ...s,
    headers: () => ({ authorization: `Bearer ${s.credentials.api_token}` }),
    errorText: (body) => (Array.isArray(body.errors) ? body.errors.map((e: { reason?: string; field?: string }) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; ') : undefined),
  });
  const firewallPath = `/networking/firewalls/${encodeURIComponent(s.config.firewall_id)}`;
  const escaped = s.tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ours = new RegExp(`^${escaped}-[ad]\\d+$`);
  const isOurs = (r: LinodeRule) => typeof r?.label === 'string' && ours.test(r.label);
  const label = (kind: 'a' | 'd', n: number) => {
    const l = `${s.tag}-${kind}${n}`;
    if (l.length > 32 || !/^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$/.test(l)) refuse(`the rule label "${l}" does not suit Linode (3-32 letters, digits, "-", "_" or "."): the integration's tag "${s.tag}" is too long`);
    return l;
  };

  const drops: Shape[] = s.config.rules.flatMap((r) => PROTOCOLS[r.protocol].map((protocol) => ({ protocol, ports: r.ports, addresses: [...new Set((r.sources ?? ANYWHERE).map(canonical))] })));
  const dropRules = drops.map((d, i) => toRule('DROP', d, label('d', i + 1), 'Bulwark diversion: drop'));
  /** Bulwark's rules for a diversion, in the order they go at the front of inbound. */
  const wanted = (allowlisted: string[]) => [
    ...acceptShapes(drops, prefixes(allowlisted)).map((a, i) => toRule('ACCEPT', a, label('a', i + 1), 'Bulwark diversion: allowlisted first')),
    ...dropRules,
  ];

  async function look() {
    const fw = (await api('GET', firewallPath)).body as Firewall;
    if (!fw?.rules) throw new ProviderError(`Linode answered no rules for firewall ${s.config.firewall_id}`);
    const rules = fw.rules;
    const inbound = rules.inbound ?? [];
    const outbound = rules.outbound ?? [];
    const mine = inbound.filter(isOurs);
    const counted = typeof rules.effective_rule_count === 'number' ? rules.effective_rule_count : inbound.length + outbound.length;
    return {
      fw,
      rules,
      inbound,
      mine,
      /** The user's inbound rules, as read. */
      theirs: inbound.filter((r) => !isOurs(r)),
      /** The rules not Bulwark's, counted toward Linode's limit. */
      othersCount: counted - mine.length,
      name: `firewall ${fw.label ? `"${fw.label}" ` : ''}(${s.config.firewall_id})`,
    };
  }
  /** Writes `inbound`, everything else as read (the PUT replaces all rules). */
  const write = (rules: Rules, inbound: LinodeRule[]) =>
    api('PUT', `${firewallPath}/rules`, { json: { inbound, inbound_policy: rules.inbound_policy, outbound: rules.outbound ?? [], outbound_policy: rules.outbound_policy } });
  const present = (inbound: LinodeRule[]) => dropRules.filter((d) => inbound.some((r) => keyOf(r) === keyOf(d)));

  return {
    async enable(context: DiversionContext) {
      const want = wanted(context.allowlisted);
      const now = await look();
      if (now.fw.status !== 'enabled') refuse(`${now.name} is ${now.fw.status ?? 'not enabled'}: Linode does not enforce its rules; enable it in Linode's console first`);
      if (now.othersCount + want.length > LINODE_MAX_RULES) {
        const accepts = want.length - dropRules.length;
        refuse(
          `${now.name} holds ${now.othersCount} rules of its own (inbound and outbound); the diversion needs ${accepts} rule(s) accepting allowlisted sources and ${dropRules.length} drop rule(s), and Linode allows ${LINODE_MAX_RULES} per firewall: free ${now.othersCount + want.length - LINODE_MAX_RULES}`,
        );
      }
      const inPlace = now.mine.length === want.length && want.every((w, i) => now.inbound[i] !== undefined && keyOf(now.inbound[i]!) === keyOf(w));
      if (inPlace) return;
      await write(now.rules, [...want, ...now.theirs]);
    },

    async disable() {
      const now = await look();
      if (now.mine.length === 0) return;
      await write(now.rules, now.theirs);
    },

    async status(): Promise<ProviderStatus> {
      const now = await look();
      const found = present(now.inbound).length;
      const accepts = now.mine.filter((r) => r.action === 'ACCEPT').length;
      const list = drops.map(describe).join(', ');
      if (now.fw.status !== 'enabled') {
        return { state: now.mine.length > 0 ? 'partial' : 'off', detail: `${now.name} is ${now.fw.status ?? 'not enabled'}: Linode does not enforce its rules (${found} of ${drops.length} drop rule(s) in it)` };
      }
      if (found === drops.length) return { state: 'on', detail: `${now.name}: dropping ${list}${accepts ? `; ${accepts} rule(s) accept allowlisted sources first` : ''}` };
      if (found === 0) return { state: 'off', detail: `${now.name}: no drop rule of Bulwark's${now.mine.length ? ` (${now.mine.length} other rule(s) labelled "${s.tag}-…" left)` : ''}` };
      return { state: 'partial', detail: `${now.name}: ${found} of ${drops.length} drop rule(s) in place (${list})` };
    },

    async test() {
      const t0 = performance.now();
      const profile = (await api('GET', '/profile')).body as { username?: string; email?: string };
      const latencyMs = performance.now() - t0;
      const now = await look();
      const who = `profile ${profile.username ?? profile.email ?? '?'}`;
      if (now.fw.status !== 'enabled') refuse(`${now.name} is ${now.fw.status ?? 'not enabled'}: Linode does not enforce its rules`);
      if (now.mine.length > 0) return { latencyMs, detail: `${who}; ${now.name}: a diversion is in place (${present(now.inbound).length} of ${drops.length} drop rule(s))` };
      if (now.othersCount + dropRules.length > LINODE_MAX_RULES) {
        refuse(`${now.name} holds ${now.othersCount} rules; the diversion's ${dropRules.length} drop rule(s) would pass Linode's ${LINODE_MAX_RULES} per firewall`);
      }
      return { latencyMs, detail: `${who}; ${now.name}: ${now.othersCount} of ${LINODE_MAX_RULES} rules used, room for the ${dropRules.length} drop rule(s) and ${LINODE_MAX_RULES - now.othersCount - dropRules.length} for allowlisted sources` };
    },
  };
}
