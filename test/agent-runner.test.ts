// The agent's main loop on scripted traffic: what the dynamic baseline learns around an
// attack, and what an incident opens with (the rolling capture's classification, or the
// counters' guess marked as one) and is told when the attack changes.
import { describe, expect, it } from 'vitest';
import type { AgentApiClient } from '../agent/api-client.js';
import type { AgentConfig, OpenIncident, UpdateIncident, WireClassification } from '../domain/agent-protocol.js';
import type { Classification } from '../domain/attack.js';
import { Detector } from '../agent/detector.js';
import { classificationChanged, startRunner, type RunnerParts, type TrafficSample } from '../agent/runner.js';

const config: AgentConfig = {
  node: { uuid: '00000000-0000-4000-8000-000000000001', name: 'n', ip: '203.0.113.9', interface: null },
  baseline_mode: 'dynamic',
  detection: { pps: 5000, bps: null },
  tiers: [],
  capture: { max_packets: 1, max_seconds: 1, max_bytes: 1024, snaplen: 64 },
  allowlist: [],
};

/** Records what the runner tells the API; commands never come. */
function fakeApi() {
  const opened: string[] = [];
  const openBodies: OpenIncident[] = [];
  const updates: Array<{ ref: string; body: UpdateIncident }> = [];
  const api = {
    queued: 0,
    dropped: 0,
    openIncident: (b: OpenIncident) => {
      opened.push(b.ref);
      openBodies.push(b);
    },
    updateIncident: (ref: string, body: UpdateIncident) => void updates.push({ ref, body }),
    resolveIncident: () => undefined,
    metrics: () => undefined,
    heartbeat: () => undefined,
    config: async () => config,
    pollCommands: () => new Promise<never[]>((r) => setTimeout(() => r([]), 50)),
    postCommandResult: async () => undefined,
    stop: () => undefined,
  };
  return { api: api as unknown as AgentApiClient, opened, openBodies, updates };
}

describe('runner', () => {
  it('never lets the baseline learn the second an attack started in, nor the attack', async () => {
    // 20 samples a second of scripted time: 100 pps, an attack at 50,000 pps from 10.95 s to
    // 14 s (it starts in the last 50 ms of second 10, so that second ends before it is confirmed),
    // then 100 pps again until 30 s.
    let t = 0;
    const sample = (): TrafficSample | null => {
      if (t > 30_000) return null;
      const pps = t >= 10_950 && t < 14_000 ? 50_000 : 100;
      const s = { atMs: t, pps, bps: pps * 8000, mix: { tcp: 0, udp: 1, icmp: 0, other: 0 } };
      t += 50;
      return s;
    };
    const learned: Array<{ atMs: number; pps: number }> = [];
    const { api, opened } = fakeApi();
    // 100 ms of confirmation: the third sample over the threshold.
    const detector = new Detector({ pps: 5000, bps: null, confirmMs: 100, holdDownMs: 1000, hysteresis: 0.7, updateEveryMs: 1000 });
    const runner = startRunner(
      {
        api,
        sample,
        detector: { observe: (s) => detector.observe(s), configure: () => undefined },
        classify: async () => null,
        runCommand: async () => ({ ok: true }),
        baseline: { add: (atMs, pps) => void learned.push({ atMs, pps }), summary: () => ({ mode: 'static', hour: 0, samples: 0, ready: false, pps: { p50: 0, p95: 0, p99: 0 }, bps: { p50: 0, p95: 0, p99: 0 }, threshold: null }) },
        log: () => undefined,
      },
      config,
      { sampleHz: 1000, heartbeatMs: 60_000, configRefreshMs: 60_000, commandWaitS: 1 },
    );
    await expect.poll(() => t > 30_000, { timeout: 20_000, interval: 50 }).toBe(true);
    await runner.stop();

    expect(opened).toHaveLength(1);
    expect(learned.length).toBeGreaterThan(15);
    expect(Math.max(...learned.map((l) => l.pps))).toBe(100);
    const seconds = learned.map((l) => l.atMs / 1000);
    for (const s of [10, 11, 12, 13]) expect(seconds).not.toContain(s);
    expect(seconds).toContain(8); // 9 waited too, and was dropped with the attack: a normal second lost, no harm
    expect(seconds).toContain(20);
  });
});

