// Cloud scrubbing integrations: the eight provider types the API reference names, which of
// them are built, each built type's config and credentials (one zod definition, used by
// the API to validate and by the provider to read), and a diversion's lifecycle. Pure.
import { z } from 'zod';
import { formatPrefix, mustParsePrefix, prefixesOverlap } from './prefix.js';
import type { AllowlistedPrefix } from './safety.js';
import { CidrOrIp } from './wire.js';

export const SCRUBBING_TYPES = [
  'cloudflare_magic_transit',
  'ovh_mitigation',
  'hetzner_mitigation',
  'cloudflare_waf',
  'digitalocean',
  'vultr',
  'aws_shield',
  'linode',
] as const;
export type ScrubbingType = (typeof SCRUBBING_TYPES)[number];

/** The types with a provider implementation (activities/scrubbing/); the rest answer 501. */
export const BUILT_SCRUBBING_TYPES = ['vultr', 'cloudflare_magic_transit'] as const satisfies readonly ScrubbingType[];
export type BuiltScrubbingType = (typeof BUILT_SCRUBBING_TYPES)[number];

export const isBuiltScrubbingType = (t: ScrubbingType): t is BuiltScrubbingType => (BUILT_SCRUBBING_TYPES as readonly ScrubbingType[]).includes(t);

/** Each type's API, unless the integration's `base_url` says otherwise (tests, proxies). */
export const DEFAULT_BASE_URLS: Record<BuiltScrubbingType, string> = {
  vultr: 'https://api.vultr.com/v2',
  cloudflare_magic_transit: 'https://api.cloudflare.com/client/v4',
};

/**
 * Where an integration stands: `inactive` (traffic takes its normal path), `activating`
 * (asked the provider, waiting for it to confirm), `active` (the provider diverts),
 * `deactivating`, `failed` (the provider refused or kept failing; the reason says why).
 */
export const SCRUBBING_STATUSES = ['inactive', 'activating', 'active', 'deactivating', 'failed'] as const;
export type ScrubbingStatus = (typeof SCRUBBING_STATUSES)[number];

/** What every integration's config holds: the addresses its diversion covers (its rules' targets must lie within; none may be allowlisted). */
const Prefixes = z.array(CidrOrIp).min(1, 'must name at least one prefix the diversion covers').max(64, 'must hold at most 64 prefixes');

export const SCRUBBING_CONFIGS = {
  // The instance whose DDoS protection is switched on for the diversion.
  vultr: z.strictObject({ prefixes: Prefixes, instance_id: z.string().regex(/^[0-9a-f-]{36}$/, 'must be the instance id (a UUID)') }),
  // The account whose on-demand (BYOIP) prefixes are advertised; `prefixes` are those prefixes, as onboarded.
  cloudflare_magic_transit: z.strictObject({ prefixes: Prefixes, account_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be the account id (32 hex characters)') }),
} satisfies Record<BuiltScrubbingType, z.ZodType>;
export type ScrubbingConfig<T extends BuiltScrubbingType> = z.infer<(typeof SCRUBBING_CONFIGS)[T]>;

export const SCRUBBING_CREDENTIALS = {
  // A personal access token, sent as a Bearer token.
  vultr: z.strictObject({ api_key: z.string().min(8, 'must be the API key').max(200) }),
  // An API token with Magic Transit (IP prefixes) edit rights, sent as a Bearer token.
  cloudflare_magic_transit: z.strictObject({ api_token: z.string().min(20, 'must be the API token').max(200) }),
} satisfies Record<BuiltScrubbingType, z.ZodType>;
export type ScrubbingCredentials<T extends BuiltScrubbingType> = z.infer<(typeof SCRUBBING_CREDENTIALS)[T]>;

/**
 * Why a diversion of `prefixes` is refused, or null: an allowlisted address is never
 * diverted (the allowlist is what no automated path may touch, scrubbing included).
 */
export function refuseDiversion(prefixes: readonly string[], allowlist: readonly AllowlistedPrefix[]): string | null {
  for (const text of prefixes) {
    const p = mustParsePrefix(text);
    const hit = allowlist.find((a) => prefixesOverlap(a.prefix, p));
    if (hit) return `its prefix ${text} covers the allowlisted ${formatPrefix(hit.prefix)}${hit.label ? ` (${hit.label})` : ''}`;
  }
  return null;
}
