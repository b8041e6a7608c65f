// The detector's state machine and the real interface counters it is fed from.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Baseline } from '../agent/baseline.js';
import { Detector, type DetectorConfig } from '../agent/detector.js';
import type { DetectorEvent, TrafficSample } from '../agent/runner.js';
import { familyFromMix } from '../agent/runner.js';
import { createNsPair, type NsPair } from './support/netns.js';

const run = promisify(execFile);
// 200 ms of confirmation: three samples at the 10 Hz `feed` uses.
const config: DetectorConfig = { pps: 1000, bps: null, confirmMs: 200, holdDownMs: 1000, hysteresis: 0.7, updateEveryMs: 500 };
const mix = { tcp: 0, udp: 1, icmp: 0, other: 0 };

/** Feeds pps values at 10 Hz from t=0 and collects the events. */
function feed(d: Detector, pps: number[], startMs = 0): DetectorEvent[] {
  return pps.flatMap((v, i) => d.observe({ atMs: startMs + i * 100, pps: v, bps: v * 8000, mix }));
}

describe('detector', () => {
  it('needs the traffic over the threshold without a break for the confirmation time before it starts an attack', () => {
    const d = new Detector(config);
    expect(feed(d, [2000, 2000, 10, 2000, 2000, 10])).toEqual([]);
    expect(feed(d, [2000, 2000, 2000], 1000)).toEqual([{ type: 'attack_started', atMs: 1200, pps: 2000, bps: 16_000_000 }]);
    expect(d.inAttack).toBe(true);
  });

  it('confirms on time, not on a count of samples', () => {
    const over = (atMs: number) => ({ atMs, pps: 2000, bps: 16_000_000, mix });
    // Twenty samples over the threshold within 190 ms (100 Hz): not yet 200 ms.
    const fast = new Detector(config);
    expect(Array.from({ length: 20 }, (_, i) => fast.observe(over(i * 10))).flat()).toEqual([]);
    // The sample 200 ms after the first one over: confirmed, at that sample's time.
    expect(fast.observe(over(200))).toEqual([{ type: 'attack_started', atMs: 200, pps: 2000, bps: 16_000_000 }]);
    // Two samples 250 ms apart (a stalled sampler) are enough.
    const slow = new Detector(config);
    expect(slow.observe(over(0))).toEqual([]);
    expect(slow.observe(over(250)).map((e) => e.type)).toEqual(['attack_started']);
    // One sample under it, even 10 ms long, starts the wait again.
    const broken = new Detector(config);
    const dip = [...Array.from({ length: 19 }, (_, i) => over(i * 10)), { atMs: 190, pps: 999, bps: 0, mix }, ...Array.from({ length: 20 }, (_, i) => over(200 + i * 10))];
    expect(dip.flatMap((s) => broken.observe(s))).toEqual([]);
    expect(broken.observe(over(400)).map((e) => e.type)).toEqual(['attack_started']);
    // confirmMs 0: the first sample over it.
    expect(new Detector({ ...config, confirmMs: 0 }).observe(over(5)).map((e) => e.type)).toEqual(['attack_started']);
  });

  it('holds down before ending, with hysteresis, so flapping traffic makes one attack', () => {
    const d = new Detector(config);
    // Attack, then flapping between 1500 and 200 for 3 s (dips of 500 ms < hold-down), then 800 (above 70 %).
    const flapping = Array.from({ length: 30 }, (_, i) => (Math.floor(i / 5) % 2 === 0 ? 1500 : 200));
    const events = feed(d, [2000, 2000, 2000, ...flapping, ...Array(20).fill(800)]);
    expect(events.filter((e) => e.type === 'attack_started')).toHaveLength(1);
    expect(events.some((e) => e.type === 'attack_ended')).toBe(false);
    // Under 700 pps for the 1 s hold-down: ended, once.
    const end = feed(d, Array(15).fill(100), 10_000);
    expect(end.filter((e) => e.type === 'attack_ended')).toEqual([{ type: 'attack_ended', atMs: 11_000 }]);
    expect(d.inAttack).toBe(false);
  });

  it('throttles updates and keeps an attack across a reconfiguration', () => {
    const d = new Detector(config);
    const events = feed(d, Array(23).fill(5000));
    expect(events.map((e) => e.type)).toEqual(['attack_started', 'attack_updated', 'attack_updated', 'attack_updated', 'attack_updated']);
    d.configure({ ...config, pps: 100_000 });
    // Still the same attack; it ends by the new threshold's hold-down, not by a restart.
    const later = feed(d, Array(12).fill(5000), 5000).map((e) => e.type);
    expect(later.at(-1)).toBe('attack_ended');
    expect(later).not.toContain('attack_started');
  });

  it('triggers on bps when pps is not set, and never with neither', () => {
    const byBps = new Detector({ ...config, pps: null, bps: 1e6 });
    expect(feed(byBps, [200, 200, 200]).map((e) => e.type)).toEqual(['attack_started']);
    const never = new Detector({ ...config, pps: null, bps: null });
    expect(feed(never, Array(50).fill(1e9))).toEqual([]);
  });

  it('guesses the family from the protocol mix before any packet is captured', () => {
    expect(familyFromMix({ tcp: 0.05, udp: 0.9, icmp: 0.05, other: 0 })).toBe('udp_flood');
    // Mostly TCP: a TCP flood of some kind (the counters cannot see flags: an ACK flood and downloads look alike).
    expect(familyFromMix({ tcp: 0.9, udp: 0.1, icmp: 0, other: 0 })).toBe('tcp_flood');
    expect(familyFromMix({ tcp: 0, udp: 0, icmp: 1, other: 0 })).toBe('icmp_flood');
    expect(familyFromMix({ tcp: 0.5, udp: 0.5, icmp: 0, other: 0 })).toBe('multi_vector');
  });
});

