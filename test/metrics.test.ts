// Prometheus metrics, scraped for real: the API's requests by route pattern, adapter calls
// against a stand-in webhook, rules, nodes and incidents read from the database at scrape
// time, reconciliation repairs, the Temporal SDK's worker figures on their own exporter, the
// agent's figures, and a Grafana dashboard whose every query names a metric seen here.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createReconcileActivities } from '../activities/reconcile.js';
import type { AdapterRegistry } from '../activities/adapters/index.js';
import type { MitigationAdapter } from '../activities/adapters/types.js';
import { AGENT_METRICS_CONTENT_TYPE, renderAgentMetrics } from '../agent/metrics.js';
import { loadConfig, METRICS_DEFAULTS } from '../cmd/config.js';
import { createLogger, installTemporalRuntime, startMetricsHttp } from '../cmd/runtime.js';
import { freePort } from '../cmd/temporal-dev.js';
import { mitigationRules } from '../db/schema.js';
import { routeIntent, type MitigationIntent } from '../domain/intent.js';
import type { MetricsEndpoint } from '../metrics/endpoint.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

// ---------- the text format, read back ----------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  samples: Sample[];
  /** Family name -> its TYPE. */
  types: Map<string, string>;
}

/** Text format 0.0.4: every line a comment, a blank or a well-formed sample, or the test fails. */
function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    // Prometheus reads values as Go's ParseFloat does: NaN and Inf in any case (prom-client writes "Nan").
    const raw = m![3]!.toLowerCase();
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : raw === 'nan' ? NaN : Number(raw);
    expect(Number.isNaN(value) && raw !== 'nan', line).toBe(false);
    samples.push({ name: m![1]!, labels, value });
  }
  return { samples, types };
}

/** The sum of the samples named `name` whose labels include `labels`. */
function valueOf(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return s.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((n, x) => n + x.value, 0);
}

/** Every series name a scrape can hold: sample names, and each family's (histogram parts included). */
function seriesNames(s: Scrape): Set<string> {
  const names = new Set(s.samples.map((x) => x.name));
  for (const [family, type] of s.types) {
    names.add(family);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
  }
  return names;
}

async function scrape(url: string): Promise<Scrape & { contentType: string }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return { ...parseExposition(await res.text()), contentType: res.headers.get('content-type') ?? '' };
}

// ---------- the stack ----------

let stack: Stack;
let hooks: WebhookReceiver;
let call: Caller;
let metrics: MetricsEndpoint;
let temporalMetricsUrl: string;
let adapterId: number;
const bulwarkScrape = () => scrape(`http://${metrics.address}/metrics`);

beforeAll(async () => {
  // Before the stack's worker starts: the runtime is installed once per process.
  const temporalAddress = `127.0.0.1:${await freePort()}`;
  installTemporalRuntime(createLogger('silent'), temporalAddress);
  temporalMetricsUrl = `http://${temporalAddress}/metrics`;
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  metrics = (await startMetricsHttp('127.0.0.1:0', { logger: createLogger('silent'), db: stack.db.db }))!;
  ({ call } = await stack.tenant());
  const res = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'hook', endpoint: hooks.url });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  adapterId = res.body.adapter.id;
});
afterAll(async () => {
  await metrics?.close();
  await stack?.stop();
  await hooks?.close();
});

