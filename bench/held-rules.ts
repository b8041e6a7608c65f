// Benchmark: many rules held at once by one worker. Creates N rules through the API
// (POST /mitigation/rules, a webhook adapter on loopback), with TTLs such that all N are
// held together for a while and then expire at the rate they were created; measures the
// memory of this process (API + worker) and of the Temporal dev server with all N held,
// then each rule's expiry lateness (the webhook's withdraw call against the row's
// expires_at), and checks every rule was withdrawn. One process and one Temporal server
// per N (the bench runs itself once per count). Run by hand:
//   npm run bench:held-rules [-- --counts 1000,10000 --concurrency 16 --hold 30 --expire-rate 30 --cache 500|sdk]
// --expire-rate R: expiries spread at R/s after the hold (default: as fast as the rules were
// created, which is all this machine can do); --cache: the worker's maxCachedWorkflows (default
// TEMPORAL_MAX_CACHED_WORKFLOWS; `sdk`: the SDK's own default); --batch B: B targets per POST
// (target_ips) instead of one; --preload all|<modules>: a bundle with those modules shared by
// every workflow (the SDK's bundler option preloadModules); --trace K: where the time of K
// expiries went, from their histories.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import type { NativeConnection } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import { maxCachedWorkflowsFromEnv } from '../cmd/config.js';
import { createLogger, installTemporalRuntime, startWorker, WORKFLOWS_PATH } from '../cmd/runtime.js';
import { freePort } from '../cmd/temporal-dev.js';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mitigationRules } from '../db/schema.js';
import { ruleWorkflowId } from '../workflows/rule.contract.js';
import { createTestEnv } from '../test/support/env.js';
import { startStack, type Stack } from '../test/support/stack.js';
import { latencyLine, percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    counts: { type: 'string', default: '1000,10000' },
    concurrency: { type: 'string', default: '16' },
    batch: { type: 'string', default: '1' },
    hold: { type: 'string', default: '30' },
    cache: { type: 'string' },
    trace: { type: 'string', default: '200' },
    'expire-rate': { type: 'string' },
    preload: { type: 'string' },
  },
});
const COUNTS = values.counts!.split(',').map(Number);
const CONCURRENCY = Number(values.concurrency);
const BATCH = Number(values.batch);
const HOLD_S = Number(values.hold);
const TRACE = Number(values.trace);
/** Expiries per second, spread after the hold; default: as fast as the rules were created. */
const EXPIRE_RATE = values['expire-rate'] === undefined ? null : Number(values['expire-rate']);
const MiB = 1024 * 1024;

/** The worker's cache as the SDK sizes it when not told (reuseV8Context: 600 per GiB of heap over 200 MiB). */
const sdkDefaultCache = () => Math.max(Math.floor((Math.max(getHeapStatistics().heap_size_limit / MiB - 200, 0) * 600) / 1024), 10);
const CACHE = values.cache === undefined ? maxCachedWorkflowsFromEnv() : values.cache === 'sdk' ? sdkDefaultCache() : Number(values.cache);

