// A rolling capture: one tcpdump streaming pcap to the agent while traffic is near the
// detection threshold, of which only the last `windowMs` (500 ms) are kept, so the
// classifier can run the moment an attack is confirmed instead of after a capture.
//
// Bounded whatever the packet rate: the ring holds at most `maxPackets` records and
// `maxBytes` captured bytes (snaplen-cut). The window is cut in 10 slots; each slot keeps
// at most a tenth of either cap, each packet with probability budget / (packets the
// previous slot saw), so a flood over the caps leaves a uniform random sample of the
// whole window (shares stay unbiased; flows show fewer of their packets). Records are kept
// undecoded and decoded only when classified.
//
// Armed by arm() (the runner calls it for each sample near the threshold, and during an
// attack) and stopped `lingerMs` after the last call: an idle host runs no tcpdump.
import { spawn, type ChildProcess } from 'node:child_process';
import { parsePcap, type Packet } from '../domain/pcap.js';
import { IFACE } from './capture.js';
import { PcapStreamReader, type PcapRecord } from './pcap-stream.js';

export interface RollingCaptureOptions {
  /** How much recent traffic the ring holds, ms. */
  windowMs?: number;
  /** Caps of the ring: records, and captured bytes (record headers included). */
  maxPackets?: number;
  maxBytes?: number;
  snaplen?: number;
  /** How long tcpdump keeps running after the last arm(), ms. */
  lingerMs?: number;
  /** Least time between two starts of tcpdump, ms (it failed, or exited by itself). */
  restartAfterMs?: number;
  /**
   * tcpdump -U: each packet written as it comes (a write per packet) rather than in 4 KiB
   * blocks. Off by default: at flood rates a block is a few ms of traffic, and the writes cost.
   */
  packetBuffered?: boolean;
  /** Command prefix that runs tcpdump, e.g. ["ip", "netns", "exec", "ns1", "tcpdump"]. */
  command?: string[];
  log?(level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>): void;
}

export const ROLLING_DEFAULTS = { windowMs: 500, maxPackets: 10_000, maxBytes: 4 * 1024 * 1024, snaplen: 256, lingerMs: 30_000, restartAfterMs: 5000 } as const;

const SLOTS = 10;

export interface RollingStats {
  running: boolean;
  /** tcpdump's process id while it runs (possibly that of the command prefix). */
  pid: number | null;
  /** Records in the ring now, and their bytes. */
  packets: number;
  bytes: number;
  /** Records tcpdump delivered, and those kept, since the capture started. */
  seen: number;
  kept: number;
  /** The current slot's keep probability (1: every packet). */
  keepShare: number;
  starts: number;
}

export class RollingCapture {
  private readonly o: Required<Omit<RollingCaptureOptions, 'command' | 'log' | 'packetBuffered'>>;
  private readonly packetBuffered: boolean;
  private child: ChildProcess | null = null;
  private filter: string | null = null;
  private listening = false;
  private waiters: Array<() => void> = [];
  private lastArmMs = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private header: Buffer | null = null;
  // The ring: parallel arrays from `head` on (compacted now and then).
  private ts: number[] = [];
  private recs: Buffer[] = [];
  private head = 0;
  private bytes = 0;
  // Sampling, per slot of windowMs / SLOTS.
  private slot = -1;
  private slotSeen = 0;
  private slotKept = 0;
  private slotBytes = 0;
  private keep = 1;
  private seen = 0;
  private kept = 0;
  private starts = 0;

  constructor(
    private readonly iface: string,
    opts: RollingCaptureOptions = {},
  ) {
    if (!IFACE.test(iface)) throw new Error(`not an interface name: ${JSON.stringify(iface)}`);
    const d = ROLLING_DEFAULTS;
    this.o = {
      windowMs: opts.windowMs ?? d.windowMs,
      maxPackets: opts.maxPackets ?? d.maxPackets,
      maxBytes: opts.maxBytes ?? d.maxBytes,
      snaplen: opts.snaplen ?? d.snaplen,
      lingerMs: opts.lingerMs ?? d.lingerMs,
      restartAfterMs: opts.restartAfterMs ?? d.restartAfterMs,
    };
    this.packetBuffered = opts.packetBuffered ?? false;
    this.command = opts.command ?? ['tcpdump'];
    this.log = opts.log ?? (() => undefined);
  }

  private readonly command: string[];
  private readonly log: NonNullable<RollingCaptureOptions['log']>;
  /** When tcpdump last failed or exited by itself: it is not started again before restartAfterMs. */
  private failedAtMs = -Infinity;

  get running(): boolean {
    return this.child !== null;
  }

  /** Records in the ring now (some may be older than the window until the next packet comes). */
  get held(): number {
    return this.ts.length - this.head;
  }

  /** Keeps the capture running with this BPF filter (starting it, or restarting it when the filter changed). */
  arm(filter: string): void {
    this.lastArmMs = performance.now();
    if (this.child && this.filter === filter) return;
    if (this.child) this.halt();
    if (this.lastArmMs - this.failedAtMs < this.o.restartAfterMs) return;
    this.start(filter);
  }

