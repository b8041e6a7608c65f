// Linode (Akamai): no DDoS API; the Cloud Firewall's inbound rules, with the configured
// drop rules placed before the user's while the diversion runs (read, add, write back).
// Bearer token.
import { z } from 'zod';
import { BearerToken, FilterRules, Prefixes } from './common.js';

export const defaultBaseUrl = 'https://api.linode.com/v4';
export const config = z.strictObject({
  /** The Linodes' addresses the firewall guards. */
  prefixes: Prefixes,
  firewall_id: z.number().int('must be the firewall id').positive('must be the firewall id'),
  /** Dropped while the diversion runs; Linode allows 25 inbound rules, the user's and the allowlist's included. */
  rules: FilterRules(25),
});
/** A personal access token with Firewalls read/write. */
export const credentials = z.strictObject({ api_token: BearerToken('API token') });
