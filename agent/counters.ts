// Interface counters, cheap at any packet rate and at 100 samples a second:
// /sys/class/net/<if>/statistics for the interface's packets and bytes, /proc/net/snmp{,6}
// for the inbound protocol mix. Both are read in the agent's own network namespace (the
// interface must live there). Each file stays open and is re-read from offset 0 (pread)
// into one shared buffer, and the numbers are parsed from its bytes at places found once
// (the files' layout is fixed while the kernel runs): a sample allocates no strings.
//
// Rates are taken over a short sliding window (the newest reading against the newest one
// at least `windowMs` old), not over one sampling interval. At 100 Hz one interval is
// 10 ms, a few packets near a threshold: arrival jitter, NAPI's batches and the timer's
// own jitter make single 10 ms deltas swing (measured on the lab's veth at ~7 kpps: 5.9k
// to 7.3k pps per 10 ms delta, 6.6k to 7.3k over 30 ms), and a detector that wants traffic
// over its threshold without a break would be reset by any dip. 30 ms (3 intervals) smooths
// that while still being well inside the confirmation time (agent/detector.ts): a burst
// must last confirmMs - windowMs to be confirmed. A driver that refreshes its counters
// only periodically (some read hardware statistics once a second) needs a window at least
// that long: --rate-window-ms.
import { openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import type { TrafficSample } from './runner.js';

/** The default window rates are computed over, ms (see above). */
export const RATE_WINDOW_MS = 30;

/** The raw counters, in this order, per reading. */
const RX_PACKETS = 0;
const RX_BYTES = 1;
const UDP = 2;
const TCP = 3;
const ICMP = 4;
const IP = 5;
const FIELDS = 6;

const buf = Buffer.alloc(16 * 1024);

/**
 * Numbers to take from the line whose first token is `key` (its `nth` such line, from 0;
 * an empty key: the first line):
 * the whitespace-separated columns `cols`, each added into one raw counter. Lines are found
 * by their key at each read, not by their place: /proc/net/snmp grows an IcmpMsg section,
 * and /proc/net/snmp6 an Icmp6InType line, as ICMP types are first seen.
 */
interface Line {
  key: Buffer;
  nth: number;
  cols: Array<{ col: number; into: number }>;
}

/** A file kept open, and the lines wanted from it. */
interface Source {
  fd: number;
  lines: Line[];
  /** Scratch: how many lines of each key this read has passed. */
  seen: Int32Array;
}

function source(path: string, lines: Line[]): Source {
  return { fd: openSync(path, 'r'), lines, seen: new Int32Array(lines.length) };
}

const isBlank = (c: number) => c === 32 || c === 9;

/** Adds the wanted numbers of the source into `reading` (from `at`); false when a wanted line is missing. */
function readInto(s: Source, reading: Float64Array, at: number): boolean {
  const n = readSync(s.fd, buf, 0, buf.length, 0);
  s.seen.fill(0);
  let found = 0;
  for (let i = 0; i < n && found < s.lines.length; ) {
    let end = i;
    while (end < n && !isBlank(buf[end]!) && buf[end] !== 10) end++;
    for (let g = 0; g < s.lines.length; g++) {
      const line = s.lines[g]!;
      // An empty key: the file's first line (a sysfs file holding one number).
      const matches = line.key.length === 0 ? i === 0 : end - i === line.key.length && buf.compare(line.key, 0, line.key.length, i, end) === 0;
      if (!matches || s.seen[g]!++ !== line.nth) continue;
      found++;
      // The wanted columns of this line (in order), parsed from its bytes.
      let col = 0;
      let k = 0;
      for (let p = i; p < n && buf[p] !== 10 && k < line.cols.length; ) {
        if (isBlank(buf[p]!)) {
          p++;
          continue;
        }
        const want = line.cols[k]!;
        if (col === want.col) {
          let v = 0;
          for (let d = buf[p]!; p < n && d >= 48 && d <= 57; d = buf[++p]!) v = v * 10 + (d - 48);
          reading[at + want.into] = reading[at + want.into]! + v;
          k++;
        }
        while (p < n && !isBlank(buf[p]!) && buf[p] !== 10) p++;
        col++;
      }
      break;
    }
    const nl = buf.indexOf(10, end);
    if (nl < 0 || nl >= n) break;
    i = nl + 1;
  }
  return found === s.lines.length;
}

/** /proc/net/snmp: a section's names line, then its values line (the second line of that key). */
function snmpLine(text: string, section: string, fields: Array<[string, number]>): Line {
  const names = text.split('\n').find((l) => l.startsWith(`${section}:`))?.trim().split(/\s+/) ?? [];
  const cols = fields.map(([field, into]) => ({ col: names.indexOf(field), into })).filter((c) => c.col > 0);
  return { key: Buffer.from(`${section}:`, 'latin1'), nth: 1, cols: cols.sort((a, b) => a.col - b.col) };
}

/** /proc/net/snmp6: one "Name value" line per counter. */
const snmp6Line = (field: string, into: number): Line => ({ key: Buffer.from(field, 'latin1'), nth: 0, cols: [{ col: 1, into }] });

export interface SamplerOptions {
  /** Rates are taken over at least this much time, ms (RATE_WINDOW_MS). */
  windowMs?: number;
}

/**
 * A sampler of one interface: each call reads the counters and returns the rates over the
 * last `windowMs` (over less while fewer readings exist; null on the first call, or when
 * the interface cannot be read).
 */
export function createSampler(iface: string, opts: SamplerOptions = {}): { sample(): TrafficSample | null } {
  const windowMs = opts.windowMs ?? RATE_WINDOW_MS;
  const stats = `/sys/class/net/${iface}/statistics`;
  const snmpText = readFileSync('/proc/net/snmp', 'latin1');
  const sources: Source[] = [
    source(`${stats}/rx_packets`, [{ key: Buffer.alloc(0), nth: 0, cols: [{ col: 0, into: RX_PACKETS }] }]),
    source(`${stats}/rx_bytes`, [{ key: Buffer.alloc(0), nth: 0, cols: [{ col: 0, into: RX_BYTES }] }]),
    source('/proc/net/snmp', [
      snmpLine(snmpText, 'Ip', [['InReceives', IP]]),
      snmpLine(snmpText, 'Icmp', [['InMsgs', ICMP]]),
      snmpLine(snmpText, 'Tcp', [['InSegs', TCP]]),
      snmpLine(snmpText, 'Udp', [
        ['InDatagrams', UDP],
        ['NoPorts', UDP],
        ['InErrors', UDP],
      ]),
    ]),
  ];
  try {
    readFileSync('/proc/net/snmp6');
    sources.push(source('/proc/net/snmp6', [snmp6Line('Udp6InDatagrams', UDP), snmp6Line('Udp6NoPorts', UDP), snmp6Line('Icmp6InMsgs', ICMP), snmp6Line('Ip6InReceives', IP)]));
  } catch {
    // IPv6 disabled
  }

  // The readings still needed, oldest first, in a ring that grows when the window holds
  // more readings than it has room for (a long window, or a high rate).
  let cap = 16;
  let times = new Float64Array(cap);
  let values = new Float64Array(cap * FIELDS);
  let first = 0;
  let count = 0;
  const slot = (i: number) => (first + i) % cap;
  const grow = () => {
    const [t, v] = [new Float64Array(cap * 2), new Float64Array(cap * 2 * FIELDS)];
    for (let i = 0; i < count; i++) {
      const j = slot(i);
      t[i] = times[j]!;
      v.set(values.subarray(j * FIELDS, (j + 1) * FIELDS), i * FIELDS);
    }
    [times, values, first, cap] = [t, v, 0, cap * 2];
  };

  return {
    sample() {
      if (count === cap) grow();
      const j = slot(count);
      const at = j * FIELDS;
      values.fill(0, at, at + FIELDS);
      times[j] = performance.now();
      try {
        for (const s of sources) if (!readInto(s, values, at)) return null;
      } catch {
        return null; // the interface is gone
      }
      count++;
      // Forget readings while the next one is old enough to measure from.
      while (count > 2 && times[j]! - times[slot(1)]! >= windowMs) {
        first = slot(1);
        count--;
      }
      if (count < 2) return null;
      const base = slot(0) * FIELDS;
      const dt = (times[j]! - times[slot(0)]!) / 1000;
      if (dt <= 0) return null;
      const d = (k: number) => Math.max(0, values[at + k]! - values[base + k]!); // a counter reset reads as 0, not negative
      const udp = d(UDP);
      const tcp = d(TCP);
      const icmp = d(ICMP);
      const total = udp + tcp + icmp;
      const other = Math.max(0, d(IP) - total);
      const all = total + other;
      return {
        atMs: Date.now(),
        pps: d(RX_PACKETS) / dt,
        bps: (d(RX_BYTES) * 8) / dt,
        mix: all > 0 ? { tcp: tcp / all, udp: udp / all, icmp: icmp / all, other: other / all } : { tcp: 0, udp: 0, icmp: 0, other: 0 },
      };
    },
  };
}

/** The busiest non-virtual interface; when every one is virtual (a namespace's veth), the busiest non-loopback one. */
export function busiestInterface(): { name: string; virtual: boolean } | null {
  const candidates = readdirSync('/sys/class/net')
    .filter((n) => n !== 'lo')
    .map((name) => {
      let virtual: boolean;
      try {
        virtual = readlinkSync(`/sys/class/net/${name}`).includes('/virtual/');
      } catch {
        virtual = true;
      }
      const bytes = (f: string) => Number(readFileSync(`/sys/class/net/${name}/statistics/${f}`, 'latin1'));
      return { name, virtual, traffic: bytes('rx_bytes') + bytes('tx_bytes') };
    })
    .sort((a, b) => Number(a.virtual) - Number(b.virtual) || b.traffic - a.traffic);
  const best = candidates[0];
  return best ? { name: best.name, virtual: best.virtual } : null;
}
