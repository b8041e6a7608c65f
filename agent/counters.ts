// Interface counters, cheap at any packet rate: /sys/class/net/<if>/statistics for the
// interface's packets and bytes, /proc/net/snmp{,6} for the inbound protocol mix. Both
// are read in the agent's own network namespace (the interface must live there).
import { openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import type { TrafficSample } from './runner.js';

interface Raw {
  atMs: number;
  rxPackets: number;
  rxBytes: number;
  udp: number;
  tcp: number;
  icmp: number;
  ip: number;
}

const buf = Buffer.alloc(16 * 1024);

/** Reads a small procfs/sysfs file through a kept-open fd (re-read from offset 0). */
function reader(path: string): () => string {
  const fd = openSync(path, 'r');
  return () => buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
}

function snmpValue(text: string, section: string, field: string): number {
  // Two lines per section: names, then values.
  const lines = text.split('\n').filter((l) => l.startsWith(`${section}:`));
  if (lines.length < 2) return 0;
  const i = lines[0]!.split(/\s+/).indexOf(field);
  return i < 0 ? 0 : Number(lines[1]!.split(/\s+/)[i] ?? 0);
}

function snmp6Value(text: string, field: string): number {
  const m = new RegExp(`^${field}\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A sampler of one interface: each call returns rates since the previous call (null on the first). */
export function createSampler(iface: string): { sample(): TrafficSample | null } {
  const readers = {
    rxPackets: reader(`/sys/class/net/${iface}/statistics/rx_packets`),
    rxBytes: reader(`/sys/class/net/${iface}/statistics/rx_bytes`),
    snmp: reader('/proc/net/snmp'),
    snmp6: (() => {
      try {
        return reader('/proc/net/snmp6');
      } catch {
        return () => ''; // IPv6 disabled
      }
    })(),
  };
  let prev: Raw | null = null;
  const read = (): Raw => {
    const snmp = readers.snmp();
    const snmp6 = readers.snmp6();
    return {
      atMs: performance.now(),
      rxPackets: Number(readers.rxPackets()),
      rxBytes: Number(readers.rxBytes()),
      udp: snmpValue(snmp, 'Udp', 'InDatagrams') + snmpValue(snmp, 'Udp', 'NoPorts') + snmpValue(snmp, 'Udp', 'InErrors') + snmp6Value(snmp6, 'Udp6InDatagrams') + snmp6Value(snmp6, 'Udp6NoPorts'),
      tcp: snmpValue(snmp, 'Tcp', 'InSegs'),
      icmp: snmpValue(snmp, 'Icmp', 'InMsgs') + snmp6Value(snmp6, 'Icmp6InMsgs'),
      ip: snmpValue(snmp, 'Ip', 'InReceives') + snmp6Value(snmp6, 'Ip6InReceives'),
    };
  };
  return {
    sample() {
      let next: Raw;
      try {
        next = read();
      } catch {
        return null;
      }
      const last = prev;
      prev = next;
      if (!last) return null;
      const dt = (next.atMs - last.atMs) / 1000;
      const d = (k: keyof Raw) => Math.max(0, next[k] - last[k]); // a counter reset reads as 0, not negative
      if (dt <= 0) return null;
      const total = d('udp') + d('tcp') + d('icmp');
      const other = Math.max(0, d('ip') - total);
      const all = total + other;
      const share = (n: number) => (all > 0 ? n / all : 0);
      return {
        atMs: Date.now(),
        pps: d('rxPackets') / dt,
        bps: (d('rxBytes') * 8) / dt,
        mix: { tcp: share(d('tcp')), udp: share(d('udp')), icmp: share(d('icmp')), other: share(other) },
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

