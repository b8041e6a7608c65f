// Benchmark: rule POST -> route visible at the router, withdraw -> route gone, and
// sustained rule creations per second, through the whole stack (API, Temporal, worker,
// adapter, real speaker) in the BGP lab. Run by hand as root:
//   npm run bench:rules [-- --rules 200 --adapters exabgp,gobgp,bird2,frr --concurrency 16 --bulk 1024 --bulk-requests 6]
import { parseArgs } from 'node:util';
import { createBridgeAdapter } from '../activities/adapters/bridge.js';
import { createGobgpAdapter } from '../activities/adapters/gobgp.js';
import type { MitigationAdapter } from '../activities/adapters/types.js';
import { startBgpLab } from '../test/support/bgp-lab.js';
import { createTestEnv } from '../test/support/env.js';
import { watchRouterRib } from '../test/support/router-watch.js';
import { eq } from 'drizzle-orm';
import { mitigationRules } from '../db/schema.js';
import { ruleWorkflowId } from '../workflows/rule.contract.js';
import { startStack, type Caller, type Stack } from '../test/support/stack.js';
import { addSample, EventType, workflowHistory } from './history-trace.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '200' },
    adapters: { type: 'string', default: 'exabgp,gobgp,bird2,frr' },
    concurrency: { type: 'string', default: '16' },
    bulk: { type: 'string', default: '1024' },
    'bulk-requests': { type: 'string', default: '6' },
  },
});
const RULES = Number(values.rules);
const CONCURRENCY = Number(values.concurrency);
const BULK = Number(values.bulk);
const BULK_REQUESTS = Number(values['bulk-requests']);

const summary = (label: string, samples: number[]) => latencyLine(label, samples, 34);

type Speaker = 'exabgp' | 'gobgp' | 'bird2' | 'frr';
const PHASES = { direct: 0, latency: 1, throughput: 2, bulk: 3 } as const;
/**
 * The i-th prefix of a phase, in a range of its own per speaker and phase: IPv6 /128s; for
 * FRR IPv4 /32s of 203.0.113.0/24 (the lab's FRR session is proven for IPv4; its phases
 * run one after the other, each ending withdrawn).
 */
function prefixFor(type: Speaker, phase: keyof typeof PHASES, i: number): string {
  if (type === 'frr') return `203.0.113.${i + 1}/32`;
  const n = ['exabgp', 'gobgp', 'bird2'].indexOf(type) * 4 + PHASES[phase];
  return `2001:db8:${(0xa0 + n).toString(16)}::${(i + 1).toString(16)}/128`;
}