describe('interface counters', () => {
  let pair: NsPair;
  beforeAll(() => {
    pair = createNsPair('bwk-cnt');
  });
  afterAll(() => pair?.destroy());

  it('measure real packets on a veth inside a namespace, with their protocol mix', async () => {
    // The sampler runs inside namespace b (its /proc/net/snmp is per namespace).
    const probe = `
      import { createSampler, busiestInterface } from '${process.cwd()}/agent/counters.ts';
      const s = createSampler('veth-b'); s.sample();
      setTimeout(() => { console.log(JSON.stringify({ sample: s.sample(), busiest: busiestInterface() })); }, 1500);`;
    const sampling = run('ip', ['netns', 'exec', pair.b.ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
    await new Promise((r) => setTimeout(r, 600));
    const send = `const s=require('dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(100);const go=()=>{if(n++>=3000)return s.close();s.send(b,9,'${pair.b.ip}',go)};go()`;
    await run('ip', ['netns', 'exec', pair.a.ns, process.execPath, '-e', send]);
    const out = JSON.parse((await sampling).stdout.trim().split('\n').pop()!) as { sample: TrafficSample; busiest: { name: string; virtual: boolean } };
    // 3000 packets over the ~1.5 s window: at least 3000/1.6 pps, and all UDP.
    expect(out.sample.pps).toBeGreaterThan(3000 / 1.6);
    expect(out.sample.bps).toBeGreaterThan(out.sample.pps * 8 * 100);
    expect(out.sample.mix.udp).toBeGreaterThan(0.95);
    expect(out.busiest).toEqual({ name: 'veth-b', virtual: true });
  });

  it('sampled 100 times a second: a rate at every sample, the flow while it lasts, nothing a window after it stopped', async () => {
    // The UDP goes to a closed port: the host answers port unreachables, so /proc/net/snmp
    // grows an IcmpMsg section mid-run (its lines move; the sampler must still find them).
    const probe = `
      import { createSampler } from '${process.cwd()}/agent/counters.ts';
      const s = createSampler('veth-b'); s.sample();
      const out = []; const timer = setInterval(() => out.push(s.sample()), 10);
      setTimeout(() => { clearInterval(timer); console.log(JSON.stringify(out)); }, 2500);`;
    const sampling = run('ip', ['netns', 'exec', pair.b.ns, process.execPath, '--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
    await new Promise((r) => setTimeout(r, 600));
    const send = `const s=require('dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(100);const go=()=>{if(n++>=3000)return s.close();s.send(b,9,'${pair.b.ip}',go)};go()`;
    await run('ip', ['netns', 'exec', pair.a.ns, process.execPath, '-e', send]);
    const samples = JSON.parse((await sampling).stdout.trim().split('\n').pop()!) as Array<TrafficSample | null>;
    expect(samples.length).toBeGreaterThan(50);
    expect(samples.filter((s) => s === null)).toEqual([]);
    const busy = samples.filter((s) => s!.pps > 0);
    expect(busy.length).toBeGreaterThan(0);
    const peak = busy.reduce((a, b) => (b!.pps > a!.pps ? b : a))!;
    expect(peak.bps).toBeGreaterThan(peak.pps * 8 * 100);
    expect(peak.mix.udp).toBeGreaterThan(0.95);
    // The sender finished well over a window before the last sample.
    expect(samples.at(-1)).toMatchObject({ pps: 0, bps: 0 });
  });
});

describe('dynamic baseline', () => {
  const hour = (h: number, s = 0) => Date.UTC(2026, 10, 24, h, 0, s);

  it('learns each hour apart, with percentiles within one bin (~9 %), and trusts it only with enough data', () => {
    const b = new Baseline({ minSamples: 100, floor: { pps: 1, bps: 1 } });
    for (let i = 0; i < 1000; i++) b.add(hour(3, i % 3600), 1000 + i, 8e6 + i * 8000); // uniform 1000..1999 pps
    for (let i = 0; i < 50; i++) b.add(hour(4, i), 50_000, 4e8);
    const s3 = b.summary(hour(3));
    expect(s3).toMatchObject({ hour: 3, samples: 1000, ready: true });
    expect(s3.pps.p50 / 1500).toBeGreaterThan(0.91);
    expect(s3.pps.p50 / 1500).toBeLessThan(1.1);
    expect(s3.pps.p99 / 1990).toBeGreaterThan(0.91);
    expect(s3.pps.p99 / 1990).toBeLessThan(1.1);
    expect(s3.threshold!.pps).toBe(Math.ceil(3 * s3.pps.p99));
    // Hour 4 has too little data yet; hour 5 none.
    expect(b.summary(hour(4))).toMatchObject({ ready: false, threshold: null, samples: 50 });
    expect(b.summary(hour(5))).toMatchObject({ ready: false, samples: 0 });
  });

  it('never sets a threshold below its floor', () => {
    const b = new Baseline({ minSamples: 10 });
    for (let i = 0; i < 20; i++) b.add(hour(1, i), 3, 2000);
    expect(b.summary(hour(1)).threshold).toEqual({ pps: 1000, bps: 10_000_000 });
  });

  it('persists across restarts, and starts afresh from a corrupt or foreign file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bwk-baseline-'));
    const path = join(dir, 'baseline.json');
    const b = new Baseline({ minSamples: 10 });
    for (let i = 0; i < 30; i++) b.add(hour(7, i), 20_000, 1.6e8);
    b.save(path);
    const back = Baseline.load(path, { minSamples: 10 });
    expect(back.problem).toBeNull();
    expect(back.baseline.summary(hour(7))).toEqual(b.summary(hour(7)));

    writeFileSync(path, '{"version": 1, "buckets": [');
    const corrupt = Baseline.load(path);
    expect(corrupt.problem).toContain('corrupt');
    expect(corrupt.baseline.summary(hour(7)).samples).toBe(0);
    writeFileSync(path, JSON.stringify({ version: 9 }));
    expect(Baseline.load(path).problem).toContain('starting afresh');
    expect(Baseline.load(join(dir, 'missing.json')).problem).toBeNull();
  });

  it('forgets slowly: a week of seconds per hour at most', () => {
    const b = new Baseline({ minSamples: 1 });
    for (let i = 0; i < 7 * 3600 + 1; i++) b.add(hour(9), 100, 1000);
    expect(b.summary(hour(9)).samples).toBeLessThanOrEqual(7 * 3600);
    expect(b.summary(hour(9)).samples).toBeGreaterThan(3 * 3600);
  });
});
