// Webhook adapter: POSTs each announce/withdraw as a JSON event to the endpoint, signed
// with HMAC-SHA256 of the raw body so the receiver can tell it came from us.
import { createHmac } from 'node:crypto';
import type { MitigationIntent } from '../../domain/intent.js';
import { AdapterError, type AdapterSettings, type MitigationAdapter } from './types.js';

export const SIGNATURE_HEADER = 'X-Bulwark-Signature';

export interface WebhookEvent {
  event: 'announce' | 'withdraw' | 'test';
  intent?: MitigationIntent;
  sent_at: string;
}

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createWebhookAdapter(settings: AdapterSettings): MitigationAdapter {
  async function send(event: WebhookEvent): Promise<number> {
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'bulwark-webhook/1' };
    if (settings.authToken) headers[SIGNATURE_HEADER] = signBody(body, settings.authToken);
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(settings.endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(settings.timeoutMs) });
    } catch (err) {
      throw new AdapterError(`webhook ${settings.endpoint} unreachable: ${(err as Error).cause ?? (err as Error).message}`);
    }
    await res.body?.cancel();
    // Every non-2xx is retried: the receiver may be restarting or mid-deploy.
    if (!res.ok) throw new AdapterError(`webhook ${settings.endpoint} answered HTTP ${res.status}`);
    return performance.now() - started;
  }
  return {
    announce: async (intent) => void (await send({ event: 'announce', intent, sent_at: new Date().toISOString() })),
    withdraw: async (intent) => void (await send({ event: 'withdraw', intent, sent_at: new Date().toISOString() })),
    async test() {
      const latencyMs = await send({ event: 'test', sent_at: new Date().toISOString() });
      return { latencyMs, detail: `${settings.endpoint} accepted a signed test event` };
    },
    close: async () => {},
  };
}
