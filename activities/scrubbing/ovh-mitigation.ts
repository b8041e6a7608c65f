// OVHcloud. Permanent mitigation (POST /ip/{block}/mitigation) reached end of life in
// September 2025 and is not used: what OVH documents today is the Edge Network Firewall, a
// stateless filter at the edge of OVH's network in front of each IPv4 address, 20 rules per
// address (sequences 0-19, lowest first, first match wins).
// https://help.ovhcloud.com/csm/en-au-dedicated-servers-firewall-network?id=kb_article_view&sysparm_article=KB0043445
// While a diversion runs, each configured address gets the allowlist's permits, then the
// configured denies, and its firewall is switched on.
// Endpoints (https://eu.api.ovh.com/console/, section /ip): GET /auth/time (unsigned: OVH's
// clock, whose offset from ours every timestamp keeps), GET /me, POST /ip/{block}/firewall
// {"ipOnFirewall"}, GET|PUT /ip/{block}/firewall/{ip} {"enabled"},
// GET|POST /ip/{block}/firewall/{ip}/rule, GET|DELETE .../rule/{sequence}. Every other request
// carries X-Ovh-Application, X-Ovh-Consumer, X-Ovh-Timestamp and
// X-Ovh-Signature = "$1$" + sha1hex(secret+consumerKey+METHOD+fullURL+body+timestamp).
//
// OVH rules carry no name or note, so Bulwark's are known by content and place. They form one
// block of consecutive sequences: the permits (`permit ipv4` from each allowlisted IPv4
// prefix; an IPv6 source cannot reach an IPv4 address), then the denies (one per source of
// each configured rule), at the lowest free sequences, never over a rule of the user's nor
// right after a permit of the user's (which would read as one of Bulwark's). Bulwark's are
// then the rules equal to a configured deny plus the run of `permit ipv4 <source>` rules just
// below the first of them. A rule of the user's identical to one of Bulwark's, standing where
// Bulwark's go, is taken for Bulwark's. On withdraw the firewall is switched off only when no
// rule remains (the user's own rules keep it as it was); the address stays listed, disabled.
// Confirmed (OVH's API schema, ovhcloud-cli, the Terraform provider, OVH's guide): the paths
// and bodies, `destinationPortRange {from, to}`, the enums, rules added while the firewall is
// disabled, and a rule reading back `source: "any"`, `destinationPort: "eq 22"`. Unconfirmed:
// how a range reads back (taken as "range 1000 2000"; either form is read), that `enabled`
// shows the new value while `state` is pending, and that OVH applies deletions in order.
import { createHash } from 'node:crypto';
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { OVH_RULES_PER_ADDRESS } from '../../domain/scrubbing/ovh-mitigation.js';
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';
import { providerApi } from './provider-api.js';
import { ProviderError, type DiversionContext, type ProviderSettings, type ScrubbingProvider } from './types.js';

type Protocol = 'tcp' | 'udp' | 'icmp' | 'ipv4';
/** A rule as Bulwark wants it: `source` null is any; `port` "80" or "1000-2000". */
interface Wanted {
  action: 'permit' | 'deny';
  protocol: Protocol;
  source: string | null;
  port: string | null;
}
/** A rule as OVH holds it; `plain`: no source port, TCP option or fragments match (Bulwark never sets them). */
interface Held extends Wanted {
  sequence: number;
  state: string;
  plain: boolean;
}
interface Firewall {
  enabled: boolean;
  state: string;
}