/** Resolves when the router reports the prefix (dis)appearing. */
class RouterEvents {
  private waiters = new Map<string, (atMs: number) => void>();
  private early = new Map<string, number>();
  onEvent = (ev: { prefix: string; withdrawn: boolean; atMs: number }) => {
    const key = `${ev.withdrawn ? '-' : '+'}${ev.prefix}`;
    const waiter = this.waiters.get(key);
    if (waiter) {
      this.waiters.delete(key);
      waiter(ev.atMs);
    } else this.early.set(key, ev.atMs);
  };
  wait(prefix: string, withdrawn: boolean, timeoutMs = 10_000): Promise<number> {
    const key = `${withdrawn ? '-' : '+'}${prefix}`;
    const seen = this.early.get(key);
    if (seen !== undefined) {
      this.early.delete(key);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router never saw ${key}`)), timeoutMs);
      this.waiters.set(key, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the BGP lab needs root (network namespaces)');
  console.log(`bench: ${RULES} rules per adapter, concurrency ${CONCURRENCY} for throughput`);
  const types = values.adapters!.split(',') as Speaker[];
  if (types.includes('frr') && RULES > 250) throw new Error('frr runs on 203.0.113.0/24: --rules 250 at most');
  const lab = await startBgpLab({ bird: types.includes('bird2'), frr: types.includes('frr') });
  const { env, teardown } = await createTestEnv('bench');
  const stack = await startStack(env);
  const events = new RouterEvents();
  const watch = await watchRouterRib(lab.router.apiEndpoint, events.onEvent);
  try {
    const { call } = await stack.tenant({ rateLimit: 1_000_000 });
    for (const type of types) {
      const bridge = type === 'exabgp' ? lab.exabgpBridge : type === 'bird2' ? lab.birdBridge! : type === 'frr' ? lab.frrBridge! : null;
      const endpoint = bridge?.endpoint ?? lab.gobgpSpeaker.endpoint;
      const adapter = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: type, name: `bench ${type}`, endpoint, ...(bridge ? { auth_token: bridge.token } : {}) });
      if (adapter.status !== 200) throw new Error(JSON.stringify(adapter.body));
      const adapterId = adapter.body.adapter.id as number;
      const settings = { endpoint, authToken: bridge?.token ?? null, timeoutMs: 5000, targets: { allowPrivate: true } };
      const direct = bridge ? createBridgeAdapter(type === 'exabgp' ? 'ExaBGP' : type === 'bird2' ? 'BIRD' : 'FRR')(settings) : createGobgpAdapter(settings);
      await runSpeakerOnly(type, direct, events);
      await direct.close();
      await runLatency(type, call, adapterId, events, stack);
      await runThroughput(type, call, adapterId, events);
      if (type !== 'frr' && BULK > 0) await runBulk(type, call, adapterId, events);
    }
  } finally {
    watch.close();
    await stack.stop();
    await teardown();
    await lab.stop();
  }
}

/** The floor: the adapter called directly (no API, no Temporal), to the route at the router. */
async function runSpeakerOnly(type: Speaker, adapter: MitigationAdapter, events: RouterEvents) {
  const toRouter: number[] = [];
  for (let i = 0; i < RULES; i++) {
    const prefix = prefixFor(type, 'direct', i);
    const intent = { kind: 'blackhole' as const, prefix, nextHop: prefix.includes(':') ? '2001:db8::1' : '192.0.2.1', communities: ['65535:666'] };
    const t0 = performance.now();
    const visible = events.wait(intent.prefix, false);
    await adapter.announce(intent);
    toRouter.push((await visible) - t0);
    const gone = events.wait(intent.prefix, true);
    await adapter.withdraw(intent);
    await gone;
  }
  console.log(summary(`${type}: adapter call -> route at router`, toRouter));
}

/** Sequential: one rule at a time, so each figure is one rule's own latency. */
async function runLatency(type: Speaker, call: Caller, adapterId: number, events: RouterEvents, stack: Stack) {
  const trace = new Map<string, number[]>();
  const toApi: number[] = [];
  const toRouter: number[] = [];
  const withdrawToGone: number[] = [];
  process.stdout.write(`${type}: latency run `);
  for (let i = 0; i < RULES; i++) {
    const prefix = prefixFor(type, 'latency', i);
    const wall0 = Date.now();
    const t0 = performance.now();
    const visible = events.wait(prefix, false);
    const res = await call('POST', '/api/v1/mitigation/rules', { target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
    if (res.status !== 200) throw new Error(`POST failed: ${JSON.stringify(res.body)}`);
    toApi.push(performance.now() - t0);
    toRouter.push((await visible) - t0);
    await traceRule(stack, res.body.rule.id, wall0, { routerAt: wall0 + toRouter.at(-1)!, answeredAt: wall0 + toApi.at(-1)! }, trace);

    const t1 = performance.now();
    const gone = events.wait(prefix, true);
    const w = await call('POST', `/api/v1/mitigation/rules/${res.body.rule.id}/withdraw`);
    if (w.status !== 200) throw new Error(`withdraw failed: ${JSON.stringify(w.body)}`);
    withdrawToGone.push((await gone) - t1);
    if (i % 20 === 19) process.stdout.write('.');
  }
  console.log();
  console.log(summary(`${type}: POST -> API answered active`, toApi));
  console.log(summary(`${type}: POST -> route at router`, toRouter));
  console.log(summary(`${type}: withdraw -> route gone`, withdrawToGone));
  for (const [segment, samples] of trace) console.log(summary(`  ${segment}`, samples));
}

/**
 * Where one rule's POST -> route went, from the clocks of this machine: the row's insert and
 * its announcedAt (PostgreSQL's now(), after the speaker answered), the workflow's history
 * (started, its first task handed to the worker), the router and the API's answer.
 */
async function traceRule(stack: Stack, ruleId: number, wall0: number, at: { routerAt: number; answeredAt: number }, trace: Map<string, number[]>) {
  const [row] = await stack.db.db.select({ createdAt: mitigationRules.createdAt, announcedAt: mitigationRules.announcedAt }).from(mitigationRules).where(eq(mitigationRules.id, ruleId));
  const history = await workflowHistory(stack.temporal, ruleWorkflowId(ruleId));
  const started = history.at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  const taskStarted = history.at(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  const announced = row!.announcedAt!.getTime();
  const add = (segment: string, ms: number) => addSample(trace, segment, ms);
  add('API: POST -> row inserted', row!.createdAt.getTime() - wall0);
  add('API: row inserted -> workflow started', started - row!.createdAt.getTime());
  add('Temporal: started -> first task at worker', taskStarted - started);
  add('worker: task -> speaker answered, row active', announced - taskStarted);
  add('router saw it (after row active)', at.routerAt - announced);
  add('API: row active -> answered', at.answeredAt - announced);
}

/** Concurrent: how many rules per second the stack announces, end to end. */
async function runThroughput(type: Speaker, call: Caller, adapterId: number, events: RouterEvents) {
  const prefixes = Array.from({ length: RULES }, (_, i) => prefixFor(type, 'throughput', i));
  const ids: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const seen = Promise.all(prefixes.map((p) => events.wait(p, false, 60_000)));
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < prefixes.length) {
        const prefix = prefixes[next++]!;
        const res = await call('POST', '/api/v1/mitigation/rules', { target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
        if (res.status !== 200) throw new Error(`POST failed: ${JSON.stringify(res.body)}`);
        ids.push(res.body.rule.id);
      }
    }),
  );
  const allSeen = Math.max(...(await seen));
  const seconds = (allSeen - t0) / 1000;
  console.log(`${type}: sustained creations ${(RULES / seconds).toFixed(1)} rules/s (${RULES} rules, ${CONCURRENCY} clients, all at the router in ${seconds.toFixed(2)} s)`);
  next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ids.length) await call('POST', `/api/v1/mitigation/rules/${ids[next++]!}/withdraw`);
    }),
  );
}

/** One request with BULK targets (a carpet-bombing response): rules per second to the router. */
async function runBulk(type: Speaker, call: Caller, adapterId: number, events: RouterEvents) {
  const prefixes = Array.from({ length: BULK }, (_, i) => prefixFor(type, 'bulk', i));
  const seen = Promise.all(prefixes.map((p) => events.wait(p, false, 120_000)));
  const t0 = performance.now();
  const res = await call('POST', '/api/v1/mitigation/rules', { target_ips: prefixes, intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
  const answered = performance.now() - t0;
  if (res.status !== 200) throw new Error(`bulk POST failed: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  const allSeen = Math.max(...(await seen)) - t0;
  console.log(`${type}: one POST of ${BULK} targets: answered in ${(answered / 1000).toFixed(2)} s, all at the router in ${(allSeen / 1000).toFixed(2)} s = ${((BULK * 1000) / allSeen).toFixed(0)} rules/s`);
  await withdrawAll(call, res.body.rules);

  // Sustained: BULK_REQUESTS such requests, two at a time (a response to a wave of
  // carpet bombing across several prefixes), each target its own rule.
  const batches = Array.from({ length: BULK_REQUESTS }, (_, b) => Array.from({ length: BULK }, (_, i) => prefixFor(type, 'bulk', BULK * (b + 1) + i)));
  const allSeenSustained = Promise.all(batches.flat().map((p) => events.wait(p, false, 300_000)));
  const s0 = performance.now();
  let nextBatch = 0;
  const created: Array<{ id: number }> = [];
  await Promise.all(
    [0, 1].map(async () => {
      while (nextBatch < batches.length) {
        const r = await call('POST', '/api/v1/mitigation/rules', { target_ips: batches[nextBatch++], intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
        if (r.status !== 200) throw new Error(`bulk POST failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        created.push(...r.body.rules);
      }
    }),
  );
  const sustained = (Math.max(...(await allSeenSustained)) - s0) / 1000;
  console.log(`${type}: ${BULK_REQUESTS} POSTs of ${BULK} targets, 2 at a time: all ${BULK * BULK_REQUESTS} at the router in ${sustained.toFixed(2)} s = ${((BULK * BULK_REQUESTS) / sustained).toFixed(0)} rules/s sustained`);
  const w0 = performance.now();
  await withdrawAll(call, created);
  console.log(`${type}: withdrew those ${created.length} one by one (${CONCURRENCY} clients): ${(created.length / ((performance.now() - w0) / 1000)).toFixed(0)} withdrawals/s`);
}

/** Withdraws rules through the API, CONCURRENCY at a time. */
async function withdrawAll(call: Caller, rules: Array<{ id: number }>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < rules.length) await call('POST', `/api/v1/mitigation/rules/${rules[next++]!.id}/withdraw`);
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
