// The provider implementation for a stored integration: its config read with the type's
// schema (domain/scrubbing.ts), its credentials opened from the seal.
import type { TargetPolicy } from '../../domain/http-targets.js';
import { DEFAULT_BASE_URLS, isBuiltScrubbingType, SCRUBBING_CONFIGS, SCRUBBING_CREDENTIALS } from '../../domain/scrubbing.js';
import type { ScrubbingRow } from '../../db/scrubbing.js';
import type { SecretBox } from '../../db/secrets.js';
import { ProviderError, type ScrubbingProvider } from './types.js';
import { createMagicTransitProvider } from './cloudflare-magic-transit.js';
import { createVultrProvider } from './vultr.js';

export const PROVIDER_TIMEOUT_MS = 10_000;

export function providerFor(row: ScrubbingRow, secrets: SecretBox, targets: TargetPolicy): ScrubbingProvider {
  const type = row.type;
  if (!isBuiltScrubbingType(type)) throw new ProviderError(`scrubbing type ${type} is not implemented yet`, false);
  const settings = { baseUrl: row.baseUrl ?? DEFAULT_BASE_URLS[type], timeoutMs: PROVIDER_TIMEOUT_MS, targets };
  switch (type) {
    case 'vultr':
      return createVultrProvider({
        ...settings,
        config: SCRUBBING_CONFIGS.vultr.parse(row.config),
        credentials: SCRUBBING_CREDENTIALS.vultr.parse(JSON.parse(secrets.open(row.credentialsEnc))),
      });
    case 'cloudflare_magic_transit':
      return createMagicTransitProvider({
        ...settings,
        config: SCRUBBING_CONFIGS.cloudflare_magic_transit.parse(row.config),
        credentials: SCRUBBING_CREDENTIALS.cloudflare_magic_transit.parse(JSON.parse(secrets.open(row.credentialsEnc))),
      });
  }
}
