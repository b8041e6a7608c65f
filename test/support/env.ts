// The shared back ends of a test or benchmark run: a Temporal dev server, a fresh
// PostgreSQL database with the migrations applied, and a pre-built workflow bundle.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import postgres from 'postgres';
import { WORKFLOWS_PATH } from '../../cmd/runtime.js';
import { startDevServer } from '../../cmd/temporal-dev.js';
import { openDb } from '../../db/client.js';

export interface TestEnv {
  temporalAddress: string;
  databaseUrl: string;
  workflowBundlePath: string;
  workDir: string;
}

const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function createTestEnv(name = 'test'): Promise<{ env: TestEnv; teardown(): Promise<void> }> {
  const workDir = mkdtempSync(join(tmpdir(), `bulwark-${name}-`));
  const temporal = await startDevServer({ logFile: join(workDir, 'temporal.log') });

  const dbName = `bulwark_${name}_${Date.now()}_${process.pid}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const db = await openDb({ databaseUrl: url.toString(), dataDir: workDir });
  await db.migrate();
  await db.close();

  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  const workflowBundlePath = join(workDir, 'workflow-bundle.js');
  writeFileSync(workflowBundlePath, bundle.code);

  return {
    env: { temporalAddress: temporal.address, databaseUrl: url.toString(), workflowBundlePath, workDir },
    async teardown() {
      await temporal.stop();
      await admin.unsafe(`drop database if exists ${dbName} with (force)`);
      await admin.end();
    },
  };
}

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: console.error, log: noop };
