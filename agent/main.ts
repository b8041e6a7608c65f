// The host agent: `node dist/agent.mjs --api https://bulwark.example --key <node key>` (or
// --config /etc/bulwark/agent.json with the same keys), the one file `npm run build:agent`
// bundles from here (scripts/build-agent.mjs); `node --import tsx agent/main.ts` runs the
// sources. See agent/bulwark-agent.service.
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { formatPrefix, mustParsePrefix } from '../domain/prefix.js';
import type { AgentConfig, DeliveredCommand, NodeCommandResult } from '../domain/agent-protocol.js';
import { AgentApiClient } from './api-client.js';
import { Baseline } from './baseline.js';
import { capture } from './capture.js';
import { classify } from '../domain/classify.js';
import { busiestInterface, createSampler, RATE_WINDOW_MS } from './counters.js';
import { DEFAULT_DETECTOR, Detector } from './detector.js';
import { createFirewall, type Firewall, type KeepPath } from './firewall.js';
import { InstalledRuleSets } from './installed-rulesets.js';
import type { FirewallSuite } from '../domain/firewall.js';
import { parsePcap } from '../domain/pcap.js';
import { listeningPorts } from './listening-ports.js';
import { AGENT_METRICS_CONTENT_TYPE, renderAgentMetrics } from './metrics.js';
import { PcapUploader } from './pcap-uploader.js';
import { RollingCapture } from './rolling-capture.js';
import { startRunner } from './runner.js';
import { wireClassification } from './wire-classification.js';

const USAGE = `usage: bulwark-agent --api <url> --key <64-hex node key> [--interface <if>] [--config <file.json>]
  [--sample-hz 100] [--idle-sample-hz 50] [--confirm-ms 50] [--rate-window-ms 30] [--hold-down-s 10] [--health 127.0.0.1:9731]
  [--state-dir /var/lib/bulwark-agent] [--baseline-min-samples 600] [--config-refresh-s 60]
  (--confirm-samples N, deprecated: N samples at --sample-hz, i.e. --confirm-ms (N-1)*1000/hz)`;

const { values } = parseArgs({
  options: {
    api: { type: 'string' },
    key: { type: 'string' },
    token: { type: 'string' },
    interface: { type: 'string' },
    config: { type: 'string' },
    'sample-hz': { type: 'string' },
    'idle-sample-hz': { type: 'string' },
    'confirm-ms': { type: 'string' },
    'confirm-samples': { type: 'string' },
    'rate-window-ms': { type: 'string' },
    'hold-down-s': { type: 'string' },
    health: { type: 'string' },
    'state-dir': { type: 'string' },
    'baseline-min-samples': { type: 'string' },
    'config-refresh-s': { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const file = values.config ? (JSON.parse(readFileSync(values.config, 'utf8')) as Record<string, string | number>) : {};
const opt = (name: string): string | undefined => (values as Record<string, string | undefined>)[name] ?? (file[name] !== undefined ? String(file[name]) : undefined);
const num = (name: string, dflt: number, least: 'positive' | 'zero' = 'positive') => {
  const v = opt(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && least === 'positive')) fail(`--${name} must be a ${least === 'positive' ? 'positive' : 'non-negative'} number, not "${v}"`);
  return n;
};
function fail(message: string): never {
  console.error(`bulwark-agent: ${message}\n${USAGE}`);
  process.exit(2);
}

const apiUrl = opt('api') ?? fail('--api is required');
const nodeKey = opt('key') ?? opt('token') ?? fail('--key is required (the api_key POST /nodes answered)');
if (!/^[0-9a-f]{64}$/i.test(nodeKey)) fail('the node key is 64 hexadecimal characters');
const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { agent: 'bulwark' } });
const sampleHz = num('sample-hz', 100);
/** Far from every threshold, fewer samples (agent/runner.ts, idleSampleHz): never more than --sample-hz. */
const idleSampleHz = Math.min(sampleHz, num('idle-sample-hz', 50));
/**
 * How long traffic stays over the threshold before an attack is confirmed. --confirm-samples
 * (a count, at the old 20 Hz) still works: N samples span N-1 sampling intervals.
 */
const confirmMs = (() => {
  if (opt('confirm-ms') !== undefined) {
    if (opt('confirm-samples') !== undefined) fail('--confirm-samples is the deprecated form of --confirm-ms: give one of them');
    return num('confirm-ms', DEFAULT_DETECTOR.confirmMs, 'zero');
  }
  if (opt('confirm-samples') === undefined) return DEFAULT_DETECTOR.confirmMs;
  const n = num('confirm-samples', 1);
  if (!Number.isInteger(n)) fail(`--confirm-samples must be a whole number, not "${opt('confirm-samples')}"`);
  const ms = Math.round(((n - 1) * 1000) / sampleHz);
  log.warn({ confirmSamples: n, sampleHz, confirmMs: ms }, `--confirm-samples is deprecated: use --confirm-ms ${ms}`);
  return ms;
})();
const stateDir = opt('state-dir') ?? '/var/lib/bulwark-agent';
mkdirSync(stateDir, { recursive: true });
/** Messages the API kept failing on, set aside so the ones behind them go on: kept for a person to read. */
const deadLetters = join(stateDir, 'dead-letters.jsonl');
const api = new AgentApiClient({
  baseUrl: apiUrl,
  nodeKey,
  onError: (err, attempt) => attempt % 10 === 0 && log.warn({ err: err.message, attempt }, 'API unreachable; retrying'),
  onDeadLetter: (message, err) => {
    log.error({ path: message.path, err: err.message, file: deadLetters }, 'the API keeps failing on this message: set aside');
    appendFileSync(deadLetters, JSON.stringify({ at: new Date().toISOString(), error: err.message, ...message }) + '\n', { mode: 0o600 });
  },
});

async function firstConfig(): Promise<AgentConfig> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.config();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot read the config yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
    }
  }
}

