// Cloudflare Magic Transit, on demand: the account's onboarded prefixes are advertised
// from Cloudflare's edge while the diversion runs, so traffic reaches the network through
// Cloudflare's scrubbing. Each configured prefix is found by its CIDR among the account's
// IP prefixes and their BGP prefixes, then switched with
// PATCH /accounts/{a}/addressing/prefixes/{p}/bgp/prefixes/{bp} {"on_demand": {"advertised": …}}.
// Bearer token; answers are the {success, errors, result} envelope.
// https://developers.cloudflare.com/api/resources/addressing/
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { cloudflareApi } from './cloudflare-api.js';
import { ProviderError, type ProviderSettings, type ScrubbingProvider } from './types.js';

export function createMagicTransitProvider(s: ProviderSettings<ScrubbingConfig<'cloudflare_magic_transit'>, ScrubbingCredentials<'cloudflare_magic_transit'>>): ScrubbingProvider {
  const account = `/accounts/${encodeURIComponent(s.config.account_id)}`;
  const call = cloudflareApi(s, s.credentials.api_token);

  /** The BGP prefix path of each configured CIDR (looked up once, then kept). */
  let paths: Map<string, string> | null = null;
  async function bgpPrefixPaths(): Promise<Map<string, string>> {
    if (paths) return paths;
    const found = new Map<string, string>();
    const prefixes = await call<Array<{ id: string; cidr: string }>>('GET', `${account}/addressing/prefixes`);
    for (const p of prefixes ?? []) {
      const bgp = await call<Array<{ id: string; cidr: string }>>('GET', `${account}/addressing/prefixes/${encodeURIComponent(p.id)}/bgp/prefixes`);
      for (const b of bgp ?? []) found.set(b.cidr, `${account}/addressing/prefixes/${encodeURIComponent(p.id)}/bgp/prefixes/${encodeURIComponent(b.id)}`);
    }
    const missing = s.config.prefixes.filter((cidr) => !found.has(cidr));
    if (missing.length > 0) throw new ProviderError(`Cloudflare account ${s.config.account_id} has no on-demand BGP prefix ${missing.join(', ')}`, false);
    paths = found;
    return found;
  }
  async function advertise(on: boolean) {
    const all = await bgpPrefixPaths();
    for (const cidr of s.config.prefixes) await call('PATCH', all.get(cidr)!, { on_demand: { advertised: on } });
  }

  return {
    enable: () => advertise(true),
    disable: () => advertise(false),
    async status() {
      const all = await bgpPrefixPaths();
      const states = await Promise.all(s.config.prefixes.map(async (cidr) => [cidr, (await call<{ on_demand?: { advertised?: boolean } }>('GET', all.get(cidr)!)).on_demand?.advertised === true] as const));
      const advertised = states.filter(([, on]) => on).map(([cidr]) => cidr);
      return {
        state: advertised.length === states.length ? 'on' : advertised.length === 0 ? 'off' : 'partial',
        detail: advertised.length === 0 ? 'no prefix advertised' : `advertised: ${advertised.join(', ')}${advertised.length < states.length ? ` (of ${states.length})` : ''}`,
      };
    },
    async test() {
      const t0 = performance.now();
      const token = await call<{ status?: string }>('GET', `${account}/tokens/verify`);
      const latencyMs = performance.now() - t0;
      await bgpPrefixPaths();
      return { latencyMs, detail: `token ${token?.status ?? 'verified'}; ${s.config.prefixes.length} on-demand prefix(es) found` };
    },
  };
}
