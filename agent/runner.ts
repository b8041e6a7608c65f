// The agent's main loop: sample traffic many times a second, feed the detector, and turn
// its events into the agent protocol. An incident opens in the very sample that confirms
// the attack (the report goes to the API client's incident lane at once) with what the
// rolling capture's last half second of packets says. When the ring holds too few packets
// yet (tcpdump still starting, for a flood that came at once), the report waits for it a
// little (evidenceWaitMs), then opens with the counters' guess, marked as one: it never
// drives a dropping rule; the ring is still tried as it fills, so a rule need not wait for
// the bounded capture. The incident is refined when the bounded capture's classification
// is ready, and re-classified every so often while the attack lasts; per-second metrics
// and heartbeats go out in the background; commands are long-polled and run. Per sample
// the work is a few comparisons: no allocation beyond the sample itself while traffic is
// far from the threshold.
import type { AgentConfig, BaselineSummary, DeliveredCommand, MetricSample, NodeCommandResult, WireClassification } from '../domain/agent-protocol.js';
import type { AttackFamily, Classification } from '../domain/attack.js';
import type { AgentApiClient } from './api-client.js';
import { wireClassification } from './wire-classification.js';

export interface TrafficSample {
  atMs: number;
  pps: number;
  bps: number;
  /** Share of inbound packets per protocol, 0..1. */
  mix: { tcp: number; udp: number; icmp: number; other: number };
}

export type DetectorEvent =
  | AttackStarted
  | { type: 'attack_updated'; atMs: number; pps: number; bps: number }
  | { type: 'attack_ended'; atMs: number };

export interface AttackStarted {
  type: 'attack_started';
  atMs: number;
  pps: number;
  bps: number;
}

export interface RunnerParts {
  api: AgentApiClient;
  /** Reads the interface once; null when it cannot (interface gone). */
  sample(): TrafficSample | null;
  /**
   * The detection state machine, reconfigured when the server's thresholds change. `near`:
   * the sample reaches `share` of a threshold (half by default: the rolling capture runs).
   */
  detector: { observe(s: TrafficSample): readonly DetectorEvent[]; configure(config: AgentConfig): void; near?(s: TrafficSample, share?: number): boolean };
  /** Captures the attack `ref` on `victim` (bounded, uploaded to the incident) and classifies it; null when nothing could be captured. */
  classify(victim: string, config: AgentConfig, ref: string): Promise<Classification | null>;
  /**
   * The rolling capture (agent/rolling-capture.ts): `arm` keeps it running (called for each
   * sample near the threshold and during an attack; it stops by itself a while after the
   * last call); `classify` classifies the last window it holds, null when it holds nothing;
   * `held`, the packets it holds now (cheap: gates trying it again while it fills).
   */
  recent?: { arm(victim: string): void; classify(victim: string): Classification | null; held?(): number };
  runCommand(command: DeliveredCommand): Promise<NodeCommandResult>;
  /** The config's allowlist, at start and at each refresh: firewall rule sets follow it (run in turn with firewall commands). */
  allowlistChanged?(allowlist: string[]): Promise<void>;
  /** Learns normal traffic, one second at a time (never during an attack). */
  baseline?: { add(atMs: number, pps: number, bps: number): void; summary(atMs: number): BaselineSummary };
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void;
}

export interface RunnerOptions {
  sampleHz: number;
  /**
   * The rate while the traffic stays under IDLE_SHARE of every threshold and no attack is
   * going on (sampleHz when unset): fewer wake-ups at idle, which is most of an idle agent's
   * CPU, for at most one idle interval more before a flood is first seen (from that sample
   * on, sampleHz).
   */
  idleSampleHz?: number;
  heartbeatMs: number;
  configRefreshMs: number;
  /** Commands long poll, seconds. */
  commandWaitS: number;
  /** During an attack, how often the rolling capture's packets are classified again (30 s); the incident is updated when the classification changed. */
  reclassifyMs?: number;
  /** Packets to the victim the rolling capture must hold for its classification to open the incident (50). */
  minRecentPackets?: number;
  /**
   * When an attack is confirmed and the rolling capture holds too few packets yet (it starts
   * at half the threshold; a flood that comes at once is confirmed ~50 ms later), how long
   * the report waits for it to hold enough (200 ms): an incident opened on the counters'
   * guess gets no rule until captured evidence comes.
   */
  evidenceWaitMs?: number;
  /** After that, once the incident opened on the counters' guess, how long the rolling capture is still tried as it fills (2 s; the bounded capture follows anyway). */
  earlyRetryMs?: number;
}