/** Canonical CIDR text, or null for any ("any", absent, 0.0.0.0/0). */
function cidr(text: unknown): string | null {
  if (typeof text !== 'string' || text === '' || text === 'any') return null;
  const p = parsePrefix(text);
  if (!p.ok) return text;
  return p.prefix.length === 0 ? null : formatPrefix(p.prefix);
}
/** "80" or "1000-2000" out of 80, "80", "eq 80", "range 1000 2000", "1000-2000"; null for none. */
function portText(value: unknown): string | null {
  const m = /(\d+)(?:\D+(\d+))?/.exec(String(value ?? ''));
  if (!m) return null;
  return m[2] && m[2] !== m[1] ? `${m[1]}-${m[2]}` : m[1]!;
}
const same = (r: Held, w: Wanted) => r.plain && r.action === w.action && r.protocol === w.protocol && r.source === w.source && r.port === w.port;
/** The shape of Bulwark's allowlist permits. */
const isPermit = (r: Held | undefined): r is Held => !!r && r.plain && r.action === 'permit' && r.protocol === 'ipv4' && r.source !== null && r.port === null;

function held(body: any): Held {
  return {
    sequence: Number(body.sequence),
    action: body.action,
    protocol: body.protocol,
    source: cidr(body.source),
    port: portText(body.destinationPort),
    state: String(body.state ?? 'ok'),
    plain: !body.sourcePort && !body.tcpOption && !body.fragments,
  };
}
/** The POST body placing `w` at `sequence`: a single port as destinationPort, a range as destinationPortRange. */
function ruleBody(w: Wanted, sequence: number) {
  const [from, to] = (w.port ?? '').split('-').map(Number);
  return {
    action: w.action,
    protocol: w.protocol,
    sequence,
    ...(w.source ? { source: w.source } : {}),
    ...(w.port === null ? {} : to === undefined ? { destinationPort: from } : { destinationPortRange: { from, to } }),
  };
}

