// DigitalOcean has no DDoS or mitigation API. What it offers is Cloud Firewalls: allow-lists,
// unioned over all the firewalls of a droplet, so attaching a "lockdown" firewall would
// restrict nothing. The diversion therefore closes: while it runs, the configured inbound
// allow rules (`close`) are taken out of the firewall, each replaced by the same rule narrowed
// to the workspace's allowlisted sources within it (added first, so those never lose access).
// Withdrawing adds the configured rules back as the config writes them, then removes the
// narrowed ones. The user's other rules are never touched.
//
// DigitalOcean rules carry no name or note, so what Bulwark has closed is marked by an account
// tag named settings.tag (`bulwark-<id>`, attached to nothing), created before the first rule
// changes and deleted after the last is restored. With it, the narrowed rules are known to be
// Bulwark's, a repeated call knows where it stands, and test() passes mid-diversion; without
// it Bulwark has closed nothing, and disable() adds no rule the firewall may never have had.
//
// Matching: a firewall rule is a configured rule when the protocol, the ports (DigitalOcean
// reads back "0" for all ports and for ICMP; "all" and absent count alike) and the set of
// addresses (order-insensitive, as canonical CIDRs: "203.0.113.5" = "203.0.113.5/32") agree
// and it has no other sources (droplets, tags, load balancers, clusters: Bulwark could not put
// those back). A narrowed rule has a configured rule's protocol and ports and only addresses
// within that rule's. A firewall that already holds such a rule is refused (Bulwark could not
// tell it from its own).
//
// Endpoints (https://docs.digitalocean.com/reference/api/reference/firewalls/, .../tags/,
// .../account/): GET /account; GET /firewalls/{id} (`status` "waiting" and `pending_changes`
// while DigitalOcean applies a change); POST and DELETE /firewalls/{id}/rules
// {"inbound_rules": [...]} (204); GET, POST /tags, DELETE /tags/{name}. Limits
// (https://docs.digitalocean.com/products/networking/firewalls/details/limits/): 50 rules per
// firewall, inbound and outbound together; 1000 sources per rule.
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import type { FilterRule } from '../../domain/scrubbing/common.js';
import { formatPrefix, mustParsePrefix, parsePrefix, prefixContains, type Prefix } from '../../domain/prefix.js';
import { providerApi } from './provider-api.js';
import { ProviderError, type DiversionContext, type ProviderSettings, type ProviderStatus, type ScrubbingProvider } from './types.js';

const MAX_RULES = 50;
const MAX_SOURCES = 1000;
const ANYWHERE = ['0.0.0.0/0', '::/0'];

interface Sources {
  addresses?: string[];
  droplet_ids?: number[];
  load_balancer_uids?: string[];
  kubernetes_ids?: string[];
  tags?: string[];
}
/** A rule as DigitalOcean holds and takes it. */
interface DoRule {
  protocol: string;
  ports?: string;
  sources?: Sources;
  action?: string;
}
interface Firewall {
  id: string;
  name?: string;
  status?: string;
  inbound_rules?: DoRule[];
  outbound_rules?: unknown[];
  pending_changes?: unknown[];
}
/** What matching compares: protocol, ports ("all" for every port), addresses as a sorted set of canonical CIDRs. */
interface Shape {
  protocol: string;
  ports: string;
  addresses: string[];
}
interface Configured {
  rule: FilterRule;
  shape: Shape;
  key: string;
}

function portsOf(protocol: string, ports: string | undefined): string {
  if (protocol === 'icmp' || ports === undefined || ports === '' || ports === '0' || ports === 'all') return 'all';
  const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
  if (!m) return ports;
  return m[2] === undefined || Number(m[1]) === Number(m[2]) ? String(Number(m[1])) : `${Number(m[1])}-${Number(m[2])}`;
}
function canonical(address: string): string {
  const p = parsePrefix(address);
  return p.ok ? formatPrefix(p.prefix) : address.trim().toLowerCase();
}
const shapeOf = (protocol: string, ports: string | undefined, addresses: string[]): Shape => ({ protocol, ports: portsOf(protocol, ports), addresses: [...new Set(addresses.map(canonical))].sort() });
const keyOf = (s: Shape) => `${s.protocol} ${s.ports} ${s.addresses.join(',')}`;

/** A held rule's shape, or null when it is not a plain allow rule from addresses (never Bulwark's to close or add). */
function heldShape(r: DoRule): Shape | null {
  const src = r.sources ?? {};
  const others = [src.droplet_ids, src.load_balancer_uids, src.kubernetes_ids, src.tags].some((l) => (l?.length ?? 0) > 0);
  if (others || !src.addresses?.length || (r.action !== undefined && r.action !== 'allow')) return null;
  return shapeOf(r.protocol, r.ports, src.addresses);
}

/** For messages: "tcp 80 from anywhere". */
function describe(s: Shape): string {
  const from = s.addresses.join(' ') === ANYWHERE.join(' ') ? 'anywhere' : s.addresses.join(', ');
  return `${s.protocol}${s.protocol === 'icmp' ? '' : ` ${s.ports === 'all' ? 'all ports' : s.ports}`} from ${from}`;
}
function describeHeld(r: DoRule): string {
  const sh = heldShape(r);
  return sh ? describe(sh) : `${r.protocol} ${r.ports ?? ''} from ${JSON.stringify(r.sources ?? {})}`;
}

