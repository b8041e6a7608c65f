// Adapter connectivity checks (POST /mitigation/adapters/{id}/test).
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { mitigationAdapters } from '../db/schema.js';
import type { SecretBox } from '../db/secrets.js';
import type { AdapterRegistry } from './adapters/index.js';
import type { AdapterTestOutcome } from '../workflows/adapter-test.contract.js';

export function createAdapterActivities({ db, secrets, adapters }: { db: Db; secrets: SecretBox; adapters: AdapterRegistry }) {
  return {
    async testAdapter(adapterId: number): Promise<AdapterTestOutcome> {
      const [row] = await db.select().from(mitigationAdapters).where(eq(mitigationAdapters.id, adapterId));
      if (!row) return { ok: false, latencyMs: 0, error: `adapter ${adapterId} does not exist` };
      const started = performance.now();
      try {
        const impl = adapters.get(row, () => (row.authTokenEnc ? secrets.open(row.authTokenEnc) : null));
        const result = await impl.test();
        return { ok: true, latencyMs: Math.round(result.latencyMs * 10) / 10, detail: result.detail };
      } catch (err) {
        return { ok: false, latencyMs: Math.round((performance.now() - started) * 10) / 10, error: (err as Error).message };
      }
    },
  };
}

export type AdapterActivities = ReturnType<typeof createAdapterActivities>;
