// First-last address ranges, as GeoIP data sets list them: merge them, cut the allowlist
// out of them, and cover what is left with the fewest CIDR prefixes. Pure.
import type { IpFamily, Prefix } from './prefix.js';

export interface AddrRange {
  family: IpFamily;
  first: bigint;
  last: bigint;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

const prefixRange = (p: Prefix): AddrRange => ({
  family: p.family,
  first: p.network,
  last: p.network + (1n << BigInt(BITS[p.family] - p.length)) - 1n,
});

/** Sorted by family then address; overlapping and adjacent ranges joined. */
export function mergeRanges(ranges: readonly AddrRange[]): AddrRange[] {
  const sorted = [...ranges].sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddrRange[] = [];
  for (const r of sorted) {
    const top = out[out.length - 1];
    if (top && top.family === r.family && r.first <= top.last + 1n) {
      if (r.last > top.last) top.last = r.last;
    } else out.push({ ...r });
  }
  return out;
}

/** `ranges` without any address inside `holes` (so an allowlisted source is never dropped). */
export function subtractPrefixes(ranges: readonly AddrRange[], holes: readonly Prefix[]): AddrRange[] {
  const cuts = mergeRanges(holes.map(prefixRange));
  let out = mergeRanges(ranges);
  for (const cut of cuts) {
    out = out.flatMap((r) => {
      if (r.family !== cut.family || cut.last < r.first || cut.first > r.last) return [r];
      const left = cut.first > r.first ? [{ family: r.family, first: r.first, last: cut.first - 1n }] : [];
      const right = cut.last < r.last ? [{ family: r.family, first: cut.last + 1n, last: r.last }] : [];
      return [...left, ...right];
    });
  }
  return out;
}

/** The fewest prefixes that cover exactly the (merged) ranges: largest aligned block first. */
export function rangesToPrefixes(ranges: readonly AddrRange[]): Prefix[] {
  const out: Prefix[] = [];
  for (const r of mergeRanges(ranges)) {
    const bits = BITS[r.family];
    let at = r.first;
    while (at <= r.last) {
      // The block's size is bounded by the alignment of `at` and by what is left of the range.
      let size = 0;
      while (size < bits && (at & ((1n << BigInt(size + 1)) - 1n)) === 0n && at + (1n << BigInt(size + 1)) - 1n <= r.last) size++;
      out.push({ family: r.family, network: at, length: bits - size });
      at += 1n << BigInt(size);
    }
  }
  return out;
}