const config = await firstConfig();
const chosen = opt('interface') ?? config.node.interface ?? busiestInterface()?.name;
if (!chosen) fail('no network interface to watch; pass --interface');
const iface: string = chosen;
const sampler = createSampler(iface, { windowMs: num('rate-window-ms', RATE_WINDOW_MS) });
const detectorSettings = () => ({
  confirmMs,
  holdDownMs: num('hold-down-s', DEFAULT_DETECTOR.holdDownMs / 1000) * 1000,
  hysteresis: DEFAULT_DETECTOR.hysteresis,
  updateEveryMs: DEFAULT_DETECTOR.updateEveryMs,
});
// Dynamic mode: the hour's baseline sets the thresholds once it has enough data; until
// then, and in static mode, the server's (the policy's lowest tier, per-host overrides applied).
const baselinePath = join(stateDir, 'baseline.json');
const loaded = Baseline.load(baselinePath, { minSamples: num('baseline-min-samples', 600) });
if (loaded.problem) log.warn(loaded.problem);
const baseline = loaded.baseline;
let mode = config.baseline_mode;
const thresholds = (c: AgentConfig) => {
  mode = c.baseline_mode;
  const learned = c.baseline_mode === 'dynamic' ? baseline.summary(Date.now()).threshold : null;
  return learned ?? { pps: c.detection.pps, bps: c.detection.bps };
};
const detector = new Detector({ ...thresholds(config), ...detectorSettings() });

/** Captures that capture commands are running, so stop_capture can end them. */
const captures = new Set<AbortController>();

