// `npm run api`: the REST API alone, for deployments running several instances against
// one Temporal cluster and one PostgreSQL (TEMPORAL_ADDRESS and DATABASE_URL required).
import { openDb } from '../db/client.js';
import { watchRuleStatus } from '../db/rule-settled.js';
import { createSecretBox } from '../db/secrets.js';
import { loadClusterConfig } from './config.js';
import { connectTemporal, createLogger, startHttp, startMetricsHttp } from './runtime.js';
import { ensureOrphanSweepSchedule } from '../clients/orphan-rules.js';
import { ensureReconcileSchedules } from '../clients/reconcile.js';
import { ensureRetentionSchedules } from '../clients/retention.js';
import { reconciledAdapterIds } from '../db/adapters.js';

const config = loadClusterConfig('api');
const logger = createLogger(config.logLevel);
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await db.migrate();
const temporal = await connectTemporal(config.temporalAddress, config.temporalNamespace);
const t = { temporal: temporal.client, taskQueue: config.taskQueue };
await ensureRetentionSchedules(t, { pcaps: config.pcapRetentionDays, metrics: config.metricsRetentionDays }, logger);
await ensureReconcileSchedules(t, await reconciledAdapterIds(db.db), config.reconcileIntervalSeconds);
await ensureOrphanSweepSchedule(t);
const ruleStatus = watchRuleStatus(db);
const http = await startHttp(
  { db: db.db, ruleStatus, ...t, secrets: createSecretBox(config.secretKey), logger, targets: config.targets, reconcileIntervalSeconds: config.reconcileIntervalSeconds, temporalUiUrl: config.temporalUiUrl },
  config.port,
);
const metrics = await startMetricsHttp(config.metricsAddress, { logger, db: db.db });
logger.info({ port: http.port, metrics: metrics && `http://${metrics.address}/metrics` }, 'API listening');

const stop = async () => {
  await http.close();
  await ruleStatus.close();
  await metrics?.close();
  await temporal.close();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