describe('where metrics are served', () => {
  it('is a listener of its own on loopback, never the API port', async () => {
    expect(metrics.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const s = await bulwarkScrape();
    expect(s.contentType).toContain('text/plain');
    expect(s.types.get('bulwark_http_requests_total')).toBe('counter');
    expect(s.types.get('process_cpu_user_seconds_total')).toBe('counter');
    // The API's own port answers /metrics as any unknown path: a proxy in front of it publishes nothing.
    expect((await request(stack.baseUrl, 'GET', '/metrics')).status).toBe(404);
    expect((await fetch(`http://${metrics.address}/other`)).status).toBe(404);
  });

  it('leaves the process running when its address is taken', async () => {
    expect(await startMetricsHttp(metrics.address, { logger: createLogger('silent') })).toBeNull();
    expect((await fetch(`http://${metrics.address}/metrics`)).status).toBe(200);
  });

  it('defaults to loopback addresses; METRICS_ADDRESS=off turns it off; a malformed one is refused', () => {
    for (const address of Object.values(METRICS_DEFAULTS)) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const saved = { ...process.env };
    try {
      process.env.DATA_DIR = mkdtempSync(join(tmpdir(), 'bulwark-metrics-config-'));
      delete process.env.METRICS_ADDRESS;
      delete process.env.TEMPORAL_METRICS_ADDRESS;
      expect(loadConfig()).toMatchObject({ metricsAddress: METRICS_DEFAULTS.api, temporalMetricsAddress: METRICS_DEFAULTS.temporal });
      process.env.METRICS_ADDRESS = 'off';
      process.env.TEMPORAL_METRICS_ADDRESS = '[::1]:9999';
      expect(loadConfig()).toMatchObject({ metricsAddress: null, temporalMetricsAddress: '[::1]:9999' });
      process.env.METRICS_ADDRESS = '9464';
      expect(() => loadConfig()).toThrow(/METRICS_ADDRESS/);
    } finally {
      process.env = saved;
    }
  });
});

describe('the API', () => {
  it('counts and times requests by route pattern, never by raw path', async () => {
    const route = '/api/v1/mitigation/rules/:id';
    const before = await bulwarkScrape();
    for (const id of [910001, 910002]) expect((await call('GET', `/api/v1/mitigation/rules/${id}`)).status).toBe(404);
    expect((await call('GET', '/api/v1/mitigation/rules')).status).toBe(200);
    expect((await call('GET', '/api/v1/no-such-thing')).status).toBe(404);
    expect((await request(stack.baseUrl, 'GET', '/api/v1/mitigation/rules')).status).toBe(401);
    const after = await bulwarkScrape();

    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect(delta('bulwark_http_requests_total', { route, method: 'GET', code: '404' })).toBe(2);
    expect(delta('bulwark_http_requests_total', { route: '/api/v1/mitigation/rules', method: 'GET', code: '200' })).toBe(1);
    expect(delta('bulwark_http_requests_total', { route: '/api/v1/mitigation/rules', method: 'GET', code: '401' })).toBe(1);
    expect(delta('bulwark_http_requests_total', { route: 'unmatched', method: 'GET', code: '404' })).toBe(1);
    expect(delta('bulwark_http_request_duration_seconds_count', { route, method: 'GET' })).toBe(2);
    expect(delta('bulwark_http_request_duration_seconds_bucket', { route, method: 'GET', le: '+Inf' })).toBe(2);
    // No label anywhere holds an id or an unrouted path.
    const routes = new Set(after.samples.filter((x) => x.name.startsWith('bulwark_http_')).map((x) => x.labels.route));
    for (const r of routes) expect(r).not.toMatch(/\d{6}|no-such-thing/);
  });
});

describe('rules and adapters', () => {
  it('times announce and withdraw per adapter type and outcome, and counts rules by state', async () => {
    const before = await bulwarkScrape();
    hooks.failNext(1, 503); // the first announce fails, its retry goes through
    const created = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.70/32', intent_type: 'blackhole', adapter_id: adapterId });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.rule.status).toBe('active');
    const mid = await bulwarkScrape();
    const withdrawn = await call('POST', `/api/v1/mitigation/rules/${created.body.rule.id}/withdraw`);
    expect(withdrawn.body.rule.status).toBe('withdrawn');
    const after = await bulwarkScrape();

    const calls = (s: Scrape, op: string, outcome: string) => valueOf(s, 'bulwark_adapter_call_seconds_count', { adapter_type: 'webhook', op, outcome });
    expect(calls(mid, 'announce', 'unavailable') - calls(before, 'announce', 'unavailable')).toBe(1);
    expect(calls(mid, 'announce', 'ok') - calls(before, 'announce', 'ok')).toBe(1);
    expect(calls(after, 'withdraw', 'ok') - calls(mid, 'withdraw', 'ok')).toBe(1);
    expect(valueOf(after, 'bulwark_adapter_call_seconds_sum', { adapter_type: 'webhook' })).toBeGreaterThan(0);

    const rules = (s: Scrape, state: string) => valueOf(s, 'bulwark_rules', { state });
    expect(rules(mid, 'active') - rules(before, 'active')).toBe(1);
    expect(rules(after, 'active') - rules(mid, 'active')).toBe(-1);
    expect(rules(after, 'withdrawn') - rules(mid, 'withdrawn')).toBe(1);
    // Every state answers, zero included.
    for (const state of ['pending', 'active', 'withdrawing', 'withdrawn', 'expired', 'failed']) {
      expect(after.samples.some((x) => x.name === 'bulwark_rules' && x.labels.state === state), state).toBe(true);
    }
  });

  it('counts reconciliation repairs by adapter type and kind', async () => {
    // One live rule the speaker lost, and one ended rule whose route the speaker still holds.
    const live = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.71/32', intent_type: 'blackhole', adapter_id: adapterId });
    const ended = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.72/32', intent_type: 'blackhole', adapter_id: adapterId });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect((await call('POST', `/api/v1/mitigation/rules/${ended.body.rule.id}/withdraw`)).status).toBe(200);
    const [row] = await stack.db.db.select().from(mitigationRules).where(eq(mitigationRules.id, ended.body.rule.id));
    const stray = routeIntent(row!.intent);
    // Announced a while ago (one announced after the listing began is not missing from it).
    await stack.db.db.update(mitigationRules).set({ announcedAt: sql`now() - interval '10 seconds'` }).where(eq(mitigationRules.id, live.body.rule.id));

    // A speaker that lists the stray only (a webhook cannot say what it holds; this stand-in can).
    const announced: MitigationIntent[] = [];
    const withdrawnRoutes: MitigationIntent[] = [];
    const speaker: MitigationAdapter = {
      announce: async (i) => void announced.push(i),
      withdraw: async (i) => void withdrawnRoutes.push(i),
      test: async () => ({ ok: true, latency_ms: 0, message: 'stand-in' }) as never,
      list: async () => [stray],
      close: async () => undefined,
    };
    const { reconcileAdapter } = createReconcileActivities({
      db: stack.db.db,
      secrets: stack.secrets,
      adapters: { get: () => speaker } as unknown as AdapterRegistry,
      logger: createLogger('silent'),
    });
    const before = await bulwarkScrape();
    const outcome = await reconcileAdapter(adapterId);
    const after = await bulwarkScrape();
    expect(outcome).toMatchObject({ kind: 'reconciled', withdrawn: [ended.body.rule.id] });
    expect(outcome.kind === 'reconciled' && outcome.reannounced).toContain(live.body.rule.id);
    const repairs = (s: Scrape, kind: string) => valueOf(s, 'bulwark_reconcile_repairs_total', { adapter_type: 'webhook', kind });
    expect(repairs(after, 'reannounced') - repairs(before, 'reannounced')).toBe(outcome.kind === 'reconciled' ? outcome.reannounced.length : -1);
    expect(repairs(after, 'withdrew_stray') - repairs(before, 'withdrew_stray')).toBe(1);
    expect((await call('POST', `/api/v1/mitigation/rules/${live.body.rule.id}/withdraw`)).status).toBe(200);
  });
});

describe('nodes and incidents', () => {
  it('counts nodes by status and silence, and open incidents by severity, read at scrape time', async () => {
    const before = await bulwarkScrape();
    const node = await call('POST', '/api/v1/nodes', { name: 'metrics-edge', ip: '203.0.113.80' });
    expect(node.status, JSON.stringify(node.body)).toBe(200);
    const unseen = await bulwarkScrape();
    expect(valueOf(unseen, 'bulwark_nodes_never_seen') - valueOf(before, 'bulwark_nodes_never_seen')).toBe(1);
    expect(valueOf(unseen, 'bulwark_nodes', { status: 'offline' }) - valueOf(before, 'bulwark_nodes', { status: 'offline' })).toBe(1);

    const agent = (path: string, body: unknown) => request(stack.baseUrl, 'POST', path, body, { authorization: `Bearer ${node.body.api_key}` });
    expect((await agent('/api/v1/agent/heartbeat', { traffic_state: 'normal', pps: 10, bps: 8000 })).status).toBe(200);
    const heard = await bulwarkScrape();
    expect(valueOf(heard, 'bulwark_nodes_never_seen') - valueOf(unseen, 'bulwark_nodes_never_seen')).toBe(-1);
    expect(valueOf(heard, 'bulwark_nodes', { status: 'online' }) - valueOf(unseen, 'bulwark_nodes', { status: 'online' })).toBe(1);

    expect((await agent('/api/v1/agent/incidents', { ref: 'metrics-1', started_at: new Date().toISOString(), pps: 1, bps: 1 })).status).toBe(200);
    const after = await bulwarkScrape();
    expect(valueOf(after, 'bulwark_incidents_open') - valueOf(heard, 'bulwark_incidents_open')).toBe(1);
    expect(valueOf(after, 'bulwark_nodes', { status: 'attack' }) - valueOf(heard, 'bulwark_nodes', { status: 'attack' })).toBe(1);
    // Fixed label sets: a step of silence per threshold, a series per severity and status.
    expect(after.samples.filter((x) => x.name === 'bulwark_nodes_silent').map((x) => x.labels.for_seconds)).toEqual(['60', '300', '3600', '86400']);
    expect(after.samples.filter((x) => x.name === 'bulwark_incidents_open').map((x) => x.labels.severity).sort()).toEqual(['critical', 'high', 'low', 'medium']);
    expect(after.samples.filter((x) => x.name === 'bulwark_nodes').map((x) => x.labels.status).sort()).toEqual(['attack', 'elevated', 'offline', 'online']);
  });
});

/** A node whose agent reports an attack: the incident's workflow runs (regular) activities. */
async function openIncident(name: string, ip: string) {
  const node = await call('POST', '/api/v1/nodes', { name, ip });
  expect(node.status, JSON.stringify(node.body)).toBe(200);
  const res = await request(stack.baseUrl, 'POST', '/api/v1/agent/incidents', { ref: `${name}-1`, started_at: new Date().toISOString(), pps: 1, bps: 1 }, { authorization: `Bearer ${node.body.api_key}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Scrapes until `names` are all there: the SDK exports a series once it was first recorded. */
async function scrapeUntil(url: string, names: string[]): Promise<Scrape> {
  for (let attempt = 0; ; attempt++) {
    const s = await scrape(url);
    const have = seriesNames(s);
    const missing = names.filter((n) => !have.has(n));
    if (missing.length === 0) return s;
    if (attempt >= 60) throw new Error(`${url} never exported ${missing.join(', ')}; it has ${[...have].sort().join(' ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A rule announced and withdrawn: the worker runs a workflow and its local activities to the end. */
async function ruleLifetime(target: string) {
  const created = await call('POST', '/api/v1/mitigation/rules', { target_ip: target, intent_type: 'blackhole', adapter_id: adapterId });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  expect((await call('POST', `/api/v1/mitigation/rules/${created.body.rule.id}/withdraw`)).status).toBe(200);
}

describe('the Temporal SDK', () => {
  it("serves the worker's own figures on its exporter", async () => {
    await ruleLifetime('203.0.113.90/32');
    const s = await scrapeUntil(temporalMetricsUrl, [
      'temporal_workflow_completed',
      'temporal_workflow_task_schedule_to_start_latency_bucket',
      'temporal_local_activity_execution_latency_bucket',
      'temporal_worker_task_slots_available',
    ]);
    expect(valueOf(s, 'temporal_workflow_completed', { task_queue: stack.taskQueue })).toBeGreaterThan(0);
  });
});

describe('the agent', () => {
  it('renders its figures in the text format', () => {
    const text = renderAgentMetrics({
      status: { state: 'attack', incident: 'r1', lastSample: { atMs: 1_700_000_000_000, pps: 120_000, bps: 9.6e8, mix: { tcp: 0, udp: 1, icmp: 0, other: 0 } }, samples: 42, queued: 3, dropped: 1 },
      rollingCapture: true,
      pcapsPending: 2,
      pcapsUploaded: 5,
    });
    expect(AGENT_METRICS_CONTENT_TYPE).toContain('version=0.0.4');
    const s = parseExposition(text);
    expect(Object.fromEntries(s.samples.map((x) => [x.name, x.value]))).toEqual({
      bulwark_agent_pps: 120_000,
      bulwark_agent_bps: 9.6e8,
      bulwark_agent_last_sample_timestamp_seconds: 1_700_000_000,
      bulwark_agent_samples_total: 42,
      bulwark_agent_attack: 1,
      bulwark_agent_reports_queued: 3,
      bulwark_agent_reports_dropped_total: 1,
      bulwark_agent_rolling_capture_running: 1,
      bulwark_agent_pcaps_pending: 2,
      bulwark_agent_pcaps_uploaded_total: 5,
    });
    for (const x of s.samples) expect(s.types.has(x.name), x.name).toBe(true);
  });
});

// ---------- the dashboard ----------

// Keywords, and the aggregations that may stand apart from their parenthesis (`sum by (x) (...)`).
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan',
  'sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords, labels, strings or ranges. */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1')
    .replace(/\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/g, '');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1]!.toLowerCase())) continue;
    if (/^\d/.test(m[1]!) || /^[0-9.]+[smhdwy]$/.test(m[1]!)) continue;
    names.push(m[1]!);
  }
  return names;
}

