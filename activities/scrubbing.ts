// The scrubbing family's side effects: the provider calls a diversion makes (through
// activities/scrubbing/), the integration row's status, and connectivity checks.
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from 'pino';
import { loadAllowlist } from '../db/allowlist.js';
import type { Db } from '../db/client.js';
import { loadScrubbing, setScrubbingStatus, type ScrubbingRow } from '../db/scrubbing.js';
import type { SecretBox } from '../db/secrets.js';
import type { TargetPolicy } from '../domain/http-targets.js';
import { formatPrefix } from '../domain/prefix.js';
import { refuseDiversion, type ScrubbingStatus } from '../domain/scrubbing.js';
import type { ScrubbingCheck } from '../workflows/scrubbing.contract.js';
import { providerFor } from './scrubbing/index.js';
import { ProviderError, type ProviderStatus, type ScrubbingProvider } from './scrubbing/types.js';

export function createScrubbingActivities({ db, secrets, targets, logger }: { db: Db; secrets: SecretBox; targets: TargetPolicy; logger: Logger }) {
  async function provider(id: number): Promise<{ row: ScrubbingRow; impl: ScrubbingProvider }> {
    const row = await loadScrubbing(db, id);
    if (!row) throw ApplicationFailure.nonRetryable(`scrubbing integration ${id} does not exist`, 'ProviderRejected');
    try {
      return { row, impl: providerFor(row, secrets, targets) };
    } catch (err) {
      // Not built, or a stored config or seal that does not read: no retry mends that.
      throw ApplicationFailure.nonRetryable(`scrubbing integration ${id}: ${(err as Error).message}`, 'ProviderRejected');
    }
  }
  /** A provider error as Temporal should treat it: a refusal is never retried (3 bad logins lock some providers' callers out). */
  async function calling<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ProviderError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'ProviderRejected');
      logger.warn({ err: (err as Error).message }, `scrubbing: ${what} failed; retrying`);
      throw err;
    }
  }

  return {
    /** Asks the provider to divert, after checking again that nothing allowlisted is covered. */
    async enableDiversion(id: number): Promise<void> {
      const { row, impl } = await provider(id);
      const allowlist = await loadAllowlist(db, row.workspaceId, 'network');
      const refused = refuseDiversion(row, allowlist);
      if (refused) throw ApplicationFailure.nonRetryable(`the diversion is refused: ${refused}`, 'ProviderRejected');
      await calling('enable', () => impl.enable({ allowlisted: allowlist.map((a) => formatPrefix(a.prefix)) }));
    },
    async disableDiversion(id: number): Promise<void> {
      const { impl } = await provider(id);
      await calling('disable', () => impl.disable());
    },
    async providerStatus(id: number): Promise<ProviderStatus> {
      const { impl } = await provider(id);
      return calling('status', () => impl.status());
    },
    async recordScrubbingStatus(id: number, status: ScrubbingStatus, reason: string | null, workflowId: string | null): Promise<void> {
      await setScrubbingStatus(db, id, status, reason, workflowId);
      logger.info({ integration: id, status, reason }, 'scrubbing status');
    },
    /** Credentials and reachability, and whether the provider diverts now. */
    async checkScrubbing(id: number): Promise<ScrubbingCheck> {
      const started = performance.now();
      const round = (ms: number) => Math.round(ms * 10) / 10;
      try {
        const { impl } = await provider(id);
        const tested = await impl.test();
        const status = await impl.status();
        return { reachable: true, latencyMs: round(tested.latencyMs), diverting: status.state === 'on', detail: `${tested.detail}; ${status.detail}` };
      } catch (err) {
        return { reachable: false, latencyMs: round(performance.now() - started), error: (err as Error).message };
      }
    },
  };
}

export type ScrubbingActivities = ReturnType<typeof createScrubbingActivities>;
