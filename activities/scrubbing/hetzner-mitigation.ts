// Hetzner Robot has no DDoS mitigation API. What it offers for a dedicated server is the
// Robot firewall (https://robot.hetzner.com/doc/webservice/en.html#firewall): an ordered
// list of at most 10 input rules, first match wins, and whatever matches none is
// discarded. While the diversion runs, the configured rules are put as `discard` rules at
// the front of the input rules, each preceded by an `accept` rule for the workspace's
// allowlisted sources within it (same protocol and ports), so allowlisted traffic goes on
// to the user's own rules as before. A firewall that was disabled had no rules in force:
// Bulwark then enables it with a last rule accepting everything (`<tag> rest`), so only
// the diversion's discards change anything, and disables it again on withdraw.
//
// POST /firewall/{server} replaces the whole firewall, so the change is read-modify-write:
// the user's input and output rules are sent back as read, every field. The change is
// asynchronous: the firewall reads `in process` until applied, and Robot refuses another
// change meanwhile (409 FIREWALL_IN_PROCESS), which is retried. Bulwark's rules are known
// by their names: settings.tag and a counter (`bulwark-7 a1`, `bulwark-7 d2`).
//
// Credentials: HTTP Basic with the Robot webservice user. Three failed logins block the
// caller's address for 10 minutes, so a 401 is never retried (providerApi never retries a
// 4xx). Rules are IPv4 (ip_version ipv4): Robot filters IPv6 only as a whole (filter_ipv6).
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { HETZNER_MAX_RULES } from '../../domain/scrubbing/hetzner-mitigation.js';
import { formatPrefix, parsePrefix, prefixContains, type Prefix } from '../../domain/prefix.js';
import { providerApi } from './provider-api.js';
import { ProviderError, type DiversionContext, type ProviderSettings, type ProviderStatus, type ScrubbingProvider } from './types.js';

/** A rule as Robot answers it (unset fields are null); the user's may carry more fields, sent back as they are. */
type RobotRule = Record<string, string | null | undefined> & { name?: string | null; action?: string | null };
interface Firewall {
  server_number?: number;
  server_ip?: string;
  status?: string;
  filter_ipv6?: boolean;
  whitelist_hos?: boolean;
  port?: string;
  rules?: { input?: RobotRule[]; output?: RobotRule[] };
}
const PROTOCOLS = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', any: null } as const;
const ANY_V4 = '0.0.0.0/0';

const refuse = (message: string): never => {
  throw new ProviderError(message, false);
};
const canonical = (t: string) => {
  const p = parsePrefix(t);
  return p.ok ? formatPrefix(p.prefix) : t;
};
const v4 = (texts: string[]) => texts.map((t) => parsePrefix(t)).flatMap((p) => (p.ok && p.prefix.family === 4 ? [p.prefix] : []));
/** The allowlisted part of a drop's source: each allowlisted prefix inside it, or the source itself if one covers it. */
function narrow(source: Prefix, allowlisted: Prefix[]): string[] {
  return [...new Set(allowlisted.flatMap((a) => (prefixContains(source, a) ? [formatPrefix(a)] : prefixContains(a, source) ? [formatPrefix(source)] : [])))];
}
/** What identifies a rule, whatever Robot echoes back for unset fields. */
const keyOf = (r: RobotRule) => ['name', 'action', 'protocol', 'src_ip', 'dst_port', 'ip_version'].map((f) => r[f] ?? '').join('|');

