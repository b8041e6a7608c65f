// The provider implementation for a stored integration: its config read with the type's
// schema (domain/scrubbing/), its credentials opened from the seal.
import type { TargetPolicy } from '../../domain/http-targets.js';
import { defaultBaseUrl, SCRUBBING_CONFIGS, SCRUBBING_CREDENTIALS, type ScrubbingConfig, type ScrubbingCredentials, type ScrubbingType } from '../../domain/scrubbing.js';
import type { ScrubbingRow } from '../../db/scrubbing.js';
import type { SecretBox } from '../../db/secrets.js';
import { createMagicTransitProvider } from './cloudflare-magic-transit.js';
import { createWafProvider } from './cloudflare-waf.js';
import { createShieldProvider } from './aws-shield.js';
import { createDigitalOceanProvider } from './digitalocean.js';
import { createHetznerProvider } from './hetzner-mitigation.js';
import { createLinodeProvider } from './linode.js';
import { createOvhProvider } from './ovh-mitigation.js';
import type { ProviderSettings, ScrubbingProvider } from './types.js';
import { createVultrProvider } from './vultr.js';

export const PROVIDER_TIMEOUT_MS = 10_000;

const FACTORIES: { [T in ScrubbingType]: (s: ProviderSettings<ScrubbingConfig<T>, ScrubbingCredentials<T>>) => ScrubbingProvider } = {
  cloudflare_magic_transit: createMagicTransitProvider,
  ovh_mitigation: createOvhProvider,
  cloudflare_waf: createWafProvider,
  digitalocean: createDigitalOceanProvider,
  vultr: createVultrProvider,
  linode: createLinodeProvider,
  hetzner_mitigation: createHetznerProvider,
  aws_shield: createShieldProvider,
};

export function providerFor(row: ScrubbingRow, secrets: SecretBox, targets: TargetPolicy): ScrubbingProvider {
  return build(row.type, row, secrets, targets);
}

function build<T extends ScrubbingType>(type: T, row: ScrubbingRow, secrets: SecretBox, targets: TargetPolicy): ScrubbingProvider {
  return FACTORIES[type]({
    baseUrl: row.baseUrl ?? defaultBaseUrl(type),
    timeoutMs: PROVIDER_TIMEOUT_MS,
    targets,
    tag: `bulwark-${row.id}`,
    config: SCRUBBING_CONFIGS[type].parse(row.config) as ScrubbingConfig<T>,
    credentials: SCRUBBING_CREDENTIALS[type].parse(JSON.parse(secrets.open(row.credentialsEnc))) as ScrubbingCredentials<T>,
  });
}