export interface RunnerStatus {
  state: 'normal' | 'attack';
  incident: string | null;
  lastSample: TrafficSample | null;
  samples: number;
  queued: number;
  dropped: number;
}

const topOfMix = (mix: TrafficSample['mix']) => (Object.entries(mix) as Array<[keyof TrafficSample['mix'], number]>).sort((a, b) => b[1] - a[1])[0]!;

/** What the counters alone say of an attack: a protocol, never TCP flags (an ACK flood and a download look the same to them). */
export function familyFromMix(mix: TrafficSample['mix']): AttackFamily {
  const [top, share] = topOfMix(mix);
  if (share < 0.6) return 'multi_vector';
  return top === 'udp' ? 'udp_flood' : top === 'tcp' ? 'tcp_flood' : top === 'icmp' ? 'icmp_flood' : 'unknown';
}

/** The counters' guess as the incident carries it: marked as such, so the control plane never drops on it. */
export function countersGuess(mix: TrafficSample['mix']): WireClassification {
  const [top, share] = topOfMix(mix);
  return {
    family: familyFromMix(mix),
    subtype: null,
    verdict: 'inconclusive',
    evidence: 'counters',
    reasons: [`counters only: ${Math.round(share * 100)} % of inbound packets are ${top}; no packets were classified yet`],
    protocol_mix: mix,
  };
}

/** Length ranges of `next` all within those of `prev`: a rule on `prev`'s still covers the attack. */
function within(next: Array<{ from: number; to: number }> | undefined, prev: Array<{ from: number; to: number }> | undefined): boolean {
  if (!next || !prev) return next === prev;
  return next.every((r) => prev.some((p) => r.from >= p.from && r.to <= p.to));
}

/**
 * Whether a classification says something new for the control plane's rules: another
 * family, subtype, verdict or kind of evidence, or a signature whose match differs (packet
 * lengths that only narrowed do not count: the rule in place still covers them, and a
 * rule replaced at each re-classification would churn for nothing).
 */
export function classificationChanged(prev: WireClassification | null, next: WireClassification): boolean {
  if (!prev) return true;
  if (prev.family !== next.family || (prev.subtype ?? null) !== (next.subtype ?? null) || prev.verdict !== next.verdict || prev.evidence !== next.evidence) return true;
  const [a, b] = [prev.signature?.match ?? null, next.signature?.match ?? null];
  if (!a || !b) return a !== b;
  const { packet_lengths: la, ...ra } = a;
  const { packet_lengths: lb, ...rb } = b;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]) as Set<keyof typeof ra>;
  return [...keys].some((k) => JSON.stringify(ra[k]) !== JSON.stringify(rb[k])) || !within(lb, la);
}

/** Traffic under this share of every threshold is idle: sampled at idleSampleHz. */
export const IDLE_SHARE = 0.25;

/** How long a normal second waits before the baseline learns it (confirmation takes well under one). */
const LEARN_AFTER_SECONDS = 2;

