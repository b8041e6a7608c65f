// Builds the adapter implementation for a stored adapter row, and reuses it while the
// row is unchanged (gRPC channels and HTTP keep-alive are worth keeping warm).
import type { AdapterType } from '../../db/schema.js';
import { createExabgpAdapter } from './exabgp.js';
import { createGobgpAdapter } from './gobgp.js';
import { AdapterError, type AdapterSettings, type MitigationAdapter } from './types.js';
import { createWebhookAdapter } from './webhook.js';

export const DEFAULT_ADAPTER_TIMEOUT_MS = 5000;

const FACTORIES: Partial<Record<AdapterType, (s: AdapterSettings) => MitigationAdapter>> = {
  exabgp: createExabgpAdapter,
  gobgp: createGobgpAdapter,
  webhook: createWebhookAdapter,
};

export function isImplemented(type: AdapterType): boolean {
  return type in FACTORIES;
}

export function notImplementedMessage(type: AdapterType): string {
  return `the ${type} adapter is stored but not implemented yet; use exabgp, gobgp or webhook`;
}

export interface AdapterRow {
  id: number;
  adapterType: AdapterType;
  endpoint: string;
  config: { timeout_ms?: number };
  updatedAt: Date;
}

export class AdapterRegistry {
  private readonly cache = new Map<number, { version: number; adapter: MitigationAdapter }>();

  /** `authToken` is the decrypted secret (only decrypted when the cache misses). */
  get(row: AdapterRow, authToken: () => string | null): MitigationAdapter {
    const factory = FACTORIES[row.adapterType];
    if (!factory) throw new AdapterError(notImplementedMessage(row.adapterType), false);
    const version = row.updatedAt.getTime();
    const hit = this.cache.get(row.id);
    if (hit && hit.version === version) return hit.adapter;
    if (hit) void hit.adapter.close();
    const adapter = factory({
      endpoint: row.endpoint,
      authToken: authToken(),
      timeoutMs: row.config.timeout_ms ?? DEFAULT_ADAPTER_TIMEOUT_MS,
    });
    this.cache.set(row.id, { version, adapter });
    return adapter;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.cache.values()].map((e) => e.adapter.close()));
    this.cache.clear();
  }
}
