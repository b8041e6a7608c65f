// Cloud scrubbing integrations: the eight provider types the API reference names, each
// type's config and credentials (domain/scrubbing/<type>.ts), and a diversion's lifecycle. Pure.
import { z } from 'zod';
import { formatPrefix, mustParsePrefix, prefixesOverlap } from './prefix.js';
import type { AllowlistedPrefix } from './safety.js';
import * as awsShield from './scrubbing/aws-shield.js';
import * as magicTransit from './scrubbing/cloudflare-magic-transit.js';
import * as waf from './scrubbing/cloudflare-waf.js';
import * as digitalocean from './scrubbing/digitalocean.js';
import * as hetzner from './scrubbing/hetzner-mitigation.js';
import * as linode from './scrubbing/linode.js';
import * as ovh from './scrubbing/ovh-mitigation.js';
import * as vultr from './scrubbing/vultr.js';

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


/** Each type's definition: its config and credentials (one zod schema, used by the API to validate and by the provider to read) and its API's address. */
const DEFINITIONS = {
  cloudflare_magic_transit: magicTransit,
  ovh_mitigation: ovh,
  hetzner_mitigation: hetzner,
  cloudflare_waf: waf,
  digitalocean,
  vultr,
  aws_shield: awsShield,
  linode,
} satisfies Record<ScrubbingType, { config: z.ZodType; credentials: z.ZodType; defaultBaseUrl: string }>;
type Definitions = typeof DEFINITIONS;

export const SCRUBBING_CONFIGS = Object.fromEntries(SCRUBBING_TYPES.map((t) => [t, DEFINITIONS[t].config])) as { [T in ScrubbingType]: Definitions[T]['config'] };
export const SCRUBBING_CREDENTIALS = Object.fromEntries(SCRUBBING_TYPES.map((t) => [t, DEFINITIONS[t].credentials])) as { [T in ScrubbingType]: Definitions[T]['credentials'] };
export type ScrubbingConfig<T extends ScrubbingType> = z.infer<Definitions[T]['config']>;
export type ScrubbingCredentials<T extends ScrubbingType> = z.infer<Definitions[T]['credentials']>;

/** Each type's API, unless the integration's `base_url` says otherwise (tests, proxies, regions). */
export const defaultBaseUrl = (t: ScrubbingType): string => DEFINITIONS[t].defaultBaseUrl;

/**
 * Where an integration stands: `inactive` (traffic takes its normal path), `activating`
 * (asked the provider, waiting for it to confirm), `active` (the provider diverts),
 * `deactivating`, `failed` (the provider refused or kept failing; the reason says why).
 */
export const SCRUBBING_STATUSES = ['inactive', 'activating', 'active', 'deactivating', 'failed'] as const;
export type ScrubbingStatus = (typeof SCRUBBING_STATUSES)[number];

/**
 * Why a diversion is refused, or null: an allowlisted address is never diverted, nor
 * blocked (the allowlist is what no automated path may touch, scrubbing included).
 * Firewall-type providers accept allowlisted sources before their drops; the WAF's
 * blocked sources have no such guard, so they may not cover one.
 */
export function refuseDiversion(integration: { type: ScrubbingType; config: { prefixes: readonly string[] } }, allowlist: readonly AllowlistedPrefix[]): string | null {
  const covering = (texts: readonly string[], what: string) => {
    for (const text of texts) {
      const p = mustParsePrefix(text);
      const hit = allowlist.find((a) => prefixesOverlap(a.prefix, p));
      if (hit) return `its ${what} ${text} covers the allowlisted ${formatPrefix(hit.prefix)}${hit.label ? ` (${hit.label})` : ''}`;
    }
    return null;
  };
  const blocked = integration.type === 'cloudflare_waf' ? ((integration.config as { sources?: string[] }).sources ?? []) : [];
  return covering(integration.config.prefixes, 'prefix') ?? covering(blocked, 'blocked source');
}