describe('runner: sampling pace', () => {
  it('samples at the idle rate while the traffic is far from the threshold, at the full rate from the first sample near it, and through the attack', async () => {
    // Real time: idle at 20 Hz, full rate at 1000 Hz. Calm (100 pps against 5,000) until
    // the calm phase has lasted 500 ms, then 2,000 pps (40 %: near, no attack) for 300 ms,
    // then an attack (50,000 pps) held for 300 ms, then calm again.
    const phases = ['calm', 'near', 'attack', 'calm again'] as const;
    const ends = [500, 800, 1100, 1600];
    const counts = { calm: 0, near: 0, attack: 0, 'calm again': 0 };
    const pps = { calm: 100, near: 2000, attack: 50_000, 'calm again': 100 };
    const t0 = performance.now();
    let done = false;
    const sample = (): TrafficSample | null => {
      const t = performance.now() - t0;
      const i = ends.findIndex((end) => t < end);
      if (i < 0) {
        done = true;
        return null;
      }
      const phase = phases[i]!;
      counts[phase]++;
      return { atMs: Date.now(), pps: pps[phase], bps: 0, mix: { tcp: 0, udp: 1, icmp: 0, other: 0 } };
    };
    const detector = new Detector({ pps: 5000, bps: null, confirmMs: 50, holdDownMs: 60_000, hysteresis: 0.7, updateEveryMs: 60_000 });
    const { api, opened } = fakeApi();
    const runner = startRunner(
      {
        api,
        sample,
        detector: { observe: (s) => detector.observe(s), configure: () => undefined, near: (s, share) => detector.near(s, share) },
        classify: async () => null,
        runCommand: async () => ({ ok: true }),
        log: () => undefined,
      },
      config,
      { sampleHz: 1000, idleSampleHz: 20, heartbeatMs: 60_000, configRefreshMs: 60_000, commandWaitS: 1 },
    );
    await expect.poll(() => done, { timeout: 20_000, interval: 20 }).toBe(true);
    await runner.stop();
    expect(opened).toHaveLength(1);
    // 500 ms at 20 Hz is 10 samples (the first at full rate: the pace is set by what a sample shows).
    expect(counts.calm).toBeLessThanOrEqual(12);
    // Near the threshold and in the attack: the full rate, hundreds a phase on a quiet machine
    // (Node's timers fire at most once a millisecond; a loaded machine fires them later).
    expect(counts.near).toBeGreaterThan(30);
    expect(counts.attack).toBeGreaterThan(30);
    // The attack is not over (its hold-down is a minute): calm traffic is still sampled at the full rate.
    expect(counts['calm again']).toBeGreaterThan(30);
  });
});

/** A classification as domain/classify.ts returns it. */
function classification(over: Partial<Classification>): Classification {
  return {
    family: 'tcp_flood',
    subtype: 'ack',
    confidence: 0.97,
    verdict: 'attack',
    reasons: ['97 % of inbound packets are ACKs from 800 sources on flows the host never answered'],
    signature: { match: { protocols: [6], tcpFlags: ['ack'], packetLengths: [{ from: 40, to: 40 }] }, coverage: 1, collateral: 0, why: 'tcp, ack, 40 bytes' },
    packets: 400,
    bytes: 400 * 54,
    topSources: [{ value: '198.51.100.7', packets: 3 }],
    topDestinationPorts: [{ value: 443, packets: 400 }],
    sizeHistogram: { '0-63': 400 },
    protocolMix: { tcp: 1, udp: 0, icmp: 0, other: 0 },
    ...over,
  };
}

/**
 * Runs the runner on scripted time, 20 samples a second: 100 pps of TCP, then `attackPps`
 * from 2 s to `untilMs`. `recent(tMs)` is what the rolling capture classifies at that
 * time (undefined: the runner has no rolling capture).
 */
async function scripted(opts: { attackPps?: number; untilMs?: number; recent?: (tMs: number) => Classification | null; held?: (tMs: number) => number; capture?: Classification | null; reclassifyMs?: number }) {
  const untilMs = opts.untilMs ?? 4000;
  let t = 0;
  const sample = (): TrafficSample | null => {
    if (t > untilMs) return null;
    const pps = t >= 2000 ? (opts.attackPps ?? 20_000) : 100;
    const s = { atMs: t, pps, bps: pps * 400, mix: { tcp: 0.95, udp: 0.05, icmp: 0, other: 0 } };
    t += 50;
    return s;
  };
  const armedAt: number[] = [];
  const classifiedAt: number[] = [];
  const fake = fakeApi();
  const detector = new Detector({ pps: 5000, bps: null, confirmMs: 100, holdDownMs: 60_000, hysteresis: 0.7, updateEveryMs: 60_000 });
  const recent: RunnerParts['recent'] = opts.recent
    ? {
        arm: (victim) => {
          expect(victim).toBe(config.node.ip);
          armedAt.push(t - 50);
        },
        classify: (victim) => {
          expect(victim).toBe(config.node.ip);
          classifiedAt.push(t - 50);
          return opts.recent!(t - 50);
        },
        ...(opts.held ? { held: () => opts.held!(t - 50) } : {}),
      }
    : undefined;
  const runner = startRunner(
    {
      api: fake.api,
      sample,
      detector: { observe: (s) => detector.observe(s), configure: () => undefined, near: (s) => detector.near(s) },
      classify: async () => opts.capture ?? null,
      ...(recent ? { recent } : {}),
      runCommand: async () => ({ ok: true }),
      log: () => undefined,
    },
    config,
    { sampleHz: 1000, heartbeatMs: 60_000, configRefreshMs: 60_000, commandWaitS: 1, reclassifyMs: opts.reclassifyMs ?? 1000 },
  );
  await expect.poll(() => t > untilMs, { timeout: 20_000, interval: 20 }).toBe(true);
  await runner.stop();
  return { ...fake, armedAt, classifiedAt };
}

