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

/** What a diversion's start knows beyond the integration's config. */
export interface DiversionContext {
  /**
   * The workspace's allowlisted prefixes: a provider that drops traffic by rules accepts
   * these sources before any drop (and refuses, non-retryably, when its rule limit leaves
   * no room for them).
   */
  allowlisted: string[];
}

export interface ScrubbingProvider {
  enable(context: DiversionContext): Promise<void>;
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
  /**
   * Marks what the provider creates for this integration (rule labels, notes, protection
   * names: `bulwark-<integration id>`), so turning it off removes exactly that and never
   * the user's own rules.
   */
  tag: string;
}
