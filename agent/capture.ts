// A bounded packet capture through tcpdump: a PCAP of at most maxPackets packets,
// maxBytes bytes and maxSeconds seconds, whichever comes first, so a capture during a
// flood can never fill memory or disk.
import { spawn } from 'node:child_process';

export interface CaptureBounds {
  maxPackets: number;
  maxSeconds: number;
  maxBytes: number;
  snaplen: number;
}

export interface CaptureResult {
  /** libpcap file bytes (may end in a partial record when maxBytes cut it). */
  pcap: Buffer;
  truncated: boolean;
  elapsedMs: number;
}

/** What an interface name may be: argv goes to tcpdump without a shell, and still nothing else is passed. */
export const IFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;

export interface CaptureOptions {
  /** A BPF filter, e.g. "host 203.0.113.10". */
  filter?: string;
  /** Command prefix that runs tcpdump, e.g. ["ip", "netns", "exec", "ns1", "tcpdump"]. */
  command?: string[];
  /** Called once tcpdump has opened the interface: packets from then on are seen. */
  onListening?: () => void;
  /** Ends the capture early, keeping what it caught. */
  signal?: AbortSignal;
}

export async function capture(iface: string, bounds: CaptureBounds, opts: CaptureOptions = {}): Promise<CaptureResult> {
  // Arguments go to tcpdump as an argv array, never through a shell; still, refuse what
  // cannot be an interface name.
  if (!IFACE.test(iface)) throw new Error(`not an interface name: ${JSON.stringify(iface)}`);
  const args = ['-i', iface, '-n', '-p', '-U', '-s', String(bounds.snaplen), '-c', String(bounds.maxPackets), '-w', '-'];
  if (opts.filter) args.push(opts.filter);
  const started = performance.now();
  const [bin, ...pre] = opts.command ?? ['tcpdump'];
  const child = spawn(bin!, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  let stderr = '';
  let listening = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
    if (!listening && stderr.includes('listening on')) {
      listening = true;
      opts.onListening?.();
    }
  });
  const timer = setTimeout(() => child.kill('SIGINT'), bounds.maxSeconds * 1000);
  const stop = () => child.kill('SIGINT');
  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener('abort', stop, { once: true });
  child.stdout.on('data', (d: Buffer) => {
    if (truncated) return;
    const room = bounds.maxBytes - size;
    if (d.length >= room) {
      chunks.push(d.subarray(0, room));
      size += room;
      truncated = true;
      child.kill('SIGINT');
      return;
    }
    chunks.push(d);
    size += d.length;
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`tcpdump could not start (${err.message}); install it: apt-get install tcpdump`)));
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', stop);
  const pcap = Buffer.concat(chunks);
  // SIGINT is how we stop it early; any other failure before the header is a real error.
  if (pcap.length < 24 && code !== 0 && signal !== 'SIGINT') throw new Error(`tcpdump failed (exit ${code ?? signal}): ${stderr.trim()}`);
  return { pcap, truncated, elapsedMs: performance.now() - started };
}
