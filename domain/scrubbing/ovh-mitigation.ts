// OVHcloud: permanent mitigation reached end of life in September 2025; what OVH offers
// today is the Edge Network Firewall in front of each IPv4 address, which the diversion
// enables with the configured deny rules (the allowlist permitted first). Requests are
// signed with the application secret and consumer key (X-Ovh-Signature). Pure.
import { z } from 'zod';
import { parsePrefix, prefixContains, type Prefix } from '../prefix.js';
import { CidrOrIp } from '../wire.js';
import { FilterRules, Prefixes } from './common.js';

/** Rules the Edge Network Firewall holds per address (sequences 0-19), Bulwark's and the user's together. */
export const OVH_RULES_PER_ADDRESS = 20;

export const defaultBaseUrl = 'https://eu.api.ovh.com/1.0';

const parsed = (text: string): Prefix | null => {
  const r = parsePrefix(text);
  return r.ok ? r.prefix : null;
};
const isIPv4 = (text: string) => parsed(text)?.family === 4;

/** OVH rules one configured rule becomes: one per source (an OVH rule has a single source). */
export const ovhRuleCount = (rules: ReadonlyArray<{ sources?: readonly string[] }>): number => rules.reduce((n, r) => n + (r.sources?.length ?? 1), 0);

export const config = z
  .strictObject({
    /** Single IPv4 addresses (the Edge Network Firewall works per address), each within `ip_block`. */
    prefixes: Prefixes.refine((list) => list.every((p) => parsed(p)?.family === 4 && parsed(p)?.length === 32), 'must be single IPv4 addresses ("203.0.113.10" or "203.0.113.10/32"): the Edge Network Firewall works per IPv4 address'),
    /** The IP block the addresses belong to, as OVH lists it ("203.0.113.0/24"). */
    ip_block: CidrOrIp.refine(isIPv4, 'must be the IPv4 block the addresses belong to, as OVH lists it ("203.0.113.0/24")'),
    /** Denied while the diversion runs; OVH holds 20 rules per address, the allowlist's permits and the user's own included. */
    rules: FilterRules(19)
      .refine((rules) => rules.every((r) => (r.sources ?? []).every(isIPv4)), 'sources must be IPv4: the Edge Network Firewall filters IPv4 only')
      .superRefine((rules, ctx) => {
        const n = ovhRuleCount(rules);
        if (n > OVH_RULES_PER_ADDRESS) ctx.addIssue({ code: 'custom', message: `become ${n} OVH rules (one per source); OVH holds ${OVH_RULES_PER_ADDRESS} per address` });
      }),
  })
  .superRefine((c, ctx) => {
    const block = parsed(c.ip_block);
    if (!block) return;
    c.prefixes.forEach((p, i) => {
      const address = parsed(p);
      if (address && !prefixContains(block, address)) ctx.addIssue({ code: 'custom', path: ['prefixes', i], message: `${p} is not within ip_block ${c.ip_block}` });
    });
  });

export const credentials = z.strictObject({
  application_key: z.string().min(8, 'must be the application key').max(64),
  application_secret: z.string().min(8, 'must be the application secret').max(64),
  consumer_key: z.string().min(8, 'must be the consumer key').max(64),
});