/** A rule as sent: ports "0" = all ports (DigitalOcean's own notation, also for ICMP). */
const toDo = (r: FilterRule, addresses: string[]): DoRule => ({ protocol: r.protocol, ports: r.ports ?? '0', sources: { addresses } });

/** The allowlisted part of `sources`: each allowlisted prefix inside a source, or the source where one allowlisted prefix covers it. */
function narrow(sources: string[], allowlisted: Prefix[]): string[] {
  const found: Prefix[] = [];
  for (const text of sources) {
    const s = mustParsePrefix(text);
    for (const a of allowlisted) {
      if (prefixContains(s, a)) found.push(a);
      else if (prefixContains(a, s)) found.push(s);
    }
  }
  // Without duplicates, nor prefixes another one covers.
  const kept = found.filter((p, i) => !found.some((q, j) => j !== i && prefixContains(q, p) && (!prefixContains(p, q) || j < i)));
  return kept.map(formatPrefix);
}

const refuse = (message: string): never => {
  throw new ProviderError(message, false);
};

export function createDigitalOceanProvider(s: ProviderSettings<ScrubbingConfig<'digitalocean'>, ScrubbingCredentials<'digitalocean'>>): ScrubbingProvider {
  const api = providerApi({
    name: 'DigitalOcean',
    ...s,
    headers: () => ({ authorization: `Bearer ${s.credentials.api_token}` }),
    errorText: (body) => [body.id, body.message].filter((t) => typeof t === 'string' && t).join(': ') || undefined,
  });
  const firewallPath = `/firewalls/${encodeURIComponent(s.config.firewall_id)}`;
  const tagPath = `/tags/${encodeURIComponent(s.tag)}`;
  const configured: Configured[] = s.config.close.map((rule) => {
    const shape = shapeOf(rule.protocol, rule.ports, rule.sources ?? ANYWHERE);
    return { rule, shape, key: keyOf(shape) };
  });
  const configuredKeys = new Set(configured.map((c) => c.key));
  const within = (inner: Shape, outer: Shape) =>
    inner.protocol === outer.protocol &&
    inner.ports === outer.ports &&
    inner.addresses.every((a) => {
      const p = parsePrefix(a);
      return p.ok && outer.addresses.some((o) => prefixContains(mustParsePrefix(o), p.prefix));
    });

  /** The firewall now: which configured rules are open or closed, and the narrowed rules it holds. */
  async function look() {
    const fw = (await api('GET', firewallPath)).body.firewall as Firewall | undefined;
    if (!fw) throw new ProviderError(`DigitalOcean answered no firewall for ${s.config.firewall_id}`);
    const held = (fw.inbound_rules ?? []).map((rule) => {
      const shape = heldShape(rule);
      return { rule, shape, key: shape ? keyOf(shape) : null };
    });
    const heldKeys = new Set(held.map((h) => h.key));
    return {
      fw,
      name: `firewall ${fw.name ? `"${fw.name}" ` : ''}(${s.config.firewall_id})`,
      heldKeys,
      /** The held rules that are configured ones (DigitalOcean's own wording, for DELETE). */
      openRules: held.filter((h) => h.key !== null && configuredKeys.has(h.key)).map((h) => h.rule),
      open: configured.filter((c) => heldKeys.has(c.key)),
      closed: configured.filter((c) => !heldKeys.has(c.key)),
      narrowed: held.filter((h) => h.shape && !configuredKeys.has(h.key!) && configured.some((c) => within(h.shape!, c.shape))).map((h) => h.rule),
    };
  }
  type Look = Awaited<ReturnType<typeof look>>;
  /** Whether Bulwark's tag marks a diversion in place. */
  const marked = async () => (await api('GET', tagPath, { accept: [404] })).status !== 404;

  /** Before Bulwark changes anything: every rule to close is there, and none of the user's looks like a narrowed one. */
  function checkUntouched(now: Look) {
    if (now.closed.length > 0) {
      const holds = (now.fw.inbound_rules ?? []).map(describeHeld).join('; ') || 'no inbound rule';
      refuse(`${now.name} has no inbound rule ${now.closed.map((c) => describe(c.shape)).join(', ')} (it holds: ${holds}); closing a rule that is not there would divert nothing`);
    }
    if (now.narrowed.length > 0) {
      refuse(
        `${now.name} holds ${now.narrowed.map(describeHeld).join(', ')}, narrower than a rule to close: Bulwark could not tell it from the narrowed rules it adds for allowlisted sources; allowlist those sources in Bulwark instead, or remove the rule`,
      );
    }
  }

  /** The narrowed rules a diversion adds, by key: each configured rule restricted to the allowlisted sources within it. */
  function narrowedRules(allowlisted: string[]): Map<string, DoRule> {
    const allow = allowlisted.map((t) => parsePrefix(t)).flatMap((p) => (p.ok ? [p.prefix] : []));
    const out = new Map<string, DoRule>();
    for (const c of configured) {
      const addresses = narrow(c.shape.addresses, allow);
      if (addresses.length === 0) continue;
      const shape = shapeOf(c.rule.protocol, c.rule.ports, addresses);
      if (configuredKeys.has(keyOf(shape))) {
        refuse(`the rule ${describe(c.shape)} narrowed to the allowlisted sources is ${describe(shape)}, itself a rule to close: closing it would change nothing for them; take it out of close`);
      }
      if (addresses.length > MAX_SOURCES) {
        refuse(`the rule ${describe(c.shape)} narrowed to the allowlisted sources needs ${addresses.length} sources; DigitalOcean allows ${MAX_SOURCES} per rule`);
      }
      out.set(keyOf(shape), toDo(c.rule, addresses));
    }
    return out;
  }

  return {
    async enable(context: DiversionContext) {
      const wanted = narrowedRules(context.allowlisted);
      const now = await look();
      const tagged = await marked();
      if (!tagged) checkUntouched(now);
      const add = [...wanted].filter(([key]) => !now.heldKeys.has(key)).map(([, rule]) => rule);
      // The narrowed rules go in before the configured ones come out: room for both, for a moment.
      const count = (now.fw.inbound_rules?.length ?? 0) + (now.fw.outbound_rules?.length ?? 0);
      if (count + add.length > MAX_RULES) {
        refuse(
          `${now.name} holds ${count} rules (inbound and outbound); keeping the allowlisted sources open means adding ${add.length} narrowed rule(s) before the ${now.openRules.length} to close come out, and DigitalOcean allows ${MAX_RULES} per firewall: free ${count + add.length - MAX_RULES}`,
        );
      }
      if (!tagged) await api('POST', '/tags', { json: { name: s.tag } });
      if (add.length > 0) await api('POST', `${firewallPath}/rules`, { json: { inbound_rules: add } });
      if (now.openRules.length > 0) await api('DELETE', `${firewallPath}/rules`, { json: { inbound_rules: now.openRules.map(({ protocol, ports, sources }) => ({ protocol, ports, sources })) } });
    },

    async disable() {
      const now = await look();
      if (!(await marked())) {
        if (now.closed.length === 0) return; // nothing of Bulwark's in place
        refuse(
          `${now.name} lacks ${now.closed.map((c) => describe(c.shape)).join(', ')}, but Bulwark's tag "${s.tag}" is gone, so Bulwark cannot know it removed them and will not add them; restore them in DigitalOcean's console if they belong there`,
        );
      }
      if (now.closed.length > 0) await api('POST', `${firewallPath}/rules`, { json: { inbound_rules: now.closed.map((c) => toDo(c.rule, c.rule.sources ?? ANYWHERE)) } });
      if (now.narrowed.length > 0) await api('DELETE', `${firewallPath}/rules`, { json: { inbound_rules: now.narrowed.map(({ protocol, ports, sources }) => ({ protocol, ports, sources })) } });
      await api('DELETE', tagPath, { accept: [404] });
    },

    async status(): Promise<ProviderStatus> {
      const now = await look();
      const tagged = await marked();
      const pending = now.fw.pending_changes?.length ?? 0;
      if (now.fw.status === 'waiting' || pending > 0) return { state: 'partial', detail: `DigitalOcean is still applying a change to ${now.name} (status ${now.fw.status ?? '?'}, ${pending} droplet(s) pending)` };
      if (now.fw.status === 'failed') return { state: 'partial', detail: `DigitalOcean failed to apply ${now.name}` };
      const list = (cs: Configured[]) => cs.map((c) => describe(c.shape)).join(', ');
      if (now.open.length === 0 && tagged) {
        const kept = now.narrowed.length > 0 ? `; open to allowlisted sources only: ${now.narrowed.map(describeHeld).join(', ')}` : '';
        return { state: 'on', detail: `${now.name}: closed ${list(now.closed)}${kept}` };
      }
      if (now.closed.length === 0 && !tagged) return { state: 'off', detail: `${now.name}: open ${list(now.open)}` };
      if (!tagged) return { state: 'partial', detail: `${now.name}: ${list(now.closed)} closed, but not by Bulwark (no tag "${s.tag}")` };
      return { state: 'partial', detail: `${now.name}: ${now.closed.length} of ${configured.length} rule(s) closed; open: ${list(now.open)} (tag "${s.tag}")` };
    },

    async test() {
      const t0 = performance.now();
      const account = (await api('GET', '/account')).body.account as { email?: string; uuid?: string } | undefined;
      const latencyMs = performance.now() - t0;
      const now = await look();
      const who = `account ${account?.email ?? account?.uuid ?? '?'}`;
      if (await marked()) return { latencyMs, detail: `${who}; ${now.name}: a diversion is in place (tag "${s.tag}"), ${now.closed.length} of ${configured.length} rule(s) closed` };
      checkUntouched(now);
      return { latencyMs, detail: `${who}; ${now.name}: the ${configured.length} rule(s) to close found` };
    },
  };
}
