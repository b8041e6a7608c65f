// Linode (Akamai): no DDoS API; the Cloud Firewall's inbound rules, with the configured
// drop rules placed before the user's while the diversion runs (read, add, write back).
// Bearer token.
import { z } from 'zod';
import { BearerToken, FilterRules, Prefixes, type FilterRule } from './common.js';

export const defaultBaseUrl = 'https://api.linode.com/v4';

/** Linode allows 25 rules per firewall, inbound and outbound together. */
export const LINODE_MAX_RULES = 25;
/** How many Linode rules a configured rule makes: "any" is one each for TCP, UDP and ICMP. */
export const linodeRuleCount = (r: FilterRule) => (r.protocol === 'any' ? 3 : 1);

export const config = z.strictObject({
  /** The Linodes' addresses the firewall guards. */
  prefixes: Prefixes,
  firewall_id: z.number().int('must be the firewall id').positive('must be the firewall id'),
  /** Dropped while the diversion runs; Linode allows 25 rules per firewall, the user's and the allowlist's included. */
  rules: FilterRules(LINODE_MAX_RULES).superRefine((rules, ctx) => {
    const made = rules.reduce((n, r) => n + linodeRuleCount(r), 0);
    if (made > LINODE_MAX_RULES) {
      ctx.addIssue({ code: 'custom', message: `make ${made} Linode rules (protocol "any" makes three: TCP, UDP and ICMP); a Linode firewall holds at most ${LINODE_MAX_RULES}, its own rules included` });
    }
  }),
});
/** A personal access token with Firewalls read/write (and the profile readable, for the credential test). */
export const credentials = z.strictObject({ api_token: BearerToken('API token') });
