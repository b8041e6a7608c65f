// IP address and prefix arithmetic, pure (no Node built-ins) so workflows, the API and
// the activities all agree on what a prefix is.

export type IpFamily = 4 | 6;

export interface Prefix {
  family: IpFamily;
  /** Network address as an unsigned integer (host bits are zero). */
  network: bigint;
  length: number;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIPv6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const items = s.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (v4 === null) return null;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses an address; returns null when it is not a valid IPv4 or IPv6 address. */
export function parseAddress(text: string): { family: IpFamily; value: bigint } | null {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIPv4(text);
  return value === null ? null : { family: 4, value };
}

export type PrefixParse = { ok: true; prefix: Prefix } | { ok: false; reason: string };

/**
 * Parses "a.b.c.d", "a.b.c.d/len", "x::y" or "x::y/len". A bare address is a host
 * prefix. Host bits must be zero: "203.0.113.5/24" is refused rather than guessed at.
 */
export function parsePrefix(text: string): PrefixParse {
  const [addr, len, ...rest] = text.trim().split('/');
  if (rest.length > 0 || !addr) return { ok: false, reason: `"${text}" is not an IP address or CIDR prefix` };
  const parsed = parseAddress(addr);
  if (!parsed) return { ok: false, reason: `"${addr}" is not a valid IPv4 or IPv6 address` };
  const bits = BITS[parsed.family];
  let length = bits;
  if (len !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(len) || Number(len) > bits) {
      return { ok: false, reason: `prefix length "/${len}" must be 0-${bits} for IPv${parsed.family}` };
    }
    length = Number(len);
  }
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  if ((parsed.value & hostMask) !== 0n) {
    return {
      ok: false,
      reason: `"${text}" has host bits set; did you mean ${formatPrefix({ family: parsed.family, network: parsed.value & ~hostMask, length })}?`,
    };
  }
  return { ok: true, prefix: { family: parsed.family, network: parsed.value, length } };
}

export function formatAddress(family: IpFamily, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical CIDR text, always with a length: "203.0.113.50/32", "2001:db8::/48". */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.family, p.network)}/${p.length}`;
}

/** True when `outer` covers all of `inner` (same family). */
export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  const shift = BigInt(BITS[outer.family] - outer.length);
  return outer.network >> shift === inner.network >> shift;
}

/** True when the two prefixes share any address. */
export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

/** Parses a prefix that is known to be valid (constants, stored rows). */
export function mustParsePrefix(text: string): Prefix {
  const r = parsePrefix(text);
  if (!r.ok) throw new Error(r.reason);
  return r.prefix;
}