describe('runner: what an incident opens with', () => {
  it('the rolling capture\'s classification when it holds enough packets, as captured evidence', async () => {
    const { openBodies, armedAt, classifiedAt } = await scripted({ recent: () => classification({}) });
    expect(openBodies).toHaveLength(1);
    // Armed from the first sample near the threshold, before the attack was confirmed (2,100 ms: the third sample over it).
    expect(armedAt[0]).toBe(2000);
    expect(classifiedAt[0]).toBe(2100);
    expect(openBodies[0]!.classification).toMatchObject({
      family: 'tcp_flood',
      subtype: 'ack',
      verdict: 'attack',
      evidence: 'capture',
      packets: 400,
      signature: { match: { protocols: [6], tcp_flags: ['ack'] } },
    });
  });

  it('a benign verdict from the rolling capture opens the incident as benign', async () => {
    const benign = classification({ family: 'unknown', subtype: null, verdict: 'benign', signature: null, reasons: ['96 % of inbound TCP belongs to flows the host answers'] });
    const { openBodies } = await scripted({ recent: () => benign });
    expect(openBodies[0]!.classification).toMatchObject({ family: 'unknown', verdict: 'benign', evidence: 'capture', signature: null });
  });

  it('the counters\' guess, marked inconclusive and as counters\' evidence, when the rolling capture holds too few packets or there is none', async () => {
    const few = await scripted({ recent: () => classification({ packets: 49 }) });
    const none = await scripted({});
    const empty = await scripted({ recent: () => null });
    for (const { openBodies } of [few, none, empty]) {
      expect(openBodies).toHaveLength(1);
      const c = openBodies[0]!.classification as WireClassification;
      // Mostly TCP: a TCP flood of some kind, never "syn_flood" (the counters cannot see flags).
      expect(c).toMatchObject({ family: 'tcp_flood', subtype: null, verdict: 'inconclusive', evidence: 'counters', protocol_mix: { tcp: 0.95 } });
      expect(c.signature).toBeUndefined();
      expect(c.reasons![0]).toMatch(/^counters only: 95 % of inbound packets are tcp/);
    }
  });

  it('waits a little for the rolling capture when it held too few packets at confirmation, and opens with its classification once it holds enough', async () => {
    // Confirmed at 2,100 ms with 20 packets to the host in the ring; enough from 2,250 ms on (within the 200 ms wait).
    const { openBodies, updates, classifiedAt } = await scripted({ recent: (t) => classification({ packets: t < 2250 ? 20 : 400 }), capture: null, reclassifyMs: 60_000 });
    expect(openBodies).toHaveLength(1);
    expect(openBodies[0]!.classification).toMatchObject({ family: 'tcp_flood', subtype: 'ack', verdict: 'attack', evidence: 'capture', packets: 400 });
    // Opened as confirmed: its start and figures are the attack's, not the wait's.
    expect(openBodies[0]).toMatchObject({ started_at: new Date(2100).toISOString(), pps: 20_000 });
    expect(updates.filter((u) => u.body.classification)).toEqual([]);
    // Tried at each sample after the confirming one until it had enough, then no more.
    expect(classifiedAt).toEqual([2100, 2150, 2200, 2250]);
  });

  it('past the wait, opens on the counters\' guess and tells the incident as soon as the rolling capture holds enough', async () => {
    // Enough packets only from 2,400 ms on: the wait ends at 2,300 ms.
    const { openBodies, updates, classifiedAt } = await scripted({ recent: (t) => classification({ packets: t < 2400 ? 20 : 400 }), capture: null, reclassifyMs: 60_000 });
    expect(openBodies[0]!.classification).toMatchObject({ evidence: 'counters', verdict: 'inconclusive' });
    const told = updates.filter((u) => u.body.classification);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ ref: openBodies[0]!.ref, body: { pps: 20_000, classification: { family: 'tcp_flood', subtype: 'ack', verdict: 'attack', evidence: 'capture', packets: 400 } } });
    expect(classifiedAt).toEqual([2100, 2150, 2200, 2250, 2300, 2350, 2400]);
  });

  it('tries the filling ring again only as the packets it holds double, so a ring short of packets to the host costs little', async () => {
    // The ring holds 20 packets at confirmation, 60 from 2,200 ms, 100 from 2,400 ms, 130 from 2,600 ms; enough to the host from 2,400 ms on.
    const held = (t: number) => (t < 2200 ? 20 : t < 2400 ? 60 : t < 2600 ? 100 : 130);
    const { openBodies, updates, classifiedAt } = await scripted({ recent: (t) => classification({ packets: t < 2400 ? 30 : 90 }), held, capture: null, reclassifyMs: 60_000 });
    expect(openBodies[0]!.classification).toMatchObject({ evidence: 'counters' });
    // Not while it holds fewer than 50; at 2,200 ms (60); not at 2,400 ms (100: less than twice 60); at 2,600 ms (130), with
    // enough (the incident opened on the counters' guess at 2,300 ms, when the wait ended).
    expect(classifiedAt).toEqual([2100, 2200, 2600]);
    expect(updates.filter((u) => u.body.classification)).toHaveLength(1);
  });

  it('the bounded capture\'s classification updates the incident after it opened', async () => {
    const { openBodies, updates } = await scripted({ recent: () => null, capture: classification({ packets: 5000 }) });
    expect(openBodies[0]!.classification).toMatchObject({ evidence: 'counters' });
    const withClassification = updates.filter((u) => u.body.classification);
    expect(withClassification).toHaveLength(1);
    expect(withClassification[0]).toMatchObject({ ref: openBodies[0]!.ref, body: { classification: { family: 'tcp_flood', subtype: 'ack', evidence: 'capture', packets: 5000 } } });
  });
});

