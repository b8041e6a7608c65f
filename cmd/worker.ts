// `npm run worker`: a Temporal worker alone (TEMPORAL_ADDRESS and DATABASE_URL required);
// run as many as the load needs.
import { openDb } from '../db/client.js';
import { createSecretBox } from '../db/secrets.js';
import { loadClusterConfig } from './config.js';
import { createLogger, startMetricsHttp, startWorker, temporalMetricsServed } from './runtime.js';

const config = loadClusterConfig('worker');
const logger = createLogger(config.logLevel);
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await db.migrate();
const worker = await startWorker({
  address: config.temporalAddress,
  namespace: config.temporalNamespace,
  taskQueue: config.taskQueue,
  db: db.db,
  secrets: createSecretBox(config.secretKey),
  logger,
  targets: config.targets,
  temporalMetricsAddress: config.temporalMetricsAddress,
});
// Adapter calls and reconciliation repairs happen here; the database's gauges are the API's.
const metrics = await startMetricsHttp(config.metricsAddress, { logger });
logger.info(
  { taskQueue: config.taskQueue, metrics: metrics && `http://${metrics.address}/metrics`, temporalMetrics: temporalMetricsServed() && `http://${temporalMetricsServed()}/metrics` },
  'worker running',
);

const stop = async () => {
  await worker.shutdown();
  await metrics?.close();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
