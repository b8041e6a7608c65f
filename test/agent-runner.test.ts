// The agent's main loop on scripted traffic: what the dynamic baseline learns around an attack.
import { describe, expect, it } from 'vitest';
import type { AgentApiClient } from '../agent/api-client.js';
import type { AgentConfig } from '../domain/agent-protocol.js';
import { Detector } from '../agent/detector.js';
import { startRunner, type TrafficSample } from '../agent/runner.js';

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
  const api = {
    queued: 0,
    dropped: 0,
    openIncident: (b: { ref: string }) => void opened.push(b.ref),
    updateIncident: () => undefined,
    resolveIncident: () => undefined,
    metrics: () => undefined,
    heartbeat: () => undefined,
    config: async () => config,
    pollCommands: () => new Promise<never[]>((r) => setTimeout(() => r([]), 50)),
    postCommandResult: async () => undefined,
    stop: () => undefined,
  };
  return { api: api as unknown as AgentApiClient, opened };
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
    const detector = new Detector({ pps: 5000, bps: null, confirmSamples: 3, holdDownMs: 1000, hysteresis: 0.7, updateEveryMs: 1000 });
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
