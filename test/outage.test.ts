// A back end that is down (PostgreSQL, Temporal) answers 503 `unavailable` with
// Retry-After, never a 500: against real drivers failing to reach a closed port, and
// through the real app. Bugs (a bad query) still answer 500.
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isBackendOutage } from '../api/outage.js';
import { createLogger, startHttp } from '../cmd/runtime.js';
import { openDb, type DbHandle } from '../db/client.js';
import { watchRuleStatus } from '../db/rule-settled.js';
import { createSecretBox } from '../db/secrets.js';
import { request } from './support/stack.js';

/**
 * Nothing listens on the discard port here. (A free ephemeral port is not safe: test files
 * run in parallel, and another one's server may take it between the choice and the test.)
 */
const closedPort = 9;

describe('isBackendOutage', () => {
  it('knows PostgreSQL that cannot be reached', async () => {
    const sql = postgres(`postgres://postgres@127.0.0.1:${closedPort}/x`, { max: 1, connect_timeout: 2, onnotice: () => {} });
    const err = await sql`select 1`.catch((e: unknown) => e);
    await sql.end();
    expect(isBackendOutage(err)).toBe(true);
  });

  it('knows a Temporal frontend that cannot be reached', async () => {
    // Two attempts, not the client's default dozen and more (18 s here, past the timeout under load): what is asked is the error's kind.
    const connection = Connection.lazy({ address: `127.0.0.1:${closedPort}`, connectTimeout: 1000, interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 2 }))] });
    const client = new Client({ connection });
    const err = await client.workflow.start('nothing', { taskQueue: 'none', workflowId: 'x' }).catch((e: unknown) => e);
    await connection.close();
    expect(isBackendOutage(err)).toBe(true);
  }, 30_000);

  it('does not take a bug for an outage', async () => {
    const sql = postgres(inject('env').databaseUrl, { max: 1, onnotice: () => {} });
    const err = await sql`select * from no_such_table`.catch((e: unknown) => e);
    await sql.end();
    expect(isBackendOutage(err)).toBe(false);
    expect(isBackendOutage(new TypeError('x is undefined'))).toBe(false);
  });
});

describe('the API with its database down', () => {
  let db: DbHandle;
  let http: Awaited<ReturnType<typeof startHttp>>;
  beforeAll(async () => {
    db = await openDb({ databaseUrl: `postgres://postgres@127.0.0.1:${closedPort}/x`, dataDir: '/nonexistent' });
    const connection = Connection.lazy({ address: `127.0.0.1:${closedPort}` });
    http = await startHttp(
      { db: db.db, ruleStatus: watchRuleStatus(db), temporal: new Client({ connection }), taskQueue: 'none', secrets: createSecretBox('k'), logger: createLogger('silent'), targets: { allowPrivate: true } },
      0,
      '127.0.0.1',
    );
  });
  afterAll(async () => {
    await http?.close();
    await db?.close();
  });

  it('answers 503 unavailable with Retry-After, in the envelope', async () => {
    const res = await request(`http://127.0.0.1:${http.port}`, 'GET', '/api/v1/mitigation/rules', undefined, { authorization: `Bearer ${'a'.repeat(64)}` });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('unavailable');
    expect(res.headers.get('retry-after')).toBe('5');
  }, 30_000);
});
