// Cloudflare WAF: IP access rules on a zone that Cloudflare proxies in front of `prefixes`.
// There is nothing to divert (traffic already passes Cloudflare); while the diversion runs
// the configured sources are blocked (or challenged) at Cloudflare's edge. Bearer token.
import { z } from 'zod';
import { formatPrefix, parsePrefix } from '../prefix.js';
import { CidrOrIp } from '../wire.js';
import { BearerToken, Prefixes } from './common.js';

export const defaultBaseUrl = 'https://api.cloudflare.com/client/v4';
export const WAF_MODES = ['block', 'challenge', 'managed_challenge', 'js_challenge'] as const;

/** The prefix lengths an IP access rule takes: single addresses, and the only ranges Cloudflare accepts. */
const ACCEPTED_LENGTHS = { 4: [32, 24, 16], 6: [128, 64, 48, 32] } as const;

/** A source Cloudflare can hold as one IP access rule (checked when the integration is saved, not at the next attack). */
const WafSource = CidrOrIp.superRefine((v, ctx) => {
  const r = parsePrefix(v);
  if (!r.ok) return; // CidrOrIp said why
  const lengths: readonly number[] = ACCEPTED_LENGTHS[r.prefix.family];
  if (!lengths.includes(r.prefix.length)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${v}": Cloudflare IP access rules take single addresses or ${r.prefix.family === 4 ? 'IPv4 ranges of /16 or /24' : 'IPv6 ranges of /32, /48 or /64'} only; split it or widen it`,
    });
  }
});

const normalized = (v: string) => {
  const r = parsePrefix(v);
  return r.ok ? formatPrefix(r.prefix) : v;
};

export const config = z.strictObject({
  /** The origin addresses the zone fronts. */
  prefixes: Prefixes,
  zone_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be the zone id (32 hex characters)'),
  /** What is blocked while the diversion runs: addresses, or ranges Cloudflare accepts (IPv4 /16 or /24, IPv6 /32, /48 or /64). */
  sources: z
    .array(WafSource)
    .min(1, 'must name at least one source to block')
    .max(64, 'must hold at most 64 sources')
    // One rule per address: Cloudflare refuses a second rule for the same one ("192.0.2.1" and "192.0.2.1/32" are one).
    .refine((vs) => new Set(vs.map(normalized)).size === vs.length, 'must not name the same source twice'),
  mode: z.enum(WAF_MODES).default('block'),
});
/** An API token with Zone WAF (firewall access rules) edit rights. */
export const credentials = z.strictObject({ api_token: BearerToken('API token') });
