// The dynamic baseline: what this host's traffic normally looks like at each hour of the
// day (UTC), as log-scale histograms of per-second pps and bps, so memory stays fixed and
// percentiles stay within one bin (~9 %). Old data fades: a bucket's counts halve when it
// holds more than a week of seconds. Persisted as JSON, written atomically.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { BaselineSummary } from '../domain/agent-protocol.js';

const BINS_PER_DOUBLING = 8;
const MAX_DOUBLINGS = 50; // 2^50: beyond any link's pps or bps
const BINS = BINS_PER_DOUBLING * MAX_DOUBLINGS;
const HALVE_ABOVE = 7 * 3600;

export interface BaselineOptions {
  /** Seconds of data an hour needs before its threshold is trusted (default 10 minutes). */
  minSamples?: number;
  /** Threshold = factor x p99 of the hour (default 3). */
  factor?: number;
  /** Thresholds never go below these: a quiet host must not alert on a few hundred packets. */
  floor?: { pps: number; bps: number };
}

interface Bucket {
  pps: number[];
  bps: number[];
  n: number;
}

const bin = (v: number) => (v < 1 ? 0 : Math.min(BINS - 1, Math.floor(Math.log2(v) * BINS_PER_DOUBLING) + 1));
const binTop = (i: number) => (i === 0 ? 1 : 2 ** (i / BINS_PER_DOUBLING));

function percentile(h: number[], n: number, p: number): number {
  const want = Math.ceil(p * n);
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    seen += h[i]!;
    if (seen >= want) return binTop(i);
  }
  return binTop(h.length - 1);
}

export class Baseline {
  private buckets: Bucket[];
  private readonly minSamples: number;
  private readonly factor: number;
  private readonly floor: { pps: number; bps: number };

  constructor(opts: BaselineOptions = {}, buckets?: Bucket[]) {
    this.minSamples = opts.minSamples ?? 600;
    this.factor = opts.factor ?? 3;
    this.floor = opts.floor ?? { pps: 1000, bps: 10_000_000 };
    this.buckets = buckets ?? Array.from({ length: 24 }, () => ({ pps: new Array(BINS).fill(0), bps: new Array(BINS).fill(0), n: 0 }));
  }

  /** One second of normal traffic (not during an attack: attacks must not become normal). */
  add(atMs: number, pps: number, bps: number): void {
    const b = this.buckets[new Date(atMs).getUTCHours()]!;
    b.pps[bin(pps)]!++;
    b.bps[bin(bps)]!++;
    b.n++;
    if (b.n > HALVE_ABOVE) {
      for (const h of [b.pps, b.bps]) for (let i = 0; i < h.length; i++) h[i] = Math.floor(h[i]! / 2);
      b.n = b.pps.reduce((s, v) => s + v, 0);
    }
  }

  /** The hour's figures; thresholds null until it has enough data. */
  summary(atMs: number): Omit<BaselineSummary, 'mode'> {
    const hour = new Date(atMs).getUTCHours();
    const b = this.buckets[hour]!;
    const ps = (h: number[]) => ({ p50: percentile(h, b.n, 0.5), p95: percentile(h, b.n, 0.95), p99: percentile(h, b.n, 0.99) });
    const pps = b.n ? ps(b.pps) : { p50: 0, p95: 0, p99: 0 };
    const bps = b.n ? ps(b.bps) : { p50: 0, p95: 0, p99: 0 };
    const ready = b.n >= this.minSamples;
    return { hour, samples: b.n, ready, pps, bps, threshold: ready ? { pps: Math.max(this.floor.pps, Math.ceil(this.factor * pps.p99)), bps: Math.max(this.floor.bps, Math.ceil(this.factor * bps.p99)) } : null };
  }

  save(path: string): void {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, bins: BINS, buckets: this.buckets }));
    renameSync(tmp, path);
  }

  /** The saved baseline, or an empty one when the file is missing or unreadable (and why). */
  static load(path: string, opts: BaselineOptions = {}): { baseline: Baseline; problem: string | null } {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return { baseline: new Baseline(opts), problem: null };
    }
    try {
      const data = JSON.parse(text) as { version: number; bins: number; buckets: Bucket[] };
      const valid =
        data.version === 1 &&
        data.bins === BINS &&
        Array.isArray(data.buckets) &&
        data.buckets.length === 24 &&
        data.buckets.every((b) => b.pps?.length === BINS && b.bps?.length === BINS && Number.isInteger(b.n));
      if (!valid) return { baseline: new Baseline(opts), problem: `${path} is not a baseline this agent can read; starting afresh` };
      return { baseline: new Baseline(opts, data.buckets), problem: null };
    } catch (err) {
      return { baseline: new Baseline(opts), problem: `${path} is corrupt (${(err as Error).message}); starting afresh` };
    }
  }
}
