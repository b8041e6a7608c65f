// `npm start`: the whole stack in one process tree. A Temporal dev server (unless
// TEMPORAL_ADDRESS is set), the database (PGlite unless DATABASE_URL is set), migrations,
// the worker and the API. Ctrl-C stops everything.
import { join } from 'node:path';
import { openDb } from '../db/client.js';
import { watchRuleStatus } from '../db/rule-settled.js';
import { createSecretBox } from '../db/secrets.js';
import { serveAdminSocket } from './admin-socket.js';
import { bootstrapDefaultWorkspace } from './bootstrap.js';
import { loadConfig } from './config.js';
import { connectSharedTemporal, createLogger, startHttp, startMetricsHttp, startWorker, temporalMetricsServed } from './runtime.js';
import { ensureOrphanSweepSchedule } from '../clients/orphan-rules.js';
import { ensureReconcileSchedules } from '../clients/reconcile.js';
import { ensureRetentionSchedules } from '../clients/retention.js';
import { reconciledAdapterIds } from '../db/adapters.js';
import { startDevServer, type DevServer } from './temporal-dev.js';

const UI_PORT = 8233;
const scrapeUrl = (address: string | null | undefined) => (address ? `http://${address}/metrics` : 'off');

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    // A second Ctrl-C while stopping: the operator wants out now.
    if (stopping) process.exit(130);
    stopping = true;
    logger.info('shutting down');
    for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'shutdown step failed'));
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    let address = config.temporalAddress;
    let dev: DevServer | null = null;
    if (!address) {
      logger.info('starting the Temporal dev server');
      dev = await startDevServer({
        dbFile: join(config.dataDir, 'temporal.db'),
        port: 7233,
        uiPort: UI_PORT,
        logFile: join(config.dataDir, 'temporal.log'),
      });
      stops.push(() => dev!.stop());
      address = dev.address;
    }

    const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    stops.push(() => db.close());
    await db.migrate();
    const token = await bootstrapDefaultWorkspace(db.db, config.dataDir);
    if (!config.databaseUrl) {
      // This process owns the embedded database: `npm run admin` reaches it through here.
      const admin = await serveAdminSocket(db.db, config.dataDir, logger);
      stops.push(() => admin.close());
    }

    const secrets = createSecretBox(config.secretKey);
    const temporal = await connectSharedTemporal(address, config.temporalNamespace, logger, config.temporalMetricsAddress);
    stops.push(() => temporal.close());
    const worker = await startWorker({
      connection: temporal.connection,
      address,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      db: db.db,
      secrets,
      logger,
      targets: config.targets,
      temporalMetricsAddress: config.temporalMetricsAddress,
    });
    stops.push(() => worker.shutdown());
    const t = { temporal: temporal.client, taskQueue: config.taskQueue, localWorker: true };
    await ensureRetentionSchedules(t, { pcaps: config.pcapRetentionDays, metrics: config.metricsRetentionDays }, logger);
    await ensureReconcileSchedules(t, await reconciledAdapterIds(db.db), config.reconcileIntervalSeconds);
    await ensureOrphanSweepSchedule(t);
    const ruleStatus = watchRuleStatus(db);
    stops.push(() => ruleStatus.close());
    const http = await startHttp({ db: db.db, ruleStatus, ...t, secrets, logger, targets: config.targets, reconcileIntervalSeconds: config.reconcileIntervalSeconds, temporalUiUrl: config.temporalUiUrl }, config.port);
    stops.push(() => http.close());
    // The API's and the worker's figures together: they share this process.
    const metrics = await startMetricsHttp(config.metricsAddress, { logger, db: db.db });
    if (metrics) stops.push(() => metrics.close());

    const lines = [
      '',
      `  Bulwark is up.`,
      `  API:          http://localhost:${http.port}/api/v1   (reference: http://localhost:${http.port}/api/v1/docs)`,
      `  Temporal UI:  ${dev?.uiUrl ?? `(external Temporal at ${address})`}`,
      `  Database:     ${db.description}`,
      `  Metrics:      ${scrapeUrl(metrics?.address)} (Temporal SDK: ${scrapeUrl(temporalMetricsServed())})`,
    ];
    if (token) {
      lines.push(`  Deploy token for workspace "default" (also in ${join(config.dataDir, 'deploy-token')}):`, `    ${token}`);
    } else {
      lines.push(`  Deploy token: see ${join(config.dataDir, 'deploy-token')}, or: npm run admin -- token create default`);
    }
    lines.push('  Ctrl-C stops everything.', '');
    process.stdout.write(lines.join('\n') + '\n');
  } catch (err) {
    logger.error({ err }, 'start-up failed');
    await shutdown(1);
  }
}

void main();
