// Firewall rule sets the agent applies on its host: typed, validated data, never shell
// strings. Shared by the control plane (commands, attack profiles) and the agent.
import type { NumRange } from './intent.js';
import { formatPrefix, parsePrefix } from './prefix.js';

export const FIREWALL_SUITES = ['nftables', 'iptables'] as const;
export type FirewallSuite = (typeof FIREWALL_SUITES)[number];

export interface FirewallRule {
  action: 'drop' | 'accept' | 'rate_limit';
  protocol?: 'tcp' | 'udp' | 'icmp';
  /** Source prefix (IPv4 or IPv6); absent (and no `sources`): any source, both families. */
  source?: string;
  /** Many source prefixes in one rule (a country's, for geo lockdown); exclusive with `source`. */
  sources?: string[];
  sourcePorts?: NumRange[];
  destinationPorts?: NumRange[];
  /** rate_limit: packets per second let through; the rest are dropped. */
  ratePps?: number;
}

export interface FirewallRuleSet {
  /** Lower-case letters, digits and _, 1-24 characters: it becomes a chain name. */
  name: string;
  rules: FirewallRule[];
}

const NAME = /^[a-z0-9_]{1,24}$/;
const MAX_RULES = 500;
/** Enough for the largest country's IPv4 and IPv6 prefixes together. */
export const MAX_SOURCES = 250_000;

/** The rule set in canonical form (sources as canonical prefixes), or why it is invalid. */
export function validateRuleSet(set: FirewallRuleSet): { ok: true; set: FirewallRuleSet } | { ok: false; reason: string } {
  if (!NAME.test(set.name)) return { ok: false, reason: `name "${set.name}" must be 1-24 lower-case letters, digits or _` };
  if (!Array.isArray(set.rules) || set.rules.length > MAX_RULES) return { ok: false, reason: `rules must be a list of at most ${MAX_RULES}` };
  const rules: FirewallRule[] = [];
  for (const [i, r] of set.rules.entries()) {
    const at = `rules[${i}]`;
    if (!['drop', 'accept', 'rate_limit'].includes(r.action)) return { ok: false, reason: `${at}.action must be drop, accept or rate_limit` };
    if (r.protocol !== undefined && !['tcp', 'udp', 'icmp'].includes(r.protocol)) return { ok: false, reason: `${at}.protocol must be tcp, udp or icmp` };
    const ports = [...(r.sourcePorts ?? []), ...(r.destinationPorts ?? [])];
    if (ports.length > 0 && r.protocol !== 'tcp' && r.protocol !== 'udp') return { ok: false, reason: `${at}: ports need protocol tcp or udp` };
    for (const p of ports) {
      if (!Number.isInteger(p.from) || !Number.isInteger(p.to) || p.from < 0 || p.to > 65535 || p.from > p.to) {
        return { ok: false, reason: `${at}: port range ${p.from}-${p.to} must lie within 0-65535, low end first` };
      }
    }
    if (r.action === 'rate_limit' && !(Number.isInteger(r.ratePps) && r.ratePps! > 0 && r.ratePps! <= 10_000_000)) {
      return { ok: false, reason: `${at}.ratePps must be a whole number 1-10000000 for rate_limit` };
    }
    if (r.action !== 'rate_limit' && r.ratePps !== undefined) return { ok: false, reason: `${at}.ratePps applies only to rate_limit` };
    let source: string | undefined;
    if (r.source !== undefined) {
      const p = parsePrefix(r.source);
      if (!p.ok) return { ok: false, reason: `${at}.source: ${p.reason}` };
      source = formatPrefix(p.prefix);
    }
    let sources: string[] | undefined;
    if (r.sources !== undefined) {
      if (source !== undefined) return { ok: false, reason: `${at}: give source or sources, not both` };
      // iptables would give each source its own limit, nftables one for all: not one meaning.
      if (r.action === 'rate_limit') return { ok: false, reason: `${at}: rate_limit takes one source, not a list` };
      if (!Array.isArray(r.sources) || r.sources.length === 0 || r.sources.length > MAX_SOURCES) {
        return { ok: false, reason: `${at}.sources must list 1-${MAX_SOURCES} prefixes` };
      }
      sources = [];
      for (const [j, text] of r.sources.entries()) {
        const p = parsePrefix(text);
        if (!p.ok) return { ok: false, reason: `${at}.sources[${j}]: ${p.reason}` };
        sources.push(formatPrefix(p.prefix));
      }
    }
    rules.push({ ...r, ...(source ? { source } : {}), ...(sources ? { sources } : {}) });
  }
  return { ok: true, set: { name: set.name, rules } };
}