describe('the Grafana dashboard', () => {
  it('reads its expressions right', () => {
    expect(metricNamesIn('sum by (route, code) (rate(bulwark_http_requests_total{code=~"5.."}[$__rate_interval]))')).toEqual(['bulwark_http_requests_total']);
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le, adapter_type) (rate(bulwark_adapter_call_seconds_bucket{op="announce"}[5m])))')).toEqual([
      'bulwark_adapter_call_seconds_bucket',
    ]);
    expect(metricNamesIn('time() - max(bulwark_agent_last_sample_timestamp_seconds) > bool 60')).toEqual(['bulwark_agent_last_sample_timestamp_seconds']);
    expect(metricNamesIn('a / on(job) group_left b')).toEqual(['a', 'b']);
  });

  it('names only metrics that Bulwark, the agent and the Temporal SDK export, and shows every metric of Bulwark', async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana/bulwark.json'), 'utf8'));
    const exprs: string[] = [];
    const walk = (panels: any[]) => {
      for (const p of panels ?? []) {
        for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
        walk(p.panels);
      }
    };
    walk(dashboard.panels);
    for (const v of dashboard.templating?.list ?? []) if (v.type === 'query') exprs.push(typeof v.query === 'string' ? v.query : v.query?.query ?? '');
    expect(exprs.length).toBeGreaterThan(10);

    // What the dashboard reads of the SDK is there once a rule and an incident ran.
    await ruleLifetime('203.0.113.91/32');
    await openIncident('metrics-dashboard', '203.0.113.92');
    const bulwark = await bulwarkScrape();
    const temporal = await scrapeUntil(temporalMetricsUrl, ['temporal_workflow_completed', 'temporal_activity_schedule_to_start_latency_bucket', 'temporal_activity_execution_latency_bucket']);
    const agent = parseExposition(
      renderAgentMetrics({ status: { state: 'normal', incident: null, lastSample: null, samples: 0, queued: 0, dropped: 0 }, rollingCapture: false, pcapsPending: 0, pcapsUploaded: 0 }),
    );
    const exported = new Set([...seriesNames(bulwark), ...seriesNames(temporal), ...seriesNames(agent)]);
    const used = new Set<string>();
    for (const expr of exprs) {
      // label_values(metric, label) in variables names its metric as the first argument.
      const names = expr.startsWith('label_values(') ? [/^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(expr)?.[1] ?? ''] : metricNamesIn(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported.has(name), `${name} in ${expr}`).toBe(true);
        used.add(name);
      }
    }
    // Each family of Bulwark's and the agent's is on the dashboard (a histogram through one of its series).
    const families = [...bulwark.types.keys(), ...agent.types.keys()].filter((f) => f.startsWith('bulwark_'));
    for (const family of families) expect(['', '_bucket', '_sum', '_count'].some((suffix) => used.has(family + suffix)), family).toBe(true);
  });
});
