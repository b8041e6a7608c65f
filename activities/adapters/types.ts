import type { AdapterConfig } from '../../domain/adapter-types.js';
import type { TargetPolicy } from '../../domain/http-targets.js';
import type { MitigationIntent } from '../../domain/intent.js';

/** The result of an adapter connectivity/auth check. */
export interface AdapterTestResult {
  latencyMs: number;
  /** What was checked, for a person: "bridge answered, ExaBGP process alive". */
  detail: string;
}

/**
 * One interface for every mitigation back end. Every method throws an
 * AdapterError when the back end refused or could not be reached.
 * announce/withdraw must be idempotent: retries call them again.
 */
export interface MitigationAdapter {
  announce(intent: MitigationIntent): Promise<void>;
  withdraw(intent: MitigationIntent): Promise<void>;
  test(): Promise<AdapterTestResult>;
  /** What the back end currently announces, where it can tell (for the reconciler). */
  list?(): Promise<MitigationIntent[]>;
  /** Release connections. */
  close(): Promise<void>;
}

/**
 * A failure reported by a back end. `retryable: false` means trying again cannot help
 * (the back end rejected the intent itself, e.g. a syntax error or bad credentials).
 */
export class AdapterError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean = true,
  ) {
    super(message);
    this.name = 'AdapterError';
  }
}

/**
 * The back end refused the adapter's credentials: never tried again with the same ones (a
 * BIG-IP or DefensePro locks an account after a few failed logins).
 */
export class CredentialsRefused extends AdapterError {
  constructor(message: string) {
    super(message, false);
  }
}

/** What an adapter row gives its implementation (secrets already decrypted). */
export interface AdapterSettings {
  /** host:port or URL, as stored. */
  endpoint: string;
  authToken: string | null;
  /** Per-call timeout. */
  timeoutMs: number;
  /** Where HTTP integrations may connect (the deployment's setting). */
  targets: TargetPolicy;
  /** The adapter's stored settings (a bridge's `tls_ca`, ...). */
  config?: AdapterConfig;
}
