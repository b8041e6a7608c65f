// Cloudflare Magic Transit, on demand: the account's onboarded prefixes are advertised
// from Cloudflare's edge while the diversion runs, so traffic reaches the network through
// Cloudflare's scrubbing. Each configured prefix is found by its CIDR among the account's
// IP prefixes and their BGP prefixes, then switched with
// PATCH /accounts/{a}/addressing/prefixes/{p}/bgp/prefixes/{bp} {"on_demand": {"advertised": …}}.
// Bearer token; answers are the {success, errors, result} envelope.
// https://developers.cloudflare.com/api/resources/addressing/
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { httpCall, TargetRefused } from '../http-client.js';
import { ProviderError, type ProviderSettings, type ScrubbingProvider } from './types.js';

interface Envelope<T> {
  success?: boolean;
  errors?: Array<{ code?: number; message?: string }>;
  result?: T;
}

export function createMagicTransitProvider(s: ProviderSettings<ScrubbingConfig<'cloudflare_magic_transit'>, ScrubbingCredentials<'cloudflare_magic_transit'>>): ScrubbingProvider {
  const base = s.baseUrl.replace(/\/+$/, '');
  const account = `/accounts/${encodeURIComponent(s.config.account_id)}`;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let answer;
    try {
      answer = await httpCall(method, base + path, body === undefined ? undefined : JSON.stringify(body), { authorization: `Bearer ${s.credentials.api_token}`, 'content-type': 'application/json' }, s.timeoutMs, s.targets);
    } catch (err) {
      if (err instanceof TargetRefused || (err as { code?: string }).code === 'ETARGETREFUSED') throw new ProviderError(`Cloudflare API refused: ${(err as Error).message}`, false);
      throw new ProviderError(`Cloudflare API unreachable: ${(err as Error).message}`);
    }
    let parsed: Envelope<T> = {};
    try {
      parsed = answer.body ? JSON.parse(answer.body) : {};
    } catch {
      // A proxy's error page: judged by the status below.
    }
    if (answer.status >= 200 && answer.status < 300 && parsed.success !== false) return parsed.result as T;
    const errors = (parsed.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ');
    const what = `Cloudflare ${method} ${path}: HTTP ${answer.status}${errors ? ` (${errors})` : ''}`;
    if (answer.status === 429 || answer.status >= 500) throw new ProviderError(what);
    throw new ProviderError(what, false);
  }

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
