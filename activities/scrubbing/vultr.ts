// Vultr: no diversion API; what Vultr offers is per-instance DDoS protection, switched with
// PATCH /instances/{id} {"ddos_protection": true|false} and seen in the instance's
// `features`. Bearer token auth. https://www.vultr.com/api/
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { httpCall, TargetRefused } from '../http-client.js';
import { ProviderError, type ProviderSettings, type ScrubbingProvider } from './types.js';

export function createVultrProvider(s: ProviderSettings<ScrubbingConfig<'vultr'>, ScrubbingCredentials<'vultr'>>): ScrubbingProvider {
  const base = s.baseUrl.replace(/\/+$/, '');
  async function call(method: string, path: string, body?: unknown): Promise<any> {
    let answer;
    try {
      answer = await httpCall(method, base + path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${s.credentials.api_key}`, 'content-type': 'application/json', accept: 'application/json' }, s.timeoutMs, s.targets);
    } catch (err) {
      if (err instanceof TargetRefused || (err as { code?: string }).code === 'ETARGETREFUSED') throw new ProviderError(`Vultr API refused: ${(err as Error).message}`, false);
      throw new ProviderError(`Vultr API unreachable: ${(err as Error).message}`);
    }
    const parsed = (() => {
      try {
        return answer.body ? JSON.parse(answer.body) : {};
      } catch {
        return {};
      }
    })();
    if (answer.status >= 200 && answer.status < 300) return parsed;
    const what = `Vultr ${method} ${path}: HTTP ${answer.status}${parsed.error ? ` ${parsed.error}` : ''}`;
    // 401/403: the key is wrong or lacks rights; 400/404: the request or instance is wrong. Retrying cannot help.
    if (answer.status === 429 || answer.status >= 500) throw new ProviderError(what);
    throw new ProviderError(what, false);
  }
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
