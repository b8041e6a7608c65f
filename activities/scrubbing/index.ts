// The provider implementation for a stored integration: its config read with the type's
// schema (domain/scrubbing/), its credentials opened from the seal.
import type { TargetPolicy } from '../../domain/http-targets.js';
import { defaultBaseUrl, isBuiltScrubbingType, SCRUBBING_CONFIGS, SCRUBBING_CREDENTIALS, type BuiltScrubbingType, type ScrubbingConfig, type ScrubbingCredentials } from '../../domain/scrubbing.js';
import type { ScrubbingRow } from '../../db/scrubbing.js';
import type { SecretBox } from '../../db/secrets.js';
import { createMagicTransitProvider } from './cloudflare-magic-transit.js';
import { createWafProvider } from './cloudflare-waf.js';
import { createDigitalOceanProvider } from './digitalocean.js';
import { createHetznerProvider } from './hetzner-mitigation.js';
import { createLinodeProvider } from './linode.js';
import { createOvhProvider } from './ovh-mitigation.js';
import { ProviderError, type ProviderSettings, type ScrubbingProvider } from './types.js';
import { createVultrProvider } from './vultr.js';

export const PROVIDER_TIMEOUT_MS = 10_000;

const FACTORIES: { [T in BuiltScrubbingType]: (s: ProviderSettings<ScrubbingConfig<T>, ScrubbingCredentials<T>>) => ScrubbingProvider } = {
  cloudflare_magic_transit: createMagicTransitProvider,
  ovh_mitigation: createOvhProvider,
  cloudflare_waf: createWafProvider,
  digitalocean: createDigitalOceanProvider,
  vultr: createVultrProvider,
  linode: createLinodeProvider,
  hetzner_mitigation: createHetznerProvider,
};

export function providerFor(row: ScrubbingRow, secrets: SecretBox, targets: TargetPolicy): ScrubbingProvider {
  if (!isBuiltScrubbingType(row.type)) throw new ProviderError(`scrubbing type ${row.type} is not implemented yet`, false);
  return build(row.type, row, secrets, targets);
}

function build<T extends BuiltScrubbingType>(type: T, row: ScrubbingRow, secrets: SecretBox, targets: TargetPolicy): ScrubbingProvider {
  return FACTORIES[type]({
    baseUrl: row.baseUrl ?? defaultBaseUrl(type),
    timeoutMs: PROVIDER_TIMEOUT_MS,
    targets,
    tag: `bulwark-${row.id}`,
    config: SCRUBBING_CONFIGS[type].parse(row.config) as ScrubbingConfig<T>,
    credentials: SCRUBBING_CREDENTIALS[type].parse(JSON.parse(secrets.open(row.credentialsEnc))) as ScrubbingCredentials<T>,
  });
}
