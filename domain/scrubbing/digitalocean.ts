// DigitalOcean: no DDoS API; Cloud Firewalls are allow-lists, so the diversion closes the
// configured allow rules of a firewall (allowlisted sources stay allowed). Bearer token.
import { z } from 'zod';
import { BearerToken, FilterRules, Prefixes, type FilterRule } from './common.js';

export const defaultBaseUrl = 'https://api.digitalocean.com/v2';

/** Two configured rules are the same rule when protocol, ports and the set of sources agree. */
const ruleKey = (r: FilterRule) => `${r.protocol} ${r.ports ?? 'all'} ${[...(r.sources ?? [])].sort().join(',')}`;

export const config = z.strictObject({
  /** The droplets' addresses the firewall guards. */
  prefixes: Prefixes,
  firewall_id: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be the firewall id (a lowercase UUID)'),
  /**
   * The firewall's inbound allow rules closed while the diversion runs, as they stand in it:
   * sources absent = 0.0.0.0/0 and ::/0 (DigitalOcean's "All IPv4" and "All IPv6"), ports
   * absent = all ports.
   */
  close: FilterRules(50).superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((r, i) => {
      if (r.protocol === 'any') ctx.addIssue({ code: 'custom', path: [i, 'protocol'], message: 'DigitalOcean firewall rules are tcp, udp or icmp' });
      const key = ruleKey(r);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: 'names the same rule twice' });
      seen.add(key);
    });
  }),
});
/** A personal access token that may read the account, read and change firewalls, and create, read and delete tags. */
export const credentials = z.strictObject({ api_token: BearerToken('API token') });
