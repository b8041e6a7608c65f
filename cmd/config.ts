// Configuration from the environment, with defaults that make `npm start` work on a
// fresh clone.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { TargetPolicy } from '../domain/http-targets.js';
import { parseBindAddress } from '../metrics/endpoint.js';
import { DEFAULT_TEMPORAL_UI } from '../api/views/runbooks.js';

export interface Config {
  port: number;
  /** Unset: embedded PGlite under dataDir. */
  databaseUrl?: string;
  /** Unset: `npm start` runs a Temporal dev server itself. */
  temporalAddress?: string;
  temporalNamespace: string;
  taskQueue: string;
  dataDir: string;
  logLevel: string;
  secretKey: string;
  /** Captures older than this are deleted by the hourly `pcap-retention` schedule. */
  pcapRetentionDays: number;
  /** Per-second metrics older than this are deleted by the hourly `metrics-retention` schedule. */
  metricsRetentionDays: number;
  /** Where HTTP integrations may connect: PRIVATE_HTTP_TARGETS=allow|deny (link-local never). */
  targets: TargetPolicy;
  /** How often each speaker is compared with the rules. */
  reconcileIntervalSeconds: number;
  /** The Temporal UI users open, for links to workflows (TEMPORAL_UI_URL). */
  temporalUiUrl: string;
  /** Where Bulwark's Prometheus `/metrics` listens (METRICS_ADDRESS); null: off. */
  metricsAddress: string | null;
  /** Where the Temporal SDK's own Prometheus exporter listens, in a worker (TEMPORAL_METRICS_ADDRESS); null: off. */
  temporalMetricsAddress: string | null;
}

/** Metrics listeners: loopback unless the deployment says otherwise. */
export const METRICS_DEFAULTS = { api: '127.0.0.1:9464', worker: '127.0.0.1:9465', temporal: '127.0.0.1:9466' } as const;

/** A `host:port` to listen on, or null for `off`. */
function addressFromEnv(name: string, fallback: string): string | null {
  const raw = process.env[name] || fallback;
  if (raw === 'off') return null;
  try {
    parseBindAddress(raw);
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}, or off`);
  }
  return raw;
}

function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number ${min}-${max}, got "${raw}"`);
  return n;
}

/**
 * How many rule (and other) workflows a worker keeps in memory between their tasks. A held
 * rule sleeps for its TTL; cached, each costs the worker a few hundred KiB, so 100,000 held
 * rules would not fit. Evicted, a sleeping rule costs a database row and a server-side timer;
 * when the timer fires its workflow is replayed from its short history (README, Benchmarks:
 * held rules).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 500;

/** TEMPORAL_MAX_CACHED_WORKFLOWS: the worker's workflow cache (0: none, every task replays). */
export function maxCachedWorkflowsFromEnv(): number {
  return intFromEnv('TEMPORAL_MAX_CACHED_WORKFLOWS', DEFAULT_MAX_CACHED_WORKFLOWS, 0, 1_000_000);
}

/**
 * SECRET_KEY from the environment, else a key generated once into <dataDir>/secret-key.
 * Every API and worker of one deployment must share it: set SECRET_KEY there.
 */
function secretKey(dataDir: string): string {
  if (process.env.SECRET_KEY) return process.env.SECRET_KEY;
  const file = join(dataDir, 'secret-key');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

function targetsFromEnv(fallback: 'allow' | 'deny'): TargetPolicy {
  const raw = process.env.PRIVATE_HTTP_TARGETS || fallback;
  if (raw !== 'allow' && raw !== 'deny') throw new Error(`PRIVATE_HTTP_TARGETS must be allow or deny, got "${raw}"`);
  return { allowPrivate: raw === 'allow' };
}

/** `privateTargets`: the default for PRIVATE_HTTP_TARGETS (all in one: allow; a cluster: deny). */
export function loadConfig(privateTargets: 'allow' | 'deny' = 'allow'): Config {
  const dataDir = resolve(process.env.DATA_DIR || '.data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return {
    port: intFromEnv('PORT', 8080, 0, 65535),
    databaseUrl: process.env.DATABASE_URL || undefined,
    temporalAddress: process.env.TEMPORAL_ADDRESS || undefined,
    temporalNamespace: process.env.TEMPORAL_NAMESPACE || 'default',
    taskQueue: process.env.TEMPORAL_TASK_QUEUE || 'bulwark',
    dataDir,
    logLevel: process.env.LOG_LEVEL || 'info',
    secretKey: secretKey(dataDir),
    pcapRetentionDays: intFromEnv('PCAP_RETENTION_DAYS', 30, 1, 3650),
    metricsRetentionDays: intFromEnv('METRICS_RETENTION_DAYS', 7, 1, 3650),
    targets: targetsFromEnv(privateTargets),
    reconcileIntervalSeconds: intFromEnv('RECONCILE_INTERVAL_SECONDS', 5, 1, 3600),
    temporalUiUrl: process.env.TEMPORAL_UI_URL || DEFAULT_TEMPORAL_UI,
    metricsAddress: addressFromEnv('METRICS_ADDRESS', METRICS_DEFAULTS.api),
    temporalMetricsAddress: addressFromEnv('TEMPORAL_METRICS_ADDRESS', METRICS_DEFAULTS.temporal),
  };
}

/** The production entry points share one cluster: both addresses must be given. */
export function loadClusterConfig(entry: 'api' | 'worker'): Config & { temporalAddress: string; databaseUrl: string } {
  // Several tenants' integrations run here: public targets only, unless the deployment says otherwise.
  const config = loadConfig('deny');
  if (!config.temporalAddress || !config.databaseUrl) {
    console.error(`npm run ${entry} needs TEMPORAL_ADDRESS and DATABASE_URL (npm start runs everything on one machine)`);
    process.exit(2);
  }
  // An API and a worker on one host must not ask for the same port.
  if (entry === 'worker') config.metricsAddress = addressFromEnv('METRICS_ADDRESS', METRICS_DEFAULTS.worker);
  return config as Config & { temporalAddress: string; databaseUrl: string };
}
