// ExaBGP adapter: a client of agent/bin/exabgp-bridge, the API process ExaBGP runs. The
// bridge validates and renders each intent and answers once ExaBGP acknowledged it.
import type { MitigationIntent } from '../../domain/intent.js';
import { AdapterError, type AdapterSettings, type MitigationAdapter } from './types.js';

interface BridgeAnswer {
  ok: boolean;
  error?: { code: string; message: string };
  routes?: MitigationIntent[];
  announced?: number;
}

export function createExabgpAdapter(settings: AdapterSettings): MitigationAdapter {
  const base = `http://${settings.endpoint}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (settings.authToken) headers.authorization = `Bearer ${settings.authToken}`;

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<BridgeAnswer> {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      throw new AdapterError(`ExaBGP bridge at ${settings.endpoint} unreachable: ${cause}`);
    }
    const answer = (await res.json().catch(() => ({ ok: false }))) as BridgeAnswer;
    if (res.ok && answer.ok) return answer;
    const detail = answer.error?.message ?? `HTTP ${res.status}`;
    if (res.status === 401) throw new AdapterError('the ExaBGP bridge rejected the adapter token', false);
    // 400: the bridge's validation refused the intent; 422: ExaBGP itself refused it.
    if (res.status === 400 || res.status === 422) throw new AdapterError(detail, false);
    throw new AdapterError(`ExaBGP bridge: ${detail}`);
  }

  return {
    announce: async (intent) => void (await call('POST', '/announce', intent)),
    withdraw: async (intent) => void (await call('POST', '/withdraw', intent)),
    async test() {
      const t0 = performance.now();
      const health = await call('GET', '/health');
      return { latencyMs: performance.now() - t0, detail: `bridge up, ExaBGP attached, ${health.announced ?? 0} routes announced` };
    },
    list: async () => (await call('GET', '/routes')).routes ?? [],
    close: async () => {},
  };
}
