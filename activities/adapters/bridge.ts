// The adapter for every speaker Bulwark drives through a bridge beside it (ExaBGP, BIRD 2,
// FRR: agent/bin/*-bridge): one protocol (agent/bin/bridge-core.js), so one client. The
// bridge validates and renders each intent and answers once its speaker took it. An
// endpoint `https://host:port` is verified against the adapter's `tls_ca` (PEM) when one is
// given, against the system's CAs otherwise; verification is never turned off.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { MitigationIntent } from '../../domain/intent.js';
import { transportError } from './appliance.js';
import { AdapterError, CredentialsRefused, type AdapterSettings, type MitigationAdapter } from './types.js';

interface BridgeAnswer {
  ok: boolean;
  error?: { code: string; message: string };
  routes?: MitigationIntent[];
  announced?: number;
}

export type BridgedSpeaker = 'ExaBGP' | 'BIRD' | 'FRR';

export function createBridgeAdapter(speaker: BridgedSpeaker) {
  return (settings: AdapterSettings): MitigationAdapter => {
    const tls = settings.endpoint.startsWith('https://');
    const base = tls || settings.endpoint.startsWith('http://') ? settings.endpoint.replace(/\/+$/, '') : `http://${settings.endpoint}`;
    const ca = typeof settings.config?.tls_ca === 'string' ? settings.config.tls_ca : undefined;
    // Keep-alive: a rule's announce should not pay a TCP (and TLS) handshake.
    const agent = tls ? new HttpsAgent({ keepAlive: true, ca }) : new HttpAgent({ keepAlive: true });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (settings.authToken) headers.authorization = `Bearer ${settings.authToken}`;
    const where = `${speaker} bridge at ${settings.endpoint}`;

    function send(method: 'GET' | 'POST', path: string, body: string | undefined): Promise<{ status: number; text: string }> {
      return new Promise((resolve, reject) => {
        const req = (tls ? httpsRequest : httpRequest)(
          `${base}${path}`,
          { method, agent, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, signal: AbortSignal.timeout(settings.timeoutMs) },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    }

    async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<BridgeAnswer> {
      let res: { status: number; text: string };
      try {
        res = await send(method, path, body === undefined ? undefined : JSON.stringify(body));
      } catch (err) {
        throw transportError(where, err);
      }
      let answer: BridgeAnswer;
      try {
        answer = JSON.parse(res.text) as BridgeAnswer;
      } catch {
        answer = { ok: false };
      }
      if (res.status === 200 && answer.ok) return answer;
      const detail = answer.error?.message ?? `HTTP ${res.status}`;
      if (res.status === 401) throw new CredentialsRefused(`the ${speaker} bridge rejected the adapter token`);
      // 400: the bridge's validation refused the intent; 422: the speaker itself refused it.
      if (res.status === 400 || res.status === 422) throw new AdapterError(detail, false);
      throw new AdapterError(`${speaker} bridge: ${detail}`);
    }

    return {
      announce: async (intent) => void (await call('POST', '/announce', intent)),
      withdraw: async (intent) => void (await call('POST', '/withdraw', intent)),
      async test() {
        const t0 = performance.now();
        const health = await call('GET', '/health');
        return { latencyMs: performance.now() - t0, detail: `bridge up, ${speaker} answering, ${health.announced ?? 0} routes announced` };
      },
      list: async () => (await call('GET', '/routes')).routes ?? [],
      close: async () => agent.destroy(),
    };
  };
}
