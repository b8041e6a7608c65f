// The agent's main loop: sample traffic many times a second, feed the detector, and turn
// its events into the agent protocol: an incident opens at once with what the counters
// say, and is refined when the capture's classification is ready; per-second metrics and
// heartbeats go out in the background; commands are long-polled and run.
import { wireClassification, type AgentConfig, type BaselineSummary, type DeliveredCommand, type MetricSample, type NodeCommandResult } from '../domain/agent-protocol.js';
import type { AttackFamily, Classification } from '../domain/attack.js';
import type { AgentApiClient } from './api-client.js';

export interface TrafficSample {
  atMs: number;
  pps: number;
  bps: number;
  /** Share of inbound packets per protocol, 0..1. */
  mix: { tcp: number; udp: number; icmp: number; other: number };
}

export type DetectorEvent =
  | { type: 'attack_started'; atMs: number; pps: number; bps: number }
  | { type: 'attack_updated'; atMs: number; pps: number; bps: number }
  | { type: 'attack_ended'; atMs: number };

export interface RunnerParts {
  api: AgentApiClient;
  /** Reads the interface once; null when it cannot (interface gone). */
  sample(): TrafficSample | null;
  /** The detection state machine, reconfigured when the server's thresholds change. */
  detector: { observe(s: TrafficSample): DetectorEvent[]; configure(config: AgentConfig): void };
  /** Captures and classifies the attack `ref` on `victim`; null when nothing could be captured. */
  classify(victim: string, config: AgentConfig, ref: string): Promise<Classification | null>;
  runCommand(command: DeliveredCommand): Promise<NodeCommandResult>;
  /** The config's allowlist, at start and at each refresh: firewall rule sets follow it (run in turn with firewall commands). */
  allowlistChanged?(allowlist: string[]): Promise<void>;
  /** Learns normal traffic, one second at a time (never during an attack). */
  baseline?: { add(atMs: number, pps: number, bps: number): void; summary(atMs: number): BaselineSummary };
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void;
}

export interface RunnerOptions {
  sampleHz: number;
  heartbeatMs: number;
  configRefreshMs: number;
  /** Commands long poll, seconds. */
  commandWaitS: number;
}

export interface RunnerStatus {
  state: 'normal' | 'attack';
  incident: string | null;
  lastSample: TrafficSample | null;
  samples: number;
  queued: number;
  dropped: number;
}

/** What the counters alone say of an attack, before any packet was captured. */
export function familyFromMix(mix: TrafficSample['mix']): AttackFamily {
  const [top, share] = (Object.entries(mix) as Array<[keyof TrafficSample['mix'], number]>).sort((a, b) => b[1] - a[1])[0]!;
  if (share < 0.6) return 'multi_vector';
  return top === 'udp' ? 'udp_flood' : top === 'tcp' ? 'syn_flood' : top === 'icmp' ? 'icmp_flood' : 'unknown';
}

/** How long a normal second waits before the baseline learns it (confirmation takes well under one). */
const LEARN_AFTER_SECONDS = 2;

