// Builds the adapter implementation for a stored adapter row, and reuses it while the
// row is unchanged (gRPC channels and HTTP keep-alive are worth keeping warm).
import type { AdapterConfig, AdapterType } from '../../domain/adapter-types.js';
import type { TargetPolicy } from '../../domain/http-targets.js';
import { createBridgeAdapter } from './bridge.js';
import { createCloudflareAdapter } from './cloudflare.js';
import { createF5Adapter } from './f5.js';
import { createRadwareAdapter } from './radware.js';
import { createGobgpAdapter } from './gobgp.js';
import type { AdapterSettings, MitigationAdapter } from './types.js';
import { createWebhookAdapter } from './webhook.js';

export const DEFAULT_ADAPTER_TIMEOUT_MS = 5000;

const FACTORIES: Record<AdapterType, (s: AdapterSettings) => MitigationAdapter> = {
  exabgp: createBridgeAdapter('ExaBGP'),
  bird2: createBridgeAdapter('BIRD'),
  frr: createBridgeAdapter('FRR'),
  f5: createF5Adapter,
  cloudflare: createCloudflareAdapter,
  radware: createRadwareAdapter,
  gobgp: createGobgpAdapter,
  webhook: createWebhookAdapter,
};

export interface AdapterRow {
  id: number;
  adapterType: AdapterType;
  endpoint: string;
  config: AdapterConfig;
  updatedAt: Date;
}

export class AdapterRegistry {
  private readonly cache = new Map<number, { version: number; adapter: MitigationAdapter }>();

  constructor(private readonly targets: TargetPolicy) {}

  /** `authToken` is the decrypted secret (only decrypted when the cache misses). */
  get(row: AdapterRow, authToken: () => string | null): MitigationAdapter {
    const factory = FACTORIES[row.adapterType];
    const version = row.updatedAt.getTime();
    const hit = this.cache.get(row.id);
    if (hit && hit.version === version) return hit.adapter;
    if (hit) void hit.adapter.close();
    const adapter = factory({
      endpoint: row.endpoint,
      authToken: authToken(),
      timeoutMs: row.config.timeout_ms ?? DEFAULT_ADAPTER_TIMEOUT_MS,
      config: row.config,
      targets: this.targets,
    });
    this.cache.set(row.id, { version, adapter });
    return adapter;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.cache.values()].map((e) => e.adapter.close()));
    this.cache.clear();
  }
}
