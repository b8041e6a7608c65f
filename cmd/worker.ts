// `npm run worker`: a Temporal worker alone (TEMPORAL_ADDRESS and DATABASE_URL required);
// run as many as the load needs.
import { openDb } from '../db/client.js';
import { createSecretBox } from '../db/secrets.js';
import { loadClusterConfig } from './config.js';
import { createLogger, startWorker } from './runtime.js';

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
});
logger.info({ taskQueue: config.taskQueue }, 'worker running');

const stop = async () => {
  await worker.shutdown();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
