// What every benchmark prints its samples with: percentiles by the nearest-rank method,
// and one line per measured thing.

/** The p-th percentile (0-100) of `samples`, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** "label  n=…  p50 … ms  p95 … ms  p99 … ms  max … ms", the label padded to `width`. */
export function latencyLine(label: string, ms: readonly number[], width = 44): string {
  if (ms.length === 0) return `${label.padEnd(width)} n=0`;
  const f = (x: number) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)).padStart(6);
  return `${label.padEnd(width)} n=${String(ms.length).padEnd(5)} p50 ${f(percentile(ms, 50))} ms  p95 ${f(percentile(ms, 95))} ms  p99 ${f(percentile(ms, 99))} ms  max ${f(Math.max(...ms))} ms`;
}