const clock = () => new Date().toISOString().slice(11, 19);
const log = (line: string) => console.log(`  ${clock()} ${line}`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** The i-th rule's target: an IPv6 /128 of its own (documentation space, which the rails allow). */
const target = (i: number) => `2001:db8:4e1d:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::1/128`;

/** The Temporal dev server listening on `address` (started by createTestEnv), by its command line. */
function serverPid(address: string): number | null {
  const port = address.split(':').pop();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('start-dev') && cmd.includes(`--port\0${port}\0`)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** CPU time (user + system) of the process, in ms. */
function cpuMs(pid: number | null): number {
  if (pid === null) return NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
}

function vmRss(pid: number | null): number {
  if (pid === null) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** What the webhook saw: announces counted, each withdraw's arrival (and its sent_at) by prefix. */
interface Hooks {
  url: string;
  announced: number;
  withdrawn: Map<string, { at: number; sentAt: number }>;
  close(): Promise<void>;
}

/** The customer's webhook endpoint, lean: 100,000 rules must not cost this process much. */
async function startHooks(): Promise<Hooks> {
  const hooks = { announced: 0, withdrawn: new Map<string, { at: number; sentAt: number }>() };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const ev = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: string; intent?: { prefix: string }; sent_at: string };
      if (ev.event === 'announce') hooks.announced++;
      else if (ev.event === 'withdraw' && ev.intent) hooks.withdrawn.set(ev.intent.prefix, { at, sentAt: Date.parse(ev.sent_at) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(hooks, {
    url: `http://127.0.0.1:${port}/hooks/bulwark`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

interface Sample {
  at: number;
  rss: number;
  heap: number;
  server: number;
  /** CPU time so far, ms: this process, the Temporal server. */
  cpu: number;
  serverCpu: number;
  cached: number;
  held: number;
}

/** Once a second: this process's RSS and heap, the server's RSS, the worker's cache, the rules held. */
function startSampler(stack: Stack, pid: number | null, held: () => number) {
  const samples: Sample[] = [];
  const take = (collect = false): Sample => {
    // With --expose-gc (the npm script's), this thread's heap figure is what is live; the
    // workflow thread's heap and Temporal core's memory are in the RSS alone.
    if (collect) (globalThis as { gc?: () => void }).gc?.();
    const s = { at: Date.now(), rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, server: vmRss(pid), cpu: cpuMs(process.pid), serverCpu: cpuMs(pid), cached: stack.worker?.worker.getStatus().numCachedWorkflows ?? 0, held: held() };
    samples.push(s);
    return s;
  };
  const timer = setInterval(() => take(), 1000);
  return { samples, take, stop: () => clearInterval(timer) };
}

const sampleLine = (s: Sample) => `RSS ${mib(s.rss)} (heap ${mib(s.heap)}), Temporal server ${mib(s.server)}, ${s.cached} workflows cached`;

async function runOne(n: number) {
  console.log(`held rules: N=${n.toLocaleString('en')}, ${CONCURRENCY} clients, ${BATCH} target(s) per POST, hold ${HOLD_S} s, worker cache ${CACHE}`);
  const { env, teardown } = await createTestEnv('held');
  // The SDK's own figures (sticky cache hits and misses, replay and task latencies), scraped at the end.
  const sdkMetrics = `127.0.0.1:${await freePort()}`;
  installTemporalRuntime(createLogger('silent'), sdkMetrics);
  const stack = await startStack(env);
  // The stack's worker again, with the cache under test, on the shared connection (eager starts).
  await stack.stopWorker();
  stack.worker = await startWorker({
    connection: stack.temporal.connection as NativeConnection,
    address: env.temporalAddress,
    namespace: 'default',
    taskQueue: stack.taskQueue,
    db: stack.db.db,
    secrets: stack.secrets,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    targets: { allowPrivate: true },
    workflowBundle: values.preload
      ? await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: values.preload === 'all' ? [WORKFLOWS_PATH] : values.preload.split(','), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } })
      : { codePath: env.workflowBundlePath },
    maxCachedWorkflows: CACHE,
  });
  const hooks = await startHooks();
  const pid = serverPid(env.temporalAddress);
  let created = 0;
  const sampler = startSampler(stack, pid, () => hooks.announced - hooks.withdrawn.size);
  try {
    const { id: workspaceId, call } = await stack.tenant({ rateLimit: 100_000_000 });
    const adapter = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'bench hook', endpoint: hooks.url });
    if (adapter.status !== 200) throw new Error(JSON.stringify(adapter.body));
    const adapterId = adapter.body.adapter.id as number;
    await new Promise((r) => setTimeout(r, 2000));
    const baseline = sampler.take(true);
    log(`baseline: ${sampleLine(baseline)}`);

    // Warm-up rules, held until withdrawn by hand at the end: they give the creation rate
    // from which every later rule's TTL is set, so that all N are held together.
    const warm = Math.min(Math.ceil(n / 10), Math.max(200, CONCURRENCY * BATCH * 2));
    const postLatency: number[] = [];
    const answers: Record<string, number> = {};
    const create = async (from: number, to: number, ttl: (done: number) => number, progress: () => void) => {
      let next = from;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < to) {
            const first = next;
            next = Math.min(to, next + BATCH);
            const targets = Array.from({ length: next - first }, (_, k) => target(first + k));
            const body = BATCH === 1 ? { target_ip: targets[0] } : { target_ips: targets };
            const t0 = performance.now();
            const res = await call('POST', '/api/v1/mitigation/rules', { ...body, intent_type: 'blackhole', adapter_id: adapterId, ttl: ttl(created), reason: 'bench:held-rules' });
            postLatency.push(performance.now() - t0);
            answers[res.status] = (answers[res.status] ?? 0) + 1;
            if (res.status !== 200 && res.status !== 202) throw new Error(`POST answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
            created += targets.length;
            progress();
          }
        }),
      );
    };
    const t0 = Date.now();
    await create(0, warm, () => 0, () => {});
    const warmRate = (warm * 1000) / (Date.now() - t0);
    log(`${warm} warm-up rules (no TTL) at ${warmRate.toFixed(1)} rules/s`);

    // Each rule's TTL: until the creation phase's estimated end (from the rate so far), plus
    // the hold, plus its place in the expiry order: as fast as they were created (each rule
    // expires the estimated length of the phase + hold after its creation), or --expire-rate.
    const t1 = Date.now();
    const c0 = sampler.take();
    const checkpoints: Array<{ created: number; sample: Sample }> = [];
    let nextCheckpoint = 1;
    let lastPrint = Date.now();
    // The estimated end only moves later, so expiries keep the creation order and do not bunch.
    let estimatedEnd = 0;
    const ttl = (done: number) => {
      const now = Date.now();
      const mainDone = done - warm;
      const rate = mainDone >= warm && now > t1 ? (mainDone * 1000) / (now - t1) : warmRate;
      estimatedEnd = Math.max(estimatedEnd, now + ((n - done) / rate) * 1000);
      const seconds = EXPIRE_RATE ? (estimatedEnd - now) / 1000 + HOLD_S + mainDone / EXPIRE_RATE : (estimatedEnd - t1) / 1000 + HOLD_S;
      return Math.ceil(seconds);
    };
    await create(warm, n, ttl, () => {
      if (created >= (n * nextCheckpoint) / 10) {
        checkpoints.push({ created, sample: sampler.take() });
        nextCheckpoint++;
      }
      if (Date.now() - lastPrint >= 10_000) {
        lastPrint = Date.now();
        const s = sampler.samples.at(-1)!;
        log(`created ${created.toLocaleString('en')}/${n.toLocaleString('en')} (${(((created - warm) * 1000) / (Date.now() - t1)).toFixed(1)} rules/s), ${sampleLine(s)}`);
      }
    });
    const c1 = sampler.take();
    const createSeconds = (Date.now() - t1) / 1000;
    const rate = (n - warm) / createSeconds;
    log(`created ${n.toLocaleString('en')} in ${createSeconds.toFixed(1)} s after the warm-up: ${rate.toFixed(1)} rules/s (answers ${JSON.stringify(answers)})`);

    // Every rule active, then the memory with all of them held (until the first expiry).
    const rows = await stack.db.db
      .select({ id: mitigationRules.id, ttl: mitigationRules.ttl, status: mitigationRules.status, expiresAt: mitigationRules.expiresAt, targetIp: mitigationRules.targetIp })
      .from(mitigationRules)
      .where(eq(mitigationRules.workspaceId, workspaceId));
    const firstExpiry = Math.min(...rows.filter((r) => r.expiresAt).map((r) => r.expiresAt!.getTime()));
    const lastExpiry = Math.max(...rows.filter((r) => r.expiresAt).map((r) => r.expiresAt!.getTime()));
    const early = hooks.withdrawn.size;
    log(`${rows.length} rows; held now ${hooks.announced - early} (${early} withdrawn already); first expiry in ${((firstExpiry - Date.now()) / 1000).toFixed(1)} s, last in ${((lastExpiry - Date.now()) / 1000).toFixed(1)} s`);
    // The list users page through while all are held: its first page, and one far down.
    const listTimes = { first: [] as number[], deep: [] as number[] };
    for (let i = 0; i < 20 && Date.now() < firstExpiry - 3000; i++) {
      for (const [k, query] of [['first', ''], ['deep', `?offset=${Math.max(0, n - 100)}`]] as const) {
        const t = performance.now();
        const res = await call('GET', `/api/v1/mitigation/rules${query}`);
        if (res.status !== 200) throw new Error(`GET /mitigation/rules${query} answered ${res.status}`);
        listTimes[k].push(performance.now() - t);
      }
    }
    // Measured just before the first expiry: the longest the held rules had to settle.
    await new Promise((r) => setTimeout(r, Math.max(0, firstExpiry - 1000 - Date.now())));
    const held = sampler.take(true);
    log(`all held: ${held.held} rules, ${sampleLine(held)}`);

    // Expiry: rules withdraw themselves at about the rate they were created.
    const expiring = rows.filter((r) => r.ttl > 0);
    const expiredAll = () => expiring.every((r) => hooks.withdrawn.has(r.targetIp));
    const deadline = lastExpiry + 120_000;
    const expirySamples: Sample[] = [];
    for (let tick = 1; !expiredAll() && Date.now() < deadline; tick++) {
      await new Promise((r) => setTimeout(r, 1000));
      if (tick % 10 !== 0 && !expiredAll()) continue;
      const s = sampler.samples.at(-1)!;
      expirySamples.push(s);
      const late = expiring.filter((r) => hooks.withdrawn.has(r.targetIp)).map((r) => hooks.withdrawn.get(r.targetIp)!.at - r.expiresAt!.getTime());
      log(`expired ${late.length.toLocaleString('en')}/${expiring.length.toLocaleString('en')}` + (late.length ? `, lateness p50 ${percentile(late, 50).toFixed(0)} / p99 ${percentile(late, 99).toFixed(0)} ms` : '') + `, ${sampleLine(s)}`);
    }

    const expired = sampler.take();

    // The warm-up rules, withdrawn by hand.
    const byHand = rows.filter((r) => r.ttl === 0);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < byHand.length) await call('POST', `/api/v1/mitigation/rules/${byHand[next++]!.id}/withdraw`, { reason: 'bench over' });
      }),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const end = sampler.take(true);
    sampler.stop();

    // Figures.
    const after = await stack.db.db.select({ id: mitigationRules.id, status: mitigationRules.status }).from(mitigationRules).where(eq(mitigationRules.workspaceId, workspaceId));
    const statuses: Record<string, number> = {};
    for (const r of after) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const missing = rows.filter((r) => !hooks.withdrawn.has(r.targetIp));
    const lateness = expiring.filter((r) => hooks.withdrawn.has(r.targetIp)).map((r) => hooks.withdrawn.get(r.targetIp)!.at - r.expiresAt!.getTime());
    const sentLateness = expiring.filter((r) => hooks.withdrawn.has(r.targetIp)).map((r) => hooks.withdrawn.get(r.targetIp)!.sentAt - r.expiresAt!.getTime());
    const peak = (xs: Sample[], k: 'rss' | 'server') => Math.max(...xs.map((s) => s[k]));
    const perRule = (bytes: number) => `${(bytes / held.held / 1024).toFixed(1)} KiB`;
    // The workflow thread's heap is collected when V8 sees fit: RSS saws up and down, so a range.
    const holding = sampler.samples.filter((x) => x.at >= c1.at && x.at <= held.at);
    const creating = sampler.samples.filter((x) => x.at >= c0.at && x.at <= c1.at);
    const range = (xs: Sample[], k: 'rss' | 'server') => `${mib(Math.min(...xs.map((x) => x[k])))}-${mib(Math.max(...xs.map((x) => x[k])))}`;
    const cpu = (from: Sample, to: Sample, per: number | null) => {
      const f = (ms: number) => (per === null ? `${((ms / (to.at - from.at)) * 100).toFixed(0)} %` : `${(ms / per).toFixed(1)} ms`);
      return `this process ${f(to.cpu - from.cpu)}, Temporal server ${f(to.serverCpu - from.serverCpu)}`;
    };

    console.log(`\nN=${n.toLocaleString('en')}, worker cache ${CACHE}`);
    console.log(`  creation: ${rate.toFixed(1)} rules/s through POST /mitigation/rules (${CONCURRENCY} clients, ${BATCH} per POST), ${n - warm} rules in ${createSeconds.toFixed(1)} s; answers ${JSON.stringify(answers)}`);
    console.log(`  ${latencyLine('  POST answered', postLatency, 30)}`);
    console.log(
      `  RSS (API + worker, this process): baseline ${mib(baseline.rss)}; while creating ${range(creating, 'rss')}; ${held.held.toLocaleString('en')} held ${range(holding, 'rss')} ` +
        `(${mib(held.rss)} at the end of the hold, +${perRule(held.rss - baseline.rss)} per held rule); peak while expiring ${mib(peak(expirySamples.length ? expirySamples : [held], 'rss'))}; at the end ${mib(end.rss)}`,
    );
    console.log(`  ${latencyLine('  GET /mitigation/rules (first 100)', listTimes.first, 36)}`);
    console.log(`  ${latencyLine(`  GET /mitigation/rules?offset=${Math.max(0, n - 100)}`, listTimes.deep, 36)}`);
    console.log(`  heap used: baseline ${mib(baseline.heap)}, held ${mib(held.heap)}; workflows cached when held: ${held.cached}`);
    console.log(`  Temporal dev server RSS: baseline ${mib(baseline.server)}; ${held.held.toLocaleString('en')} held ${mib(held.server)} (+${perRule(held.server - baseline.server)} per held rule); at the end ${mib(end.server)}`);
    console.log(`  growth while creating (held: RSS / server RSS): ${checkpoints.map((c) => `${c.sample.held.toLocaleString('en')}: ${(c.sample.rss / MiB).toFixed(0)} / ${(c.sample.server / MiB).toFixed(0)}`).join(', ')} MiB`);
    console.log(`  CPU per rule created: ${cpu(c0, c1, n - warm)}; CPU while ${held.held.toLocaleString('en')} held (${((held.at - c1.at) / 1000).toFixed(0)} s): ${cpu(c1, held, null)}; CPU per expiry: ${cpu(held, expired, lateness.length)}`);
    const perSecond = new Map<number, number>();
    for (const r of expiring) perSecond.set(Math.floor(r.expiresAt!.getTime() / 1000), (perSecond.get(Math.floor(r.expiresAt!.getTime() / 1000)) ?? 0) + 1);
    console.log(`  expiries due: ${(expiring.length / ((lastExpiry - firstExpiry) / 1000)).toFixed(1)}/s over ${((lastExpiry - firstExpiry) / 1000).toFixed(0)} s, at most ${Math.max(...perSecond.values())} in one second`);
    console.log(`  ${latencyLine('  expiry lateness (webhook got the withdraw)', lateness, 30)}`);
    console.log(`  ${latencyLine('  expiry lateness (webhook event sent_at)', sentLateness, 30)}`);
    console.log(`  rows: ${JSON.stringify(statuses)}; withdraw calls at the webhook: ${hooks.withdrawn.size}/${rows.length}${early ? `; ${early} expired before creation ended` : ''}`);
    // A rule's own history tells where its expiry went; a batch's interleaves its rules'.
    if (TRACE > 0 && BATCH === 1) await traceExpiries(stack, expiring, hooks, TRACE);
    console.log(`  the SDK's figures: ${await sdkFigures(sdkMetrics)}`);
    const ok = missing.length === 0 && statuses.expired === expiring.length && statuses.withdrawn === byHand.length;
    console.log(ok ? '  all withdrawn: yes' : `  all withdrawn: NO (${missing.length} rules never withdrawn at the webhook, e.g. ${missing.slice(0, 5).map((r) => r.id).join(', ')})`);
    if (!ok) process.exitCode = 1;
  } finally {
    sampler.stop();
    await hooks.close();
    await stack.stop();
    await teardown();
  }
}

/**
 * Where a sample of expiries' time went, from each rule's history: the server firing the
 * timer, the workflow task reaching the worker, and the worker (a replay from history when
 * the workflow was evicted, the withdraw local activity, the webhook call).
 */
const { EventType } = proto.temporal.api.enums.v1;
async function traceExpiries(stack: Stack, expiring: Array<{ id: number; expiresAt: Date | null; targetIp: string }>, hooks: Hooks, count: number) {
  const step = Math.max(1, Math.floor(expiring.length / count));
  const segments = { 'timer set for (started + duration - expires_at)': [] as number[], 'expires_at -> server fired the timer': [] as number[], 'timer fired -> task handed to worker': [] as number[], 'task at worker -> webhook got withdraw': [] as number[] };
  const ms = (e: proto.temporal.api.history.v1.IHistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
  const failedTasks = new Map<string, number>();
  let traced = 0;
  for (let i = 0; i < expiring.length; i += step) {
    const r = expiring[i]!;
    const events = (await stack.temporal.workflow.getHandle(ruleWorkflowId(r.id)).fetchHistory()).events ?? [];
    traced++;
    for (const e of events) {
      if (e.eventType !== EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED) continue;
      const cause = proto.temporal.api.enums.v1.WorkflowTaskFailedCause[e.workflowTaskFailedEventAttributes?.cause ?? 0] ?? '?';
      failedTasks.set(cause, (failedTasks.get(cause) ?? 0) + 1);
    }
    const fired = events.findIndex((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED);
    const taskStarted = events.slice(fired).find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
    if (fired < 0 || !taskStarted) continue;
    const started = events.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED && e.timerStartedEventAttributes?.timerId === events[fired]!.timerFiredEventAttributes?.timerId);
    const duration = started?.timerStartedEventAttributes?.startToFireTimeout;
    if (started && duration) segments['timer set for (started + duration - expires_at)'].push(ms(started) + Number(duration.seconds) * 1000 + Math.floor((duration.nanos ?? 0) / 1e6) - r.expiresAt!.getTime());
    segments['expires_at -> server fired the timer'].push(ms(events[fired]!) - r.expiresAt!.getTime());
    segments['timer fired -> task handed to worker'].push(ms(taskStarted) - ms(events[fired]!));
    segments['task at worker -> webhook got withdraw'].push(hooks.withdrawn.get(r.targetIp)!.at - ms(taskStarted));
  }
  for (const [label, xs] of Object.entries(segments)) console.log(`  ${latencyLine(`    ${label}`, xs, 44)}`);
  console.log(`      failed workflow tasks in ${traced} histories: ${failedTasks.size ? [...failedTasks].map(([c, k]) => `${c} ${k}`).join(', ') : 'none'}`);
}

/** Sticky cache hits and misses, and the mean workflow task latencies, from the SDK's Prometheus endpoint. */
async function sdkFigures(address: string): Promise<string> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const sum = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  const counter = (name: string) => sum(`${name}_total`) || sum(name);
  const mean = (name: string) => {
    if (!sum(`${name}_count`)) name = `${name}_seconds`;
    const count = sum(`${name}_count`);
    return count ? `${((sum(`${name}_sum`) / count) * 1000).toFixed(1)} ms (n=${count})` : 'n=0';
  };
  return (
    `sticky cache hits ${counter('temporal_sticky_cache_hit')}, misses ${counter('temporal_sticky_cache_miss')}, forced evictions ${counter('temporal_sticky_cache_total_forced_eviction')}; ` +
    `mean workflow task schedule-to-start ${mean('temporal_workflow_task_schedule_to_start_latency')}, execution ${mean('temporal_workflow_task_execution_latency')}`
  );
}

/** Several counts: this script once per count, each with its own process and Temporal server. */
async function runEach(counts: number[]) {
  const argv = process.argv.slice(2);
  const own = argv.filter((_, i) => argv[i] !== '--counts' && argv[i - 1] !== '--counts' && !argv[i]!.startsWith('--counts='));
  for (const n of counts) {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...own, '--counts', String(n)], { stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) process.exitCode = code ?? 1;
    console.log();
  }
}

(COUNTS.length > 1 ? runEach(COUNTS) : runOne(COUNTS[0]!)).catch((err) => {
  console.error(err);
  process.exit(1);
});