export function createOvhProvider(s: ProviderSettings<ScrubbingConfig<'ovh_mitigation'>, ScrubbingCredentials<'ovh_mitigation'>>): ScrubbingProvider {
  const { application_key: appKey, application_secret: secret, consumer_key: consumer } = s.credentials;
  const common = { name: 'OVH', baseUrl: s.baseUrl, timeoutMs: s.timeoutMs, targets: s.targets, errorText: (b: any) => (typeof b?.message === 'string' ? b.message : undefined) };
  const now = () => Math.floor(Date.now() / 1000);

  // OVH refuses timestamps far from its own clock: ask it once, keep the offset (read after the answer, as python-ovh does).
  const unsigned = providerApi({ ...common, headers: () => ({}) });
  let offset: Promise<number> | null = null;
  const serverOffset = () =>
    (offset ??= unsigned('GET', '/auth/time').then(
      ({ body }) => {
        if (typeof body !== 'number' || !Number.isFinite(body)) throw new ProviderError('OVH GET /auth/time: the answer is not a time');
        return body - now();
      },
      (err: unknown) => {
        offset = null;
        throw err;
      },
    ));
  const api = providerApi({
    ...common,
    async headers({ method, url, body }) {
      const timestamp = String(now() + (await serverOffset()));
      const signature = createHash('sha1').update([secret, consumer, method, url, body ?? '', timestamp].join('+')).digest('hex');
      return { 'x-ovh-application': appKey, 'x-ovh-consumer': consumer, 'x-ovh-timestamp': timestamp, 'x-ovh-signature': `$1$${signature}` };
    },
  });
  const block = encodeURIComponent(s.config.ip_block);
  const addresses = s.config.prefixes.map((p) => p.split('/')[0]!);
  const onFirewall = (ip: string) => `/ip/${block}/firewall/${encodeURIComponent(ip)}`;
  const denies: Wanted[] = s.config.rules.flatMap((r) =>
    (r.sources ?? [null]).map((source) => ({ action: 'deny' as const, protocol: r.protocol === 'any' ? 'ipv4' : r.protocol, source: cidr(source), port: r.ports ? portText(r.ports) : null })),
  );

  async function firewall(ip: string): Promise<Firewall | null> {
    const a = await api('GET', onFirewall(ip), { accept: [404] });
    return a.status === 404 ? null : { enabled: a.body.enabled === true, state: String(a.body.state) };
  }
  async function rules(ip: string): Promise<Held[]> {
    const sequences: number[] = (await api('GET', `${onFirewall(ip)}/rule`)).body;
    const got = await Promise.all(sequences.map((n) => api('GET', `${onFirewall(ip)}/rule/${n}`, { accept: [404] })));
    return got.filter((a) => a.status !== 404).map((a) => held(a.body)).sort((a, b) => a.sequence - b.sequence);
  }
  /** Bulwark's rules among `list`: those equal to a configured deny, and the permits just below the first. */
  function ours(list: Held[]): Held[] {
    const denied = list.filter((r) => denies.some((d) => same(r, d)));
    if (denied.length === 0) return [];
    const at = new Map(list.map((r) => [r.sequence, r]));
    const permits: Held[] = [];
    for (let n = denied[0]!.sequence - 1; isPermit(at.get(n)); n--) permits.unshift(at.get(n)!);
    return [...permits, ...denied];
  }
  const remove = (ip: string, r: Held) => (r.state === 'removalPending' ? undefined : api('DELETE', `${onFirewall(ip)}/rule/${r.sequence}`));
  /**
   * Removes Bulwark's `mine` so that what is left stays recognisable if a step fails: the
   * denies but the first, then the permits from the lowest (the run stays next to that
   * deny), then that deny.
   */
  async function removeAll(ip: string, mine: Held[]) {
    const [anchor, ...denied] = mine.filter((r) => r.action === 'deny');
    for (const r of denied) await remove(ip, r);
    for (const r of mine.filter((r) => r.action === 'permit')) await remove(ip, r);
    if (anchor) await remove(ip, anchor);
  }
  /** `fn` on every address, four at a time; waits for all (a retry must not overlap this attempt), then throws the first failure. */
  async function eachAddress<T>(fn: (ip: string) => Promise<T>): Promise<T[]> {
    const settled: PromiseSettledResult<T>[] = [];
    for (let i = 0; i < addresses.length; i += 4) settled.push(...(await Promise.allSettled(addresses.slice(i, i + 4).map(fn))));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
  }

  /** Where the block of `want` goes: the lowest start keeping the most of it already in place, over nobody else's rule. */
  function placement(list: Held[], mine: Held[], want: Wanted[]): number | null {
    const at = new Map(list.map((r) => [r.sequence, r]));
    let best: { start: number; kept: number } | null = null;
    for (let start = 0; start + want.length <= OVH_RULES_PER_ADDRESS; start++) {
      const slots = want.map((w, i) => at.get(start + i));
      if (slots.some((r, i) => r && (r.state === 'removalPending' || !same(r, want[i]!)))) continue;
      const below = at.get(start - 1);
      if (isPermit(below) && !mine.includes(below)) continue; // it would read as one of Bulwark's permits
      const kept = slots.filter(Boolean).length;
      if (!best || kept > best.kept) best = { start, kept };
    }
    return best?.start ?? null;
  }

  async function enableOn(ip: string, want: Wanted[]) {
    const fw = await firewall(ip);
    if (!fw) await api('POST', `/ip/${block}/firewall`, { json: { ipOnFirewall: ip } });
    const list = fw ? await rules(ip) : [];
    const mine = ours(list);
    const start = placement(list, mine, want);
    if (start === null) {
      if (mine.length > 0 || list.some((r) => r.state === 'removalPending')) {
        // Bulwark's earlier rules (another allowlist or config) are in the way: clear them, then a retry places the new ones.
        await removeAll(ip, mine);
        throw new ProviderError(`OVH is still removing earlier rules on ${ip}; the new ones are placed once they are gone`);
      }
      const theirs = list.map((r) => r.sequence);
      throw new ProviderError(
        `OVH's Edge Network Firewall on ${ip} has no room for Bulwark's ${want.length} rules (${want.length - denies.length} allowlist permits + ${denies.length} denies) in consecutive free sequences: the address's own rules hold ${theirs.length} of the ${OVH_RULES_PER_ADDRESS} (sequences ${theirs.join(', ')})`,
        false,
      );
    }
    const at = new Map(list.map((r) => [r.sequence, r]));
    await removeAll(ip, mine.filter((r) => r.sequence < start || r.sequence >= start + want.length));
    // In sequence order: the permits exist before any deny does.
    for (const [i, w] of want.entries()) if (!at.has(start + i)) await api('POST', `${onFirewall(ip)}/rule`, { json: ruleBody(w, start + i) });
    if (!fw?.enabled) await api('PUT', onFirewall(ip), { json: { enabled: true } });
  }

  async function disableOn(ip: string) {
    const fw = await firewall(ip);
    if (!fw) return;
    const list = await rules(ip);
    const mine = ours(list);
    await removeAll(ip, mine);
    const left = list.filter((r) => !mine.includes(r) && r.state !== 'removalPending');
    if (left.length === 0 && fw.enabled) await api('PUT', onFirewall(ip), { json: { enabled: false } });
  }

  async function statusOf(ip: string): Promise<{ state: 'on' | 'off' | 'partial'; detail: string }> {
    const fw = await firewall(ip);
    if (!fw) return { state: 'off', detail: `${ip}: not on the Edge Network Firewall` };
    const list = await rules(ip);
    const mine = ours(list);
    const firewallText = `firewall ${fw.enabled ? 'enabled' : 'disabled'}${fw.state === 'ok' ? '' : ` (${fw.state})`}`;
    if (mine.length === 0) {
      // Nothing of Bulwark's: off, unless the firewall is still on (or switching) with nothing in it.
      const quiet = list.some((r) => r.state !== 'removalPending') || (!fw.enabled && fw.state === 'ok');
      return { state: quiet ? 'off' : 'partial', detail: `${ip}: ${firewallText}, no rule of Bulwark's` };
    }
    const applied = denies.filter((d) => mine.some((r) => same(r, d) && r.state === 'ok')).length;
    const pending = mine.filter((r) => r.state !== 'ok').length;
    const on = fw.enabled && fw.state === 'ok' && applied === denies.length && pending === 0;
    return { state: on ? 'on' : 'partial', detail: `${ip}: ${firewallText}, ${applied}/${denies.length} deny rules applied${pending ? `, ${pending} rule(s) pending` : ''}` };
  }

  return {
    async enable(context: DiversionContext) {
      // IPv4 only: an IPv6 source cannot reach an IPv4 address.
      const sources = context.allowlisted.map((text) => parsePrefix(text)).flatMap((p) => (p.ok && p.prefix.family === 4 ? [formatPrefix(p.prefix)] : []));
      const permits = [...new Set(sources)].map((source): Wanted => ({ action: 'permit', protocol: 'ipv4', source, port: null }));
      const want = [...permits, ...denies];
      if (want.length > OVH_RULES_PER_ADDRESS) {
        throw new ProviderError(
          `OVH's Edge Network Firewall holds ${OVH_RULES_PER_ADDRESS} rules per address; Bulwark needs ${want.length} (${permits.length} allowlist permits + ${denies.length} denies)`,
          false,
        );
      }
      await eachAddress((ip) => enableOn(ip, want));
    },
    async disable() {
      await eachAddress(disableOn);
    },
    async status() {
      const each = await eachAddress(statusOf);
      const count = (state: string) => each.filter((e) => e.state === state).length;
      return { state: count('on') === each.length ? 'on' : count('off') === each.length ? 'off' : 'partial', detail: each.map((e) => e.detail).join('; ') };
    },
    async test() {
      await serverOffset();
      const t0 = performance.now();
      const me = (await api('GET', '/me')).body;
      const latencyMs = performance.now() - t0;
      const first = addresses[0]!;
      const fw = await firewall(first);
      const seen = fw ? `on the Edge Network Firewall (${fw.enabled ? 'enabled' : 'disabled'}, ${fw.state})` : 'not on the Edge Network Firewall yet (added by the first diversion)';
      return { latencyMs, detail: `account ${me.nichandle ?? me.name ?? '?'}; ${first} ${seen}` };
    },
  };
}
