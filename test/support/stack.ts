// A test file's own slice of the platform: a worker on its own task queue and the API
// on a loopback port, both against the run's Temporal server and PostgreSQL database.
import { randomBytes } from 'node:crypto';
import { openDb, type DbHandle } from '../../db/client.js';
import { watchRuleStatus } from '../../db/rule-settled.js';
import { createSecretBox, type SecretBox } from '../../db/secrets.js';
import { createToken, createWorkspace } from '../../db/workspaces.js';
import { workspaces } from '../../db/schema.js';
import { eq } from 'drizzle-orm';
import { connectSharedTemporal, createLogger, startHttp, startWorker, type RunningWorker } from '../../cmd/runtime.js';
import type { Client } from '@temporalio/client';
import type { AppDeps } from '../../api/context.js';
import type { TestEnv } from './env.js';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Stack {
  baseUrl: string;
  db: DbHandle;
  secrets: SecretBox;
  temporal: Client;
  taskQueue: string;
  worker: RunningWorker | null;
  /** Starts a (new) worker on the stack's task queue. */
  startWorker(): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  /** A new workspace with a deploy token. */
  tenant(opts?: { active?: boolean; rateLimit?: number }): Promise<{ id: number; name: string; token: string; call: Caller }>;
  stop(): Promise<void>;
}

/** The stack's SECRET_KEY: a worker process started beside it (test/scrubbing-kill.test.ts) must share it. */
export const TEST_SECRET_KEY = 'test-secret-key';

export type Caller = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<ApiResponse<T>>;

export async function startStack(
  env: TestEnv,
  opts: Pick<
    AppDeps,
    | 'announceWaitMs'
    | 'commandWaitMs'
    | 'commandHeartbeatTimeoutSeconds'
    | 'agentRateLimit'
    | 'clock'
    | 'reconcileIntervalSeconds'
    | 'pcapQuota'
    | 'agentMaxConcurrent'
    | 'scrubbingWatchSeconds'
  > & { targets?: AppDeps['targets'] } = {},
): Promise<Stack> {
  // Loopback stands in for every provider and receiver here, as in the all-in-one default.
  const targets = opts.targets ?? { allowPrivate: true };
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const db = await openDb({ databaseUrl: env.databaseUrl, dataDir: env.workDir });
  const secrets = createSecretBox(TEST_SECRET_KEY);
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  // As in `npm start`: the API's client shares the worker's connection (eager rule starts).
  const temporal = await connectSharedTemporal(env.temporalAddress, 'default', logger);
  const ruleStatus = watchRuleStatus(db);
  const http = await startHttp({ db: db.db, ruleStatus, temporal: temporal.client, taskQueue, localWorker: true, secrets, logger, ...opts, targets }, 0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${http.port}`;

  const stack: Stack = {
    baseUrl,
    db,
    secrets,
    temporal: temporal.client,
    taskQueue,
    worker: null,
    async startWorker() {
      stack.worker = await startWorker({
        connection: temporal.connection,
        address: env.temporalAddress,
        namespace: 'default',
        taskQueue,
        db: db.db,
        secrets,
        logger,
        targets,
        workflowBundle: { codePath: env.workflowBundlePath },
      });
      return stack.worker;
    },
    async stopWorker() {
      await stack.worker?.shutdown();
      stack.worker = null;
    },
    async tenant(t = {}) {
      const name = `t-${randomBytes(5).toString('hex')}`;
      const ws = await createWorkspace(db.db, name, t.active === false ? 'inactive' : 'active');
      if (t.rateLimit) await db.db.update(workspaces).set({ rateLimitPerMinute: t.rateLimit }).where(eq(workspaces.id, ws.id));
      const token = await createToken(db.db, ws.id);
      const call: Caller = (method, path, body, headers = {}) => request(baseUrl, method, path, body, { authorization: `Bearer ${token}`, ...headers });
      return { id: ws.id, name, token, call };
    },
    async stop() {
      await http.close();
      await ruleStatus.close();
      // The reconcile schedules this stack's API made would fire at a task queue nobody polls.
      for await (const s of temporal.client.schedule.list()) {
        if (s.scheduleId.startsWith(`reconcile:${taskQueue}:`))
          await temporal.client.schedule
            .getHandle(s.scheduleId)
            .delete()
            .catch(() => undefined);
      }
      await stack.stopWorker();
      await temporal.close();
      await db.close();
    },
  };
  await stack.startWorker();
  return stack;
}

/** One HTTP request; a non-JSON answer fails the test loudly (every answer must be an envelope). */
export async function request(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