describe('runner: re-classification during an attack', () => {
  it('updates the incident only when the family, subtype, verdict or signature changed', async () => {
    // ACK flood from the start; from 5 s on, SYNs; packet lengths that only narrow do not count.
    const recent = (tMs: number) =>
      tMs < 5000
        ? classification({ signature: { match: { protocols: [6], tcpFlags: ['ack'], packetLengths: [{ from: tMs < 3500 ? 40 : 44, to: 60 }] }, coverage: 1, collateral: 0, why: '' } })
        : classification({ family: 'syn_flood', subtype: null, signature: { match: { protocols: [6], tcpFlags: ['syn'] }, coverage: 1, collateral: 0, why: '' } });
    const { updates, classifiedAt } = await scripted({ recent, untilMs: 7000, reclassifyMs: 1000 });
    // At the start, then once a second of the attack.
    expect(classifiedAt).toEqual([2100, 3100, 4100, 5100, 6100]);
    const told = updates.filter((u) => u.body.classification).map((u) => u.body.classification);
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ family: 'syn_flood', subtype: null, verdict: 'attack', evidence: 'capture', signature: { match: { tcp_flags: ['syn'] } } });
  });

  it('classificationChanged: what counts as a change', () => {
    const base: WireClassification = { family: 'udp_flood', subtype: 'dns_amplification', verdict: 'attack', evidence: 'capture', signature: { match: { protocols: [17], source_ports: [{ from: 53, to: 53 }], packet_lengths: [{ from: 500, to: 1500 }] }, coverage: 1, collateral: 0, why: '' } };
    const sig = (m: NonNullable<WireClassification['signature']>['match']) => ({ ...base, signature: { ...base.signature!, match: m } });
    expect(classificationChanged(null, base)).toBe(true);
    expect(classificationChanged(base, { ...base, signature: { ...base.signature!, coverage: 0.9, why: 'other words' } })).toBe(false);
    expect(classificationChanged(base, sig({ protocols: [17], source_ports: [{ from: 53, to: 53 }], packet_lengths: [{ from: 600, to: 1400 }] }))).toBe(false);
    expect(classificationChanged(base, sig({ protocols: [17], source_ports: [{ from: 53, to: 53 }], packet_lengths: [{ from: 400, to: 1400 }] }))).toBe(true);
    expect(classificationChanged(base, sig({ protocols: [17], source_ports: [{ from: 53, to: 53 }] }))).toBe(true);
    expect(classificationChanged(base, sig({ protocols: [17], source_ports: [{ from: 123, to: 123 }], packet_lengths: [{ from: 500, to: 1500 }] }))).toBe(true);
    expect(classificationChanged(base, { ...base, signature: null })).toBe(true);
    expect(classificationChanged(base, { ...base, verdict: 'benign', signature: null })).toBe(true);
    expect(classificationChanged(base, { ...base, subtype: 'ntp_amplification' })).toBe(true);
    expect(classificationChanged({ ...base, evidence: 'counters', signature: null }, { ...base, signature: null })).toBe(true);
  });
});