export function startRunner(parts: RunnerParts, config: AgentConfig, opts: RunnerOptions) {
  let current = config;
  parts.detector.configure(current);
  const status: RunnerStatus = { state: 'normal', incident: null, lastSample: null, samples: 0, queued: 0, dropped: 0 };
  let stopped = false;
  /** The second being aggregated: its peaks so far, and its last mix. */
  let second: { startMs: number; pps: number; bps: number; mix: TrafficSample['mix'] } | null = null;
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
  const reclassifyMs = opts.reclassifyMs ?? 30_000;
  const minRecentPackets = opts.minRecentPackets ?? 50;
  const evidenceWaitMs = opts.evidenceWaitMs ?? 200;
  const earlyRetryMs = opts.earlyRetryMs ?? 2000;
  /** What the incident was last told of the attack, and when the rolling capture was last classified (sample time). */
  let sent: WireClassification | null = null;
  let classifiedAtMs = 0;
  /**
   * The rolling capture's evidence, awaited for the attack `ref`: before the incident opens
   * (until `untilMs`, sample time; then it opens on the counters' guess), and after it
   * opened on the guess (until `untilMs` again, pushed on by earlyRetryMs). `held`: the
   * packets the ring held at the last try; it is tried again once it holds twice as many,
   * so a ring that never gets enough packets to the host costs little.
   */
  let awaiting: { ref: string; started: AttackStarted; opened: boolean; untilMs: number; held: number } | null = null;

  /** The rolling capture's classification, when it holds enough packets to the victim. */
  function classifyRecent(ref: string): Classification | null {
    if (!parts.recent) return null;
    try {
      const c = parts.recent.classify(victim());
      return c && c.packets >= minRecentPackets ? c : null;
    } catch (err) {
      parts.log('error', 'classifying the rolling capture failed', { ref, error: (err as Error).message });
      return null;
    }
  }

  const figures = (fallback: { pps: number; bps: number }) => {
    const last = status.lastSample ?? fallback;
    return { pps: Math.round(last.pps), bps: Math.round(last.bps) };
  };

  /** Opens the incident with the rolling capture's classification, or else the counters' guess; then takes the bounded capture. */
  function openIncident(ref: string, e: AttackStarted, recent: Classification | null) {
    const mix = status.lastSample?.mix;
    const classification = recent ? wireClassification(recent) : mix ? countersGuess(mix) : undefined;
    sent = classification ?? null;
    parts.api.openIncident({ ref, target_ip: victim(), started_at: new Date(e.atMs).toISOString(), ...figures(e), ...(classification ? { classification } : {}) });
    parts.log('warn', 'attack detected', { ref, pps: e.pps, bps: e.bps, family: classification?.family, verdict: classification?.verdict, evidence: classification?.evidence, packets: recent?.packets ?? 0 });
    void parts
      .classify(victim(), current, ref)
      .then((c) => {
        if (c && status.incident === ref) {
          awaiting = null;
          sent = wireClassification(c);
          parts.api.updateIncident(ref, { ...figures(e), classification: sent });
          parts.log('info', 'attack classified', { ref, family: c.family, subtype: c.subtype, verdict: c.verdict, confidence: c.confidence });
        }
      })
      .catch((err: Error) => parts.log('error', 'classification failed', { ref, error: err.message }));
  }

  function onEvent(e: DetectorEvent) {
    if (e.type === 'attack_started') {
      const ref = `${current.node.uuid.slice(0, 8)}-${e.atMs}-${++seq}`;
      status.state = 'attack';
      unlearned.length = 0;
      status.incident = ref;
      const recent = classifyRecent(ref);
      classifiedAtMs = e.atMs;
      // Reported in this very sample, unless the rolling capture (armed from half the
      // threshold: still starting, for a flood that came at once) may soon hold enough.
      const wait = !recent && parts.recent !== undefined && evidenceWaitMs > 0;
      awaiting = parts.recent && !recent ? { ref, started: e, opened: !wait, untilMs: e.atMs + (wait ? evidenceWaitMs : earlyRetryMs), held: parts.recent.held?.() ?? 0 } : null;
      if (!wait) openIncident(ref, e, recent);
    } else if (e.type === 'attack_updated' && status.incident && awaiting?.opened !== false) {
      parts.api.updateIncident(status.incident, { pps: Math.round(e.pps), bps: Math.round(e.bps) });
    } else if (e.type === 'attack_ended' && status.incident) {
      if (awaiting?.opened === false) openIncident(awaiting.ref, awaiting.started, null);
      parts.api.resolveIncident(status.incident, { ended_at: new Date(e.atMs).toISOString() });
      parts.log('info', 'attack ended', { ref: status.incident });
      status.state = 'normal';
      status.incident = null;
      sent = null;
      awaiting = null;
    }
  }

  /** The rolling capture's evidence, awaited: tried again once it holds more; the incident opens (or is updated) with it. */
  function awaitEvidence(s: TrafficSample) {
    const a = awaiting!;
    if (status.incident !== a.ref) {
      awaiting = null;
      return;
    }
    const held = parts.recent?.held?.();
    if (held === undefined || (held >= minRecentPackets && held >= 2 * a.held)) {
      a.held = held ?? 0;
      const c = classifyRecent(a.ref);
      if (c) {
        awaiting = null;
        classifiedAtMs = s.atMs;
        if (!a.opened) return openIncident(a.ref, a.started, c);
        sent = wireClassification(c);
        parts.api.updateIncident(a.ref, { ...figures(s), classification: sent });
        parts.log('info', 'attack classified from the rolling capture', { ref: a.ref, family: c.family, subtype: c.subtype, verdict: c.verdict, packets: c.packets });
        return;
      }
    }
    if (s.atMs < a.untilMs) return;
    if (a.opened) {
      awaiting = null; // the bounded capture will tell
      return;
    }
    openIncident(a.ref, a.started, null);
    a.opened = true;
    a.untilMs = s.atMs + earlyRetryMs;
  }

  /** During an attack: the rolling capture's packets classified again; the incident hears of a change. */
  function reclassify(s: TrafficSample) {
    const ref = status.incident;
    if (!ref || s.atMs - classifiedAtMs < reclassifyMs) return;
    classifiedAtMs = s.atMs;
    const c = classifyRecent(ref);
    if (!c) return;
    const next = wireClassification(c);
    if (!classificationChanged(sent, next)) return;
    sent = next;
    parts.api.updateIncident(ref, { ...figures(s), classification: next });
    parts.log('info', 'attack re-classified', { ref, family: c.family, subtype: c.subtype, verdict: c.verdict, packets: c.packets });
  }

  /** Per-second figures for the metrics stream: the second's peak, so short bursts show. */
  function aggregate(s: TrafficSample) {
    if (second && s.atMs - second.startMs >= 1000) {
      const done: MetricSample = { at: new Date(second.startMs).toISOString(), pps: Math.round(second.pps), bps: Math.round(second.bps), protocol_mix: second.mix };
      pendingMetrics.push(done);
      if (status.state === 'normal') unlearned.push({ startMs: second.startMs, pps: done.pps, bps: done.bps });
      while (unlearned.length > LEARN_AFTER_SECONDS) {
        const learned = unlearned.shift()!;
        parts.baseline?.add(learned.startMs, learned.pps, learned.bps);
      }
      second = null;
    }
    if (!second) second = { startMs: s.atMs - (s.atMs % 1000), pps: s.pps, bps: s.bps, mix: s.mix };
    else {
      if (s.pps > second.pps) second.pps = s.pps;
      if (s.bps > second.bps) second.bps = s.bps;
      second.mix = s.mix;
    }
  }

  function tick() {
    const s = parts.sample();
    pace(s);
    if (!s) return;
    status.lastSample = s;
    status.samples++;
    aggregate(s);
    // Near the threshold, or in an attack: the rolling capture runs, so packets are ready when it is confirmed.
    if (parts.recent && (status.state === 'attack' || parts.detector.near?.(s))) parts.recent.arm(victim());
    if (awaiting) awaitEvidence(s);
    for (const e of parts.detector.observe(s)) onEvent(e);
    if (status.state === 'attack' && awaiting?.opened !== false) reclassify(s);
  }

  // Sampled at sampleHz, or at idleSampleHz while the traffic is idle; the interval is
  // replaced only when the pace changes, so a steady pace costs one timer.
  const fastMs = 1000 / opts.sampleHz;
  const idleMs = 1000 / (opts.idleSampleHz ?? opts.sampleHz);
  let everyMs = fastMs;
  let sampleTimer = setInterval(tick, everyMs);
  function pace(s: TrafficSample | null) {
    const idle = s !== null && status.state === 'normal' && !awaiting && parts.detector.near?.(s, IDLE_SHARE) === false;
    const ms = idle ? idleMs : fastMs;
    if (ms === everyMs || stopped) return;
    clearInterval(sampleTimer);
    everyMs = ms;
    sampleTimer = setInterval(tick, everyMs);
  }

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
