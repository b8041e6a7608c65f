// `npm run api`: the REST API alone, for deployments running several instances against
// one Temporal cluster and one PostgreSQL (TEMPORAL_ADDRESS and DATABASE_URL required).
import { openDb } from '../db/client.js';
import { createSecretBox } from '../db/secrets.js';
import { loadClusterConfig } from './config.js';
import { connectTemporal, createLogger, startHttp } from './runtime.js';
import { ensureRetentionSchedule } from '../clients/retention.js';

const config = loadClusterConfig('api');
const logger = createLogger(config.logLevel);
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await db.migrate();
const temporal = await connectTemporal(config.temporalAddress, config.temporalNamespace);
await ensureRetentionSchedule({ temporal: temporal.client, taskQueue: config.taskQueue }, config.pcapRetentionDays, logger);
const http = await startHttp({ db: db.db, temporal: temporal.client, taskQueue: config.taskQueue, secrets: createSecretBox(config.secretKey), logger, targets: config.targets }, config.port);
logger.info({ port: http.port }, 'API listening');

const stop = async () => {
  await http.close();
  await temporal.close();
  await db.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
