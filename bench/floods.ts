// Benchmark: flood start -> attack confirmed in the agent, -> its report at the API, ->
// incident open at the API, -> route at the router, over repeated floods against a victim
// namespace running the real agent as it ships (the bundle scripts/build-agent.mjs makes,
// by plain node; --source: its sources through tsx); and the agent's CPU and memory at
// idle and under flood; and where the server's part goes, from each incident's and its
// rule's workflow histories. Run by hand as root:
//   npm run bench:floods [-- --floods 20 --sample-hz 100 --idle-sample-hz 50 --confirm-ms 50 --kind udp --idle-s 30 --source --worker-process]
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBgpLab } from '../test/support/bgp-lab.js';
import { createTestEnv } from '../test/support/env.js';
import { startFloodLab, type FloodKind } from '../test/support/flood-lab.js';
import { watchRouterRib } from '../test/support/router-watch.js';
import { killGroup, startWorkerProcess } from '../test/support/deployment.js';
import { startStack, TEST_SECRET_KEY, type Stack } from '../test/support/stack.js';
import { incidentWorkflowId } from '../workflows/incident.contract.js';
import { ruleWorkflowId } from '../workflows/rule.contract.js';
import { addSample, EventType, workflowHistory } from './history-trace.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({
  options: {
    floods: { type: 'string', default: '20' },
    'sample-hz': { type: 'string', default: '100' },
    'idle-sample-hz': { type: 'string', default: '50' },
    'confirm-ms': { type: 'string', default: '50' },
    kind: { type: 'string', default: 'udp' },
    'idle-s': { type: 'string', default: '30' },
    source: { type: 'boolean', default: false },
    'worker-process': { type: 'boolean', default: false },
  },
});
const FLOODS = Number(values.floods);
const VICTIM = '203.0.113.210';

const summary = (label: string, xs: number[]) => latencyLine(label, xs, 36);

const statusMiB = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** CPU (share of one core) of a process over `ms`, and its RSS at the end and at its highest within (read every 100 ms). */
async function usage(pid: number, ms: number): Promise<{ cpu: number; rssMiB: number; peakMiB: number }> {
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz)
  };
  const t0 = ticks();
  const started = performance.now();
  let peakMiB = 0;
  for (const end = started + ms; performance.now() < end; ) {
    peakMiB = Math.max(peakMiB, statusMiB(pid, 'VmRSS'));
    await new Promise((r) => setTimeout(r, Math.min(100, end - performance.now())));
  }
  const cpu = (ticks() - t0) / 100 / ((performance.now() - started) / 1000);
  const rssMiB = statusMiB(pid, 'VmRSS');
  return { cpu, rssMiB, peakMiB: Math.max(peakMiB, rssMiB) };
}

/** The node process the agent runs as: `ip netns exec` execs it, so the spawned pid is the agent's own. */
function agentPid(pid: number): number {
  const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  if (!cmd.includes('agent')) throw new Error(`pid ${pid} is not the agent: ${cmd.replace(/\0/g, ' ')}`);
  return pid;
}

/**
 * From the incident's answer to the route at the router, by the histories: the incident
 * workflow's start and first task, the rule's child start, its first task at the worker,
 * and its announce (the local activity's marker comes with the task's completion).
 */
