// One interface for every cloud scrubbing provider: switch the diversion on and off, say
// whether it is on, and check credentials and reachability. Each method throws a
// ProviderError when the provider refused or could not be reached; enable and disable are
// idempotent (retries call them again).
import type { TargetPolicy } from '../../domain/http-targets.js';

export interface ProviderStatus {
  /** Whether the provider diverts (or protects) now: all of it, none, or part (some prefixes of several). */
  state: 'on' | 'off' | 'partial';
  /** What the provider said, for a person. */
  detail: string;
}

export interface ScrubbingProvider {
  enable(): Promise<void>;
  disable(): Promise<void>;
  status(): Promise<ProviderStatus>;
  test(): Promise<{ latencyMs: number; detail: string }>;
}

/** `retryable: false`: trying again cannot help (bad credentials, a refused request): never retry those. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean = true,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface ProviderSettings<Config, Credentials> {
  baseUrl: string;
  config: Config;
  credentials: Credentials;
  timeoutMs: number;
  targets: TargetPolicy;
}
