// Vultr: no diversion API; what Vultr offers is per-instance DDoS protection, switched with
// PATCH /instances/{id} {"ddos_protection": true|false} and seen in the instance's
// `features`. Bearer token auth. https://www.vultr.com/api/
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { providerApi } from './provider-api.js';
import type { ProviderSettings, ScrubbingProvider } from './types.js';

export function createVultrProvider(s: ProviderSettings<ScrubbingConfig<'vultr'>, ScrubbingCredentials<'vultr'>>): ScrubbingProvider {
  const api = providerApi({ name: 'Vultr', ...s, headers: () => ({ authorization: `Bearer ${s.credentials.api_key}` }), errorText: (body) => body.error });
  const call = async (method: string, path: string, json?: unknown) => (await api(method, path, { json })).body;
  const instance = `/instances/${encodeURIComponent(s.config.instance_id)}`;
  const set = (on: boolean) => call('PATCH', instance, { ddos_protection: on }).then(() => undefined);
  return {
    enable: () => set(true),
    disable: () => set(false),
    async status() {
      const body = await call('GET', instance);
      const features: unknown = body.instance?.features;
      const on = Array.isArray(features) && features.includes('ddos_protection');
      return { state: on ? 'on' : 'off', detail: `instance ${s.config.instance_id}: DDoS protection ${on ? 'on' : 'off'}` };
    },
    async test() {
      const t0 = performance.now();
      const body = await call('GET', '/account');
      const latencyMs = performance.now() - t0;
      await call('GET', instance);
      return { latencyMs, detail: `account ${body.account?.email ?? body.account?.name ?? '?'}; instance ${s.config.instance_id} found` };
    },
  };
}