export function startRunner(parts: RunnerParts, config: AgentConfig, opts: RunnerOptions) {
  let current = config;
  parts.detector.configure(current);
  const status: RunnerStatus = { state: 'normal', incident: null, lastSample: null, samples: 0, queued: 0, dropped: 0 };
  let stopped = false;
  let second: { startMs: number; pps: number[]; bps: number[]; mix: TrafficSample['mix'] } | null = null;
  const pendingMetrics: MetricSample[] = [];
  // Seconds wait here before the baseline learns them: an attack is confirmed only some
  // samples after it starts, and the second it started in must not become normal.
  const unlearned: Array<{ startMs: number; pps: number; bps: number }> = [];
  let seq = 0;
  // Firewall changes (commands, an allowlist change) run one at a time, in order.
  let firewall: Promise<unknown> = Promise.resolve();
  const followAllowlist = (c: AgentConfig) => {
    if (!parts.allowlistChanged) return;
    firewall = firewall.then(() => parts.allowlistChanged!(c.allowlist)).catch((err: Error) => parts.log('error', 'reinstalling rule sets with the new allowlist failed', { error: err.message }));
  };
  followAllowlist(current);

  const victim = () => current.node.ip;

  function onEvent(e: DetectorEvent) {
    if (e.type === 'attack_started') {
      const ref = `${current.node.uuid.slice(0, 8)}-${e.atMs}-${++seq}`;
      status.state = 'attack';
      unlearned.length = 0;
      status.incident = ref;
      const mix = status.lastSample?.mix;
      parts.api.openIncident({
        ref,
        target_ip: victim(),
        started_at: new Date(e.atMs).toISOString(),
        pps: Math.round(e.pps),
        bps: Math.round(e.bps),
        ...(mix ? { classification: { family: familyFromMix(mix), confidence: 0.5, protocol_mix: mix } } : {}),
      });
      parts.log('warn', 'attack detected', { ref, pps: e.pps, bps: e.bps });
      void parts
        .classify(victim(), current, ref)
        .then((c) => {
          if (c && status.incident === ref) {
            const last = status.lastSample;
            parts.api.updateIncident(ref, { pps: Math.round(last?.pps ?? e.pps), bps: Math.round(last?.bps ?? e.bps), classification: wireClassification(c) });
            parts.log('info', 'attack classified', { ref, family: c.family, subtype: c.subtype, confidence: c.confidence });
          }
        })
        .catch((err: Error) => parts.log('error', 'classification failed', { ref, error: err.message }));
    } else if (e.type === 'attack_updated' && status.incident) {
      parts.api.updateIncident(status.incident, { pps: Math.round(e.pps), bps: Math.round(e.bps) });
    } else if (e.type === 'attack_ended' && status.incident) {
      parts.api.resolveIncident(status.incident, { ended_at: new Date(e.atMs).toISOString() });
      parts.log('info', 'attack ended', { ref: status.incident });
      status.state = 'normal';
      status.incident = null;
    }
  }

  /** Per-second figures for the metrics stream: the second's peak, so short bursts show. */
  function aggregate(s: TrafficSample) {
    if (second && s.atMs - second.startMs >= 1000) {
      const done: MetricSample = {
        at: new Date(second.startMs).toISOString(),
        pps: Math.round(Math.max(...second.pps)),
        bps: Math.round(Math.max(...second.bps)),
        protocol_mix: second.mix,
      };
      pendingMetrics.push(done);
      if (status.state === 'normal') unlearned.push({ startMs: second.startMs, pps: done.pps, bps: done.bps });
      while (unlearned.length > LEARN_AFTER_SECONDS) {
        const learned = unlearned.shift()!;
        parts.baseline?.add(learned.startMs, learned.pps, learned.bps);
      }
      second = null;
    }
    second ??= { startMs: s.atMs - (s.atMs % 1000), pps: [], bps: [], mix: s.mix };
    second.pps.push(s.pps);
    second.bps.push(s.bps);
    second.mix = s.mix;
  }

  const sampleTimer = setInterval(() => {
    const s = parts.sample();
    if (!s) return;
    status.lastSample = s;
    status.samples++;
    aggregate(s);
    for (const e of parts.detector.observe(s)) onEvent(e);
  }, 1000 / opts.sampleHz);

  const heartbeatTimer = setInterval(() => {
    if (pendingMetrics.length > 0) parts.api.metrics(pendingMetrics.splice(0));
    const s = status.lastSample;
    parts.api.heartbeat({
      traffic_state: status.state,
      ...(s ? { pps: Math.round(s.pps), bps: Math.round(s.bps), protocol_mix: s.mix } : {}),
      ...(parts.baseline ? { baseline: parts.baseline.summary(Date.now()) } : {}),
    });
    status.queued = parts.api.queued;
    status.dropped = parts.api.dropped;
  }, opts.heartbeatMs);

  const configTimer = setInterval(() => {
    parts.api
      .config()
      .then((c) => {
        current = c;
        parts.detector.configure(c);
        followAllowlist(c);
      })
      .catch((err: Error) => parts.log('warn', 'config refresh failed; keeping the last one', { error: err.message }));
  }, opts.configRefreshMs);

  // Polling never waits for a command to finish: a running command stays alive at the
  // control plane only while the agent polls. Firewall changes run one at a time, in the
  // order sent (apply, then remove); captures run beside them.
  // A command counts as running until its result is posted, so the control plane never
  // delivers it twice.
  const running = new Set<number>();
  const commands = (async () => {
    while (!stopped) {
      try {
        for (const { id, command } of await parts.api.pollCommands(opts.commandWaitS, [...running])) {
          if (running.has(id)) continue;
          running.add(id);
          const run = () =>
            parts
              .runCommand(command)
              .catch((err: Error): NodeCommandResult => ({ ok: false, error: err.message }))
              .then((result) => parts.api.postCommandResult(id, result))
              .finally(() => running.delete(id));
          if (command.type === 'capture' || command.type === 'stop_capture') void run();
          else firewall = firewall.then(run);
        }
      } catch (err) {
        if (stopped) break;
        parts.log('warn', 'command poll failed', { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();

  return {
    status: (): RunnerStatus => ({ ...status, queued: parts.api.queued, dropped: parts.api.dropped }),
    async stop() {
      stopped = true;
      clearInterval(sampleTimer);
      clearInterval(heartbeatTimer);
      clearInterval(configTimer);
      parts.api.stop();
      await commands.catch(() => undefined);
    },
  };
}