export function createHetznerProvider(s: ProviderSettings<ScrubbingConfig<'hetzner_mitigation'>, ScrubbingCredentials<'hetzner_mitigation'>>): ScrubbingProvider {
  const basic = Buffer.from(`${s.credentials.username}:${s.credentials.password}`).toString('base64');
  const api = providerApi({
    name: 'Hetzner Robot',
    ...s,
    headers: () => ({ authorization: `Basic ${basic}` }),
    errorText: (body) => (body.error ? `${body.error.code ?? ''}${body.error.message ? `: ${body.error.message}` : ''}` : undefined),
  });
  const path = `/firewall/${encodeURIComponent(s.config.server_number)}`;
  const mine = (r: RobotRule) => typeof r.name === 'string' && r.name.startsWith(`${s.tag} `);
  const REST = `${s.tag} rest`;

  /** The discards, one per configured rule and source (IPv4; from anywhere when it names none). */
  const drops: RobotRule[] = s.config.rules.flatMap((r) => (r.sources ?? [ANY_V4]).map((src) => ({ src_ip: canonical(src), protocol: PROTOCOLS[r.protocol], dst_port: r.ports ?? null })));
  const dropRules = drops.map((d, i): RobotRule => ({ name: `${s.tag} d${i + 1}`, ip_version: 'ipv4', action: 'discard', ...d }));
  function accepts(allowlisted: string[]): RobotRule[] {
    const allow = v4(allowlisted);
    const out = new Map<string, RobotRule>();
    for (const d of drops) {
      const src = parsePrefix(d.src_ip!);
      if (!src.ok) continue;
      for (const a of narrow(src.prefix, allow)) {
        const r = { ip_version: 'ipv4', action: 'accept', src_ip: a, protocol: d.protocol, dst_port: d.dst_port };
        out.set(keyOf(r), r);
      }
    }
    return [...out.values()].map((r, i) => ({ name: `${s.tag} a${i + 1}`, ...r }));
  }

  async function look() {
    const body = (await api('GET', path)).body as { firewall?: Firewall };
    const fw = body.firewall;
    if (!fw?.rules) throw new ProviderError(`Hetzner Robot answered no firewall for server ${s.config.server_number}`);
    const input = fw.rules.input ?? [];
    return { fw, input, ours: input.filter(mine), theirs: input.filter((r) => !mine(r)), name: `server ${s.config.server_number}${fw.server_ip ? ` (${fw.server_ip})` : ''}` };
  }

  /** Replaces the firewall: `status` and these input rules, everything else as read. */
  async function write(fw: Firewall, status: 'active' | 'disabled', input: RobotRule[]) {
    const form: Array<[string, string]> = [['status', status]];
    for (const f of ['filter_ipv6', 'whitelist_hos'] as const) if (fw[f] !== undefined) form.push([f, String(fw[f])]);
    if (fw.port) form.push(['port', fw.port]);
    const add = (side: 'input' | 'output', rules: RobotRule[]) =>
      rules.forEach((r, i) => {
        for (const [field, value] of Object.entries(r)) if (value !== null && value !== undefined && value !== '') form.push([`rules[${side}][${i}][${field}]`, String(value)]);
      });
    add('input', input);
    add('output', fw.rules?.output ?? []);
    const answer = await api('POST', path, { form, accept: [409] });
    if (answer.status === 409) throw new ProviderError(`Hetzner Robot is still applying an earlier change to ${s.config.server_number}'s firewall (${answer.body?.error?.code ?? 'HTTP 409'}); trying again`);
  }
  const inProcess = (fw: Firewall) => fw.status === 'in process';
  const presentDrops = (input: RobotRule[]) => dropRules.filter((d) => input.some((r) => keyOf(r) === keyOf(d))).length;

  return {
    async enable(context: DiversionContext) {
      const now = await look();
      if (inProcess(now.fw)) throw new ProviderError(`${now.name}: the firewall is still applying a change; trying again`);
      const wasOff = now.fw.status !== 'active';
      const hadRest = now.ours.some((r) => r.name === REST);
      // Turned on by Bulwark: it ends with the accept-all marker; a firewall the user runs keeps its own end.
      const rest: RobotRule[] = wasOff || hadRest ? [{ name: REST, ip_version: 'ipv4', action: 'accept' }] : [];
      const want = [...accepts(context.allowlisted), ...dropRules];
      const total = now.theirs.length + want.length + rest.length;
      if (total > HETZNER_MAX_RULES) {
        refuse(
          `${now.name}: the Robot firewall holds ${now.theirs.length} input rule(s) of its own; the diversion needs ${want.length - dropRules.length} accepting allowlisted sources and ${dropRules.length} discard rule(s)${rest.length ? ' and one accepting the rest' : ''}, and Robot allows ${HETZNER_MAX_RULES}: free ${total - HETZNER_MAX_RULES}`,
        );
      }
      const next = [...want, ...now.theirs, ...rest];
      const same = now.fw.status === 'active' && next.length === now.input.length && next.every((r, i) => keyOf(r) === keyOf(now.input[i]!));
      if (same) return;
      await write(now.fw, 'active', next);
    },

    async disable() {
      const now = await look();
      // A change in process may be the diversion's own: what it shows now proves nothing yet.
      if (inProcess(now.fw)) throw new ProviderError(`${now.name}: the firewall is still applying a change; trying again`);
      if (now.ours.length === 0) return;
      // Bulwark turned the firewall on: it goes back off.
      const status = now.ours.some((r) => r.name === REST) ? 'disabled' : 'active';
      await write(now.fw, status, now.theirs);
    },

    async status(): Promise<ProviderStatus> {
      const now = await look();
      const found = presentDrops(now.input);
      if (inProcess(now.fw)) return { state: 'partial', detail: `${now.name}: Robot is applying a change to the firewall (${found} of ${dropRules.length} discard rule(s) in it)` };
      if (now.fw.status !== 'active') return { state: found > 0 ? 'partial' : 'off', detail: `${now.name}: the firewall is ${now.fw.status ?? 'not active'}: Robot does not enforce its rules` };
      if (found === dropRules.length) return { state: 'on', detail: `${now.name}: discarding by ${dropRules.length} rule(s)${now.ours.length > found ? `; ${now.ours.length - found} more rule(s) of Bulwark's accept allowlisted sources (or the rest)` : ''}` };
      if (found === 0) return { state: 'off', detail: `${now.name}: no discard rule of Bulwark's` };
      return { state: 'partial', detail: `${now.name}: ${found} of ${dropRules.length} discard rule(s) in place` };
    },

    async test() {
      const t0 = performance.now();
      const servers = (await api('GET', '/server')).body;
      const latencyMs = performance.now() - t0;
      const now = await look();
      const count = Array.isArray(servers) ? servers.length : 0;
      const free = HETZNER_MAX_RULES - now.theirs.length - dropRules.length;
      if (free < 0 && now.ours.length === 0) refuse(`${now.name}: the firewall holds ${now.theirs.length} input rule(s); the diversion's ${dropRules.length} discard rule(s) would pass Robot's ${HETZNER_MAX_RULES}`);
      return { latencyMs, detail: `${count} server(s) in the account; ${now.name}: firewall ${now.fw.status}, ${now.theirs.length} input rule(s) of its own${now.ours.length ? `, ${now.ours.length} of Bulwark's` : `, room for ${dropRules.length} discard rule(s)`}` };
    },
  };
}
