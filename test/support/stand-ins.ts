// A local stand-in for every built scrubbing provider type, for suites and benchmarks that run
// them all through the same diversion cycle.
import { startAwsShieldApi } from './aws-shield-api.js';
import { startCloudflareApi } from './cloudflare-api.js';
import { startCloudflareWafApi } from './cloudflare-waf-api.js';
import { startDigitalOceanApi } from './digitalocean-api.js';
import { startHetznerApi } from './hetzner-api.js';
import { startLinodeApi } from './linode-api.js';
import { startOvhApi } from './ovh-api.js';
import type { ProviderStandIn } from './provider-stand-in.js';
import { startVultrApi } from './vultr-api.js';

export async function startAllStandIns(): Promise<ProviderStandIn[]> {
  return Promise.all<ProviderStandIn>([startCloudflareApi(), startOvhApi(), startCloudflareWafApi(), startDigitalOceanApi(), startVultrApi(), startLinodeApi(), startHetznerApi(), startAwsShieldApi()]);
}