/** The API server's addresses and port, resolved at each change: every rule set accepts them first, so no rule set can cut the agent off. */
async function apiPaths(): Promise<KeepPath[]> {
  const url = new URL(apiUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  return [...new Set(addresses)].map((address) => ({ address, port }));
}
const firewall = async (suite: FirewallSuite, allowlist: string[]): Promise<Firewall> => createFirewall(suite, { keep: await apiPaths(), allowlist });
const installed = new InstalledRuleSets(join(stateDir, 'rulesets.json'), firewall, config.allowlist);

/** Typed commands, each mapped onto the firewall module or tcpdump; never a shell. */
async function runCommand(command: DeliveredCommand): Promise<NodeCommandResult> {
  switch (command.type) {
    case 'apply_ruleset':
      await installed.apply(command.suite, command.ruleset);
      return { ok: true, detail: { ruleset: command.ruleset.name, rules: command.ruleset.rules.length } };
    case 'remove_ruleset':
      await installed.remove(command.suite, command.name);
      return { ok: true, detail: { ruleset: command.name } };
    case 'block_source':
    case 'unblock_source': {
      const source = formatPrefix(mustParsePrefix(command.source));
      const name = `src_${createHash('sha256').update(source).digest('hex').slice(0, 16)}`;
      if (command.type === 'block_source') await installed.apply(command.suite, { name, rules: [{ action: 'drop', source }] });
      else await installed.remove(command.suite, name);
      return { ok: true, detail: { source, ruleset: name } };
    }
    case 'capture': {
      const stop = new AbortController();
      captures.add(stop);
      try {
        const capturedAt = new Date();
        const res = await capture(iface, { maxPackets: command.max_packets, maxSeconds: command.seconds, maxBytes: 64 * 1024 * 1024, snaplen: 256 }, { signal: stop.signal });
        const uploading = command.incident_ref !== undefined && uploader.add(command.incident_ref, res.pcap, capturedAt);
        const c = classify(parsePcap(res.pcap).packets, { victim: config.node.ip, listeningPorts: listeningPorts() });
        // The classification in full: a prefix incident's verdict is its nodes' captures together.
        return { ok: true, detail: { bytes: res.pcap.length, packets: c.packets, family: c.family, subtype: c.subtype, stopped_early: stop.signal.aborted, uploading, classification: wireClassification(c) } };
      } finally {
        captures.delete(stop);
      }
    }
    case 'stop_capture': {
      const running = [...captures];
      for (const c of running) c.abort();
      return { ok: true, detail: { stopped: running.length } };
    }
    default:
      // A control plane newer (or older) than this agent: say so rather than guess.
      return { ok: false, error: `unknown command type "${(command as { type: string }).type}"; is the agent up to date?` };
  }
}

function saveBaseline() {
  try {
    baseline.save(baselinePath);
  } catch (err) {
    log.warn({ err: (err as Error).message, path: baselinePath }, 'cannot save the baseline');
  }
}

/** Both directions: the classifier tells service traffic from a flood by the host's replies. */
const victimFilter = (victim: string) => `host ${victim}`;

// The last half second of packets, kept while traffic is near the threshold: an attack is
// classified the moment it is confirmed.
const recent = new RollingCapture(iface, { log: (level, msg, extra) => log[level](extra ?? {}, msg) });

// Captures go to the incident through a spool on disk: an outage or a restart loses none.
const uploader = new PcapUploader(join(stateDir, 'pcaps'), api, { log: (level, msg, extra) => log[level](extra ?? {}, msg) });
uploader.kick();

const runner = startRunner(
  {
    api,
    sample: () => sampler.sample(),
    detector: {
      observe: (s) => detector.observe(s),
      near: (s, share) => detector.near(s, share),
      configure: (c) => {
        detector.configure({ ...thresholds(c), ...detectorSettings() });
        saveBaseline();
      },
    },
    async classify(victim, cfg, ref) {
      const capturedAt = new Date();
      const res = await capture(iface, { maxPackets: cfg.capture.max_packets, maxSeconds: cfg.capture.max_seconds, maxBytes: cfg.capture.max_bytes, snaplen: cfg.capture.snaplen }, { filter: victimFilter(victim) });
      uploader.add(ref, res.pcap, capturedAt);
      const { packets } = parsePcap(res.pcap);
      return packets.length > 0 ? classify(packets, { victim, listeningPorts: listeningPorts() }) : null;
    },
    recent: {
      arm: (victim) => recent.arm(victimFilter(victim)),
      held: () => recent.held,
      classify(victim) {
        const packets = recent.packets();
        return packets.length > 0 ? classify(packets, { victim, listeningPorts: listeningPorts() }) : null;
      },
    },
    runCommand,
    async allowlistChanged(allowlist) {
      const n = await installed.allowlistIs(allowlist);
      if (n > 0) log.info({ rulesets: n, allowlist: allowlist.length }, 'allowlist changed: rule sets installed again with it');
    },
    baseline: { add: (at, pps, bps) => baseline.add(at, pps, bps), summary: (at) => ({ mode, ...baseline.summary(at) }) },
    log: (level, msg, extra) => log[level](extra ?? {}, msg),
  },
  config,
  { sampleHz, idleSampleHz, heartbeatMs: 5000, configRefreshMs: num('config-refresh-s', 60) * 1000, commandWaitS: 25 },
);
log.info({ iface, node: config.node.name, api: apiUrl, detection: config.detection, sampleHz, idleSampleHz, confirmMs }, 'agent running');

// Local health endpoint, loopback only: its state as JSON, and at /metrics for Prometheus.
const [healthHost, healthPort] = (opt('health') ?? '127.0.0.1:9731').split(':');
const health = createServer((req, res) => {
  const s = runner.status();
  if (req.url?.split('?')[0] === '/metrics') {
    res.writeHead(200, { 'content-type': AGENT_METRICS_CONTENT_TYPE });
    res.end(renderAgentMetrics({ status: s, rollingCapture: recent.running, pcapsPending: uploader.pending, pcapsUploaded: uploader.uploaded }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: true, interface: iface, ...s, captures: { pending: uploader.pending, uploaded: uploader.uploaded } }));
}).listen(Number(healthPort), healthHost);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, async () => {
    log.info('stopping');
    health.close();
    await runner.stop();
    recent.stop();
    uploader.stop();
    saveBaseline();
    process.exit(0);
  });
}