  /** Resolves once tcpdump has opened the interface (at once when it has), or after `timeoutMs`. */
  whenListening(timeoutMs = 5000): Promise<boolean> {
    if (this.listening) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * The last window's records as a pcap file; null when it holds none. The window ends at
   * the newest record; records older than `staleMs` past the window by the clock are out
   * too (traffic that stopped a while ago is not the traffic now).
   */
  pcap(staleMs = 250): Buffer | null {
    if (!this.header || this.head >= this.ts.length) return null;
    const cutoff = Math.max(this.ts[this.ts.length - 1]! - this.o.windowMs, Date.now() - this.o.windowMs - staleMs);
    let from = this.head;
    while (from < this.ts.length && this.ts[from]! < cutoff) from++;
    return from < this.ts.length ? Buffer.concat([this.header, ...this.recs.slice(from)]) : null;
  }

  /** The last window's packets, decoded. */
  packets(staleMs?: number): Packet[] {
    const pcap = this.pcap(staleMs);
    return pcap ? parsePcap(pcap).packets : [];
  }

  stats(): RollingStats {
    return { running: this.running, pid: this.child?.pid ?? null, packets: this.ts.length - this.head, bytes: this.bytes, seen: this.seen, kept: this.kept, keepShare: this.keep, starts: this.starts };
  }

  /** Stops tcpdump and frees the ring. */
  stop(): void {
    this.lastArmMs = 0;
    this.halt();
  }

  private start(filter: string) {
    this.filter = filter;
    this.starts++;
    this.seen = this.kept = 0;
    const [bin, ...pre] = this.command;
    // --immediate-mode: packets leave the kernel as they come. Without it libpcap hands them
    // over in blocks retired on a timeout: measured at 5,000 pps, the ring ran up to 550 ms
    // late, so an attack confirmed 150 ms after it began was not in it yet.
    const args = ['-i', this.iface, '-n', '-p', '--immediate-mode', ...(this.packetBuffered ? ['-U'] : []), '-s', String(this.o.snaplen), '-w', '-', filter];
    const child = spawn(bin!, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const reader = new PcapStreamReader((r) => this.add(r), this.o.snaplen + 16);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
      if (!this.listening && this.child === child && stderr.includes('listening on')) {
        this.listening = true;
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stdout!.on('data', (d: Buffer) => {
      if (this.child !== child) return;
      try {
        reader.push(d);
        this.header ??= reader.header;
      } catch (err) {
        this.log('error', 'rolling capture: unreadable pcap stream; stopped', { error: (err as Error).message });
        this.fail();
      }
    });
    child.once('error', (err) => {
      if (this.child !== child) return;
      this.log('error', 'rolling capture: tcpdump could not start; install it: apt-get install tcpdump', { error: err.message });
      this.fail();
    });
    child.once('close', (code, signal) => {
      if (this.child !== child) return; // stopped on purpose
      this.log('warn', 'rolling capture: tcpdump exited', { code, signal, stderr: stderr.trim().slice(-300) });
      this.fail();
    });
    this.lingerTimer = setInterval(() => {
      if (performance.now() - this.lastArmMs >= this.o.lingerMs) this.halt();
    }, Math.min(1000, this.o.lingerMs)).unref();
  }

  private fail() {
    this.failedAtMs = performance.now();
    this.halt();
  }

  private halt() {
    const child = this.child;
    this.child = null;
    this.listening = false;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    if (this.lingerTimer) clearInterval(this.lingerTimer);
    this.lingerTimer = null;
    this.header = null;
    this.ts = [];
    this.recs = [];
    this.head = 0;
    this.bytes = 0;
    this.slot = -1;
    this.slotSeen = this.slotKept = this.slotBytes = 0;
    this.keep = 1;
  }

  private add(r: PcapRecord) {
    this.seen++;
    const slotMs = this.o.windowMs / SLOTS;
    const slot = Math.floor(r.tsMs / slotMs);
    if (slot !== this.slot) {
      // The previous slot's arrivals set this one's keep probability (a gap: keep all).
      const budget = this.o.maxPackets / SLOTS;
      this.keep = slot === this.slot + 1 && this.slotSeen > budget ? budget / this.slotSeen : 1;
      this.slot = slot;
      this.slotSeen = this.slotKept = this.slotBytes = 0;
    }
    this.slotSeen++;
    if (this.slotKept >= this.o.maxPackets / SLOTS || this.slotBytes + r.bytes.length > this.o.maxBytes / SLOTS) return;
    if (this.keep < 1 && Math.random() >= this.keep) return;
    this.slotKept++;
    this.slotBytes += r.bytes.length;
    this.kept++;
    this.ts.push(r.tsMs);
    this.recs.push(Buffer.from(r.bytes)); // a copy: the pipe's chunk is not kept alive
    this.bytes += r.bytes.length;
    // Older than the window, or over a cap: out.
    const oldest = r.tsMs - this.o.windowMs;
    while (this.head < this.ts.length && (this.ts[this.head]! < oldest || this.ts.length - this.head > this.o.maxPackets || this.bytes > this.o.maxBytes)) {
      this.bytes -= this.recs[this.head]!.length;
      this.recs[this.head] = EMPTY;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.ts.length) {
      this.ts = this.ts.slice(this.head);
      this.recs = this.recs.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