async function traceServer(stack: Stack, incidentId: number, ruleId: number, at: { answered: number; router: number }, trace: Map<string, number[]>) {
  const incident = await workflowHistory(stack.temporal, incidentWorkflowId(incidentId));
  const rule = await workflowHistory(stack.temporal, ruleWorkflowId(ruleId));
  const started = incident.at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  const firstTask = incident.at(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  const childAsked = incident.at(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
  const ruleStarted = rule.at(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  const ruleTask = rule.at(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
  const ruleTaskDone = rule.at(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  const add = (segment: string, ms: number) => addSample(trace, segment, ms);
  add('incident workflow started -> API answered', at.answered - started);
  add('incident started -> its first task at the worker', firstTask - started);
  add('first task -> rule child asked (task completed)', childAsked - firstTask);
  // Within that task: when each local activity before the rule's start (the plan, its rule) was done.
  for (const la of incident.localActivities().filter((l) => l.completedMs <= childAsked)) {
    add(`    first task -> ${la.type} done`, la.completedMs - firstTask);
  }
  add('child asked -> rule workflow started', ruleStarted - childAsked);
  add('rule started -> its first task at the worker', ruleTask - ruleStarted);
  add('rule task -> route at router', at.router - ruleTask);
  add('(rule task completed, after the announce)', ruleTaskDone - ruleTask);
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the flood lab needs root (network namespaces)');
  const bgp = await startBgpLab();
  const { env, teardown } = await createTestEnv('bench_floods');
  const stack = await startStack(env);
  // --worker-process: the worker as a process of its own (`npm run worker`), not in the API's.
  let workerChild: ChildProcess | undefined;
  if (values['worker-process']) {
    await stack.stopWorker();
    workerChild = await startWorkerProcess({ env, taskQueue: stack.taskQueue, secretKey: TEST_SECRET_KEY, dir: mkdtempSync(join(env.workDir, 'bench-floods-')), extraEnv: { PRIVATE_HTTP_TARGETS: 'allow' } });
  }
  const lab = await startFloodLab(stack.baseUrl, VICTIM);
  const routeSeen: number[] = [];
  const watch = await watchRouterRib(bgp.router.apiEndpoint, (e) => {
    if (!e.initial && !e.withdrawn && e.prefix.startsWith(`[destination: ${VICTIM}/32]`)) routeSeen.push(e.atMs);
  });
  const opened: number[] = [];
  const reported: number[] = [];
  lab.onAsked = (method, path, atMs) => {
    if (method === 'POST' && path === '/api/v1/agent/incidents') reported.push(atMs);
  };
  lab.onAnswered = (method, path, status, atMs) => {
    if (method === 'POST' && path === '/api/v1/agent/incidents' && status === 200) opened.push(atMs);
  };
  try {
    const { call } = await stack.tenant({ rateLimit: 1_000_000 });
    const adapter = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'gobgp', name: 'lab', endpoint: bgp.gobgpSpeaker.endpoint, capabilities: ['flowspec', 'blackhole'] });
    await call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 2000 }, actions: { tier1: 'flowspec' }, adapter_id: adapter.body.adapter.id, hold_down_seconds: 1 });
    const node = await call('POST', '/api/v1/nodes', { name: 'victim', ip: VICTIM, interface: 'veth-b' });
    let bundle: string | undefined;
    if (!values.source) {
      bundle = join(mkdtempSync(join(tmpdir(), 'bwk-agent-bundle-')), 'agent.mjs');
      execFileSync(process.execPath, ['scripts/build-agent.mjs', '--outfile', bundle], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
    const agent = lab.startAgent(['--api', lab.apiUrl, '--key', node.body.api_key, '--hold-down-s', '1', '--sample-hz', values['sample-hz']!, '--idle-sample-hz', values['idle-sample-hz']!, '--confirm-ms', values['confirm-ms']!, '--health', '127.0.0.1:9732'], { bundle });
    for (let i = 0; (await call('GET', `/api/v1/nodes/${node.body.node.uuid}`)).body.node.status !== 'online'; i++) {
      if (i > 60) throw new Error('the agent never came online');
      await new Promise((r) => setTimeout(r, 500));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const pid = agentPid(agent.pid!);
    const idle = await usage(pid, Number(values['idle-s']) * 1000);
    console.log(`bench: ${FLOODS} ${values.kind} floods, agent (${bundle ? 'bundle, plain node' : 'sources, tsx'}) sampling at ${values['sample-hz']} Hz (${values['idle-sample-hz']} Hz at idle), confirming over ${values['confirm-ms']} ms`);

    const toConfirmed: number[] = [];
    const toReported: number[] = [];
    const toIncident: number[] = [];
    const toRoute: number[] = [];
    const trace = new Map<string, number[]>();
    let underFlood = { cpu: 0, rssMiB: 0, peakMiB: 0 };
    for (let i = 0; i < FLOODS; i++) {
      const nOpened = opened.length;
      const nReported = reported.length;
      const nRoutes = routeSeen.length;
      const t0 = performance.now();
      const wall0 = Date.now();
      const flood = lab.flood(values.kind as FloodKind, { packets: 30_000, intervalUs: 100, maxSeconds: 8 });
      if (i === 0) underFlood = await usage(pid, 2000);
      await flood;
      for (let w = 0; opened.length === nOpened || routeSeen.length === nRoutes; w++) {
        if (w > 100) throw new Error(`flood ${i}: no incident or no route`);
        await new Promise((r) => setTimeout(r, 100));
      }
      toReported.push(reported[nReported]! - t0);
      toIncident.push(opened[nOpened]! - t0);
      toRoute.push(routeSeen[nRoutes]! - t0);
      // The agent's started_at is the moment it confirmed the attack (its clock is this host's).
      const newest = (await call('GET', `/api/v1/incidents?node=${node.body.node.uuid}`)).body.incidents[0];
      toConfirmed.push(Date.parse(newest.started_at) - wall0);
      const ruleId = (await call('GET', `/api/v1/incidents/${newest.id}`)).body.rules[0]?.id as number | undefined;
      if (ruleId !== undefined) await traceServer(stack, newest.id, ruleId, { answered: wall0 + opened[nOpened]! - t0, router: wall0 + routeSeen[nRoutes]! - t0 }, trace);
      // Wait until the incident is resolved and the route withdrawn before the next flood.
      for (let w = 0; ; w++) {
        const list = (await call('GET', `/api/v1/incidents?node=${node.body.node.uuid}&status=open`)).body.incidents;
        const rules = (await call('GET', '/api/v1/mitigation/rules')).body.rules;
        if (list.length === 0 && rules.length === 0) break;
        if (w > 300) throw new Error(`flood ${i}: never stepped down`);
        await new Promise((r) => setTimeout(r, 100));
      }
      process.stdout.write('.');
    }
    console.log();
    console.log(summary('flood start -> confirmed in the agent', toConfirmed));
    console.log(summary('flood start -> report reached the API', toReported));
    console.log(summary('flood start -> incident open at API', toIncident));
    console.log(summary('flood start -> route at router', toRoute));
    for (const [segment, samples] of trace) console.log(summary(`  ${segment}`, samples));
    console.log(`agent idle:        CPU ${(idle.cpu * 100).toFixed(2)} % of a core over ${values['idle-s']} s, RSS ${idle.rssMiB.toFixed(1)} MiB (at most ${idle.peakMiB.toFixed(1)})`);
    console.log(`agent under flood: CPU ${(underFlood.cpu * 100).toFixed(1)} % of a core, RSS ${underFlood.rssMiB.toFixed(1)} MiB (at most ${underFlood.peakMiB.toFixed(1)}; first 2 s of a ~10 kpps flood, capture running)`);
    console.log(`agent RSS high-water mark over the whole run: ${statusMiB(pid, 'VmHWM').toFixed(1)} MiB`);
  } finally {
    watch.close();
    await lab.destroy();
    await killGroup(workerChild);
    await stack.stop();
    await teardown();
    await bgp.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
