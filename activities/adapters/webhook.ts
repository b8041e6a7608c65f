// Webhook adapter: POSTs each announce/withdraw as a JSON event to the endpoint, signed
// with HMAC-SHA256 of the raw body so the receiver can tell it came from us.
import { createHmac } from 'node:crypto';
import type { MitigationIntent } from '../../domain/intent.js';
import { postJson, TargetRefused } from '../http-client.js';
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
    let status: number;
    try {
      ({ status } = await postJson(settings.endpoint, body, headers, settings.timeoutMs, settings.targets));
    } catch (err) {
      if (err instanceof TargetRefused || (err as { code?: string }).code === 'ETARGETREFUSED') throw new AdapterError(`webhook refused: ${(err as Error).message}`, false);
      throw new AdapterError(`webhook ${settings.endpoint} unreachable: ${(err as Error).message}`);
    }
    // Every non-2xx is retried: the receiver may be restarting or mid-deploy.
    if (status < 200 || status > 299) throw new AdapterError(`webhook ${settings.endpoint} answered HTTP ${status}`);
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
