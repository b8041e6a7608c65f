// The pieces every entry point assembles: logger, Temporal client, worker, HTTP server,
// Prometheus endpoint.
import { serve, type ServerType } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { createApp } from '../api/app.js';
import { databaseGauges } from '../api/metrics.js';
import { serveMetrics, type MetricsEndpoint } from '../metrics/endpoint.js';
import type { AppDeps } from '../api/context.js';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secrets.js';
import type { TargetPolicy } from '../domain/http-targets.js';
import { maxCachedWorkflowsFromEnv } from './config.js';

export const WORKFLOWS_PATH = join(dirname(fileURLToPath(import.meta.url)), '../workflows/index.ts');

export function createLogger(level: string): Logger {
  return pino({ level, base: undefined });
}

export async function connectTemporal(address: string, namespace: string): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
}

/** A connection a worker and the API's client share (every process that runs both). */
export interface SharedTemporal {
  connection: NativeConnection;
  /** On the worker's connection: the rule's workflow starts with eager start (clients/rule.ts). */
  client: Client;
  close(): Promise<void>;
}

/**
 * One native connection for a worker and a client in the same process. Its client may ask
 * the server to hand a new workflow's first task straight back in the start's answer (eager
 * workflow start), to this process's worker, instead of through the server's task queues.
 */
export async function connectSharedTemporal(address: string, namespace: string, logger: Logger, temporalMetricsAddress: string | null = null): Promise<SharedTemporal> {
  installTemporalRuntime(logger, temporalMetricsAddress);
  const connection = await NativeConnection.connect({ address });
  return { connection, client: new Client({ connection, namespace }), close: () => connection.close() };
}

export interface RunningWorker {
  worker: Worker;
  /** Stops polling, lets running activities finish, closes connections. */
  shutdown(): Promise<void>;
}

let runtimeInstalled: { metricsAddress: string | null } | null = null;

/**
 * Temporal's core runtime, once per process: its logs go through our logger (warn and
 * above), and with `metricsAddress` the SDK's own worker figures (task slots, poll and
 * schedule-to-start latencies, workflow and activity outcomes) are served for Prometheus at
 * http://<metricsAddress>/metrics under the SDK's documented names (`temporal_workflow_completed`,
 * `temporal_worker_task_slots_available`, ...), durations in seconds.
 */
export function installTemporalRuntime(logger: Logger, metricsAddress: string | null = null): void {
  if (runtimeInstalled) {
    if (metricsAddress && runtimeInstalled.metricsAddress !== metricsAddress) logger.warn({ metricsAddress }, 'the Temporal runtime was installed before: its metrics stay where they were');
    return;
  }
  const base = { logger: new PinoTemporalLogger(logger) };
  if (metricsAddress) {
    try {
      Runtime.install({ ...base, telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress, useSecondsForDurations: true } } } });
      runtimeInstalled = { metricsAddress };
      return;
    } catch (err) {
      // A busy port costs the figures, never the worker: mitigation goes on unobserved.
      logger.error({ err, metricsAddress }, 'cannot serve the Temporal SDK metrics; the worker runs without them');
    }
  }
  Runtime.install(base);
  runtimeInstalled = { metricsAddress: null };
}

/** Where the Temporal SDK's metrics are served, once the runtime is installed (null: nowhere). */
export function temporalMetricsServed(): string | null {
  return runtimeInstalled?.metricsAddress ?? null;
}

export async function startWorker(opts: {
  address: string;
  namespace: string;
  taskQueue: string;
  db: Db;
  secrets: SecretBox;
  logger: Logger;
  targets: TargetPolicy;
  /** A pre-built bundle (tests build one per run); default: bundle workflows/ now. */
  workflowBundle?: WorkflowBundleOption;
  /** Where the SDK's Prometheus exporter listens (see installTemporalRuntime); default none. */
  temporalMetricsAddress?: string | null;
  /** A connection shared with this process's client (connectSharedTemporal): its owner closes it. */
  connection?: NativeConnection;
  /** Workflows kept in memory between tasks; default TEMPORAL_MAX_CACHED_WORKFLOWS (cmd/config.ts). */
  maxCachedWorkflows?: number;
}): Promise<RunningWorker> {
  installTemporalRuntime(opts.logger, opts.temporalMetricsAddress);
  const connection = opts.connection ?? (await NativeConnection.connect({ address: opts.address }));
  const { activities, adapters } = createActivities(opts);
  const worker = await Worker.create({
    connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities,
    // On SIGINT/SIGTERM the worker stops polling and lets running activities finish.
    shutdownGraceTime: '10s',
    // Bounded, so sleeping rules are not all held in memory (the SDK's default grows with the
    // heap limit: ~2,300 workflows on a 4 GiB heap). One V8 context for every workflow
    // (reuseV8Context, the SDK's default) keeps each cached one small.
    maxCachedWorkflows: opts.maxCachedWorkflows ?? maxCachedWorkflowsFromEnv(),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
  });
  const running = worker.run();
  return {
    worker,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch((err) => opts.logger.error({ err }, 'worker stopped with an error'));
      await adapters.closeAll();
      if (!opts.connection) await connection.close();
    },
  };
}

export function startHttp(deps: AppDeps, port: number, hostname = '0.0.0.0'): Promise<{ server: ServerType; port: number; close(): Promise<void> }> {
  const app = createApp(deps);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info) =>
      resolve({
        server,
        port: info.port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

/**
 * Bulwark's Prometheus endpoint (metrics/endpoint.ts): the process's figures, plus the
 * database's gauges when `db` is given (processes that run the API). Null when it is off
 * (no address) or the address cannot be bound: logged, and the process serves on without it.
 */
export async function startMetricsHttp(address: string | null, opts: { logger: Logger; db?: Db }): Promise<MetricsEndpoint | null> {
  if (!address) return null;
  try {
    return await serveMetrics(address, opts.db ? [databaseGauges(opts.db)] : []);
  } catch (err) {
    opts.logger.error({ err, address }, 'cannot serve /metrics; running without it');
    return null;
  }
}

class PinoTemporalLogger {
  constructor(private readonly logger: Logger) {}
  log(level: string, message: string, meta?: Record<string, unknown>) {
    const l = level.toLowerCase();
    if (l === 'error') this.logger.error(meta ?? {}, message);
    else if (l === 'warn') this.logger.warn(meta ?? {}, message);
    else this.logger.debug(meta ?? {}, message);
  }
  trace(message: string, meta?: Record<string, unknown>) { this.log('trace', message, meta); }
  debug(message: string, meta?: Record<string, unknown>) { this.log('debug', message, meta); }
  info(message: string, meta?: Record<string, unknown>) { this.log('info', message, meta); }
  warn(message: string, meta?: Record<string, unknown>) { this.log('warn', message, meta); }
  error(message: string, meta?: Record<string, unknown>) { this.log('error', message, meta); }
}
