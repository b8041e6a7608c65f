// The rolling capture with the real tcpdump, of real packets crossing a veth pair: off
// until armed, only the last window kept, bounded in packets and bytes under a flood,
// stopped after it is no longer armed. Beside it, the incremental pcap reader it uses,
// and the listening ports the classifier is given, read from real sockets.
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listeningPorts } from '../agent/listening-ports.js';
import { PcapStreamReader } from '../agent/pcap-stream.js';
import { RollingCapture } from '../agent/rolling-capture.js';
import { parsePcap } from '../domain/pcap.js';
import { createNsPair, type NsPair } from './support/netns.js';
import { ipv4, pcapFile, udp as udpFrame } from './support/packets.js';

const run = promisify(execFile);
let pair: NsPair;
const captures: RollingCapture[] = [];

beforeAll(() => {
  pair = createNsPair('bwk-roll');
});
afterAll(() => {
  for (const c of captures) c.stop();
  pair?.destroy();
});

function rolling(opts: ConstructorParameters<typeof RollingCapture>[1] = {}) {
  const c = new RollingCapture(pair.b.iface, { command: [...pair.exec(pair.b.ns), 'tcpdump'], ...opts });
  captures.push(c);
  return c;
}

/** Sends `count` UDP datagrams of `size` bytes from namespace a to b:port. */
async function udp(count: number, size: number, port: number) {
  const script = `const s=require('dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(${size},7);const go=()=>{if(n++>=${count})return s.close();s.send(b,${port},'${pair.b.ip}',go)};go()`;
  await run(pair.exec(pair.a.ns)[0]!, [...pair.exec(pair.a.ns).slice(1), process.execPath, '-e', script]);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rolling capture', () => {
  it('runs no tcpdump until armed; holds only the last window', async () => {
    // -U: every packet reaches the ring at once, so counts are exact (the agent's default writes in 4 KiB blocks).
    const c = rolling({ windowMs: 500, lingerMs: 60_000, packetBuffered: true });
    expect(c.running).toBe(false);
    expect(c.stats().pid).toBeNull();
    expect(c.packets()).toEqual([]);

    c.arm(`udp and dst host ${pair.b.ip}`);
    expect(await c.whenListening()).toBe(true);
    await udp(200, 100, 9101);
    await expect.poll(() => c.packets().length, { timeout: 3000, interval: 50 }).toBe(200);
    expect(c.packets().every((p) => p.udp?.dstPort === 9101 && p.ip?.src === pair.a.ip)).toBe(true);

    // Later packets push the earlier ones out of the window.
    await sleep(800);
    await udp(150, 100, 9102);
    await expect.poll(() => c.packets().filter((p) => p.udp?.dstPort === 9102).length, { timeout: 3000, interval: 50 }).toBe(150);
    const ports = new Set(c.packets().map((p) => p.udp?.dstPort));
    expect([...ports]).toEqual([9102]);
    const ts = c.packets().map((p) => p.tsMs);
    expect(Math.max(...ts) - Math.min(...ts)).toBeLessThanOrEqual(500);
    // Traffic that stopped a while ago is not the traffic now.
    await sleep(1000);
    expect(c.packets()).toEqual([]);
    expect(c.packets(Infinity)).toHaveLength(150);
    c.stop();
    expect(c.running).toBe(false);
  });

  it('stays bounded under a flood, keeping a sample spread over the whole window', async () => {
    const maxPackets = 2000;
    const c = rolling({ windowMs: 500, maxPackets, maxBytes: 1 << 20, lingerMs: 60_000 });
    c.arm(`udp and dst host ${pair.b.ip}`);
    expect(await c.whenListening()).toBe(true);
    // ~50,000 packets over ~2 s: far over the cap for any 500 ms.
    let peak = { packets: 0, bytes: 0 };
    const watch = setInterval(() => {
      const s = c.stats();
      peak = { packets: Math.max(peak.packets, s.packets), bytes: Math.max(peak.bytes, s.bytes) };
    }, 20);
    await run(pair.exec(pair.a.ns)[0]!, [...pair.exec(pair.a.ns).slice(1), 'hping3', '--udp', '-p', '9103', '-d', '64', '-i', 'u20', '-c', '50000', '-q', pair.b.ip]).catch(() => undefined);
    await sleep(300);
    clearInterval(watch);
    const s = c.stats();
    expect(s.seen).toBeGreaterThan(20_000);
    expect(s.kept).toBeLessThan(s.seen / 2);
    expect(peak.packets).toBeLessThanOrEqual(maxPackets);
    expect(peak.bytes).toBeLessThanOrEqual(1 << 20);
    const packets = c.packets(Infinity); // the window before the flood ended, however long ago
    expect(packets.length).toBeGreaterThan(maxPackets / 4);
    expect(packets.length).toBeLessThanOrEqual(maxPackets);
    // The flood's last 500 ms, sampled evenly: every 50 ms slot of it has its share.
    const newest = Math.max(...packets.map((p) => p.tsMs));
    const slots = new Array(10).fill(0);
    for (const p of packets) slots[Math.min(9, Math.floor((newest - p.tsMs) / 50))]++;
    for (const n of slots) expect(n).toBeGreaterThan(packets.length / 10 / 3);
    c.stop();
  });

  it('caps the ring in bytes', async () => {
    const c = rolling({ windowMs: 2000, maxPackets: 100_000, maxBytes: 32 * 1024, snaplen: 1500, lingerMs: 60_000, packetBuffered: true });
    c.arm(`udp and dst host ${pair.b.ip}`);
    expect(await c.whenListening()).toBe(true);
    // 10 bursts of 30 datagrams of 1 KB across the 2 s window: 300 KB, ten times the cap.
    for (let i = 0; i < 10; i++) {
      await udp(30, 1000, 9104);
      await sleep(150);
    }
    await expect.poll(() => c.stats().seen, { timeout: 3000, interval: 50 }).toBe(300);
    // Each of the window's 10 slots keeps a tenth of the cap (3 of these): the ring holds a sample of every burst.
    expect(c.stats().bytes).toBeLessThanOrEqual(32 * 1024);
    expect(c.packets().length).toBeGreaterThanOrEqual(20);
    c.stop();
  });

  it('stops a while after the last arm(), and starts again when armed', async () => {
    const c = rolling({ lingerMs: 1000 });
    const filter = `host ${pair.b.ip}`;
    c.arm(filter);
    expect(await c.whenListening()).toBe(true);
    const pid = c.stats().pid!;
    expect(alive(pid)).toBe(true);
    // Armed again and again (traffic near the threshold): it keeps running.
    for (let i = 0; i < 6; i++) {
      await sleep(300);
      c.arm(filter);
    }
    expect(c.running).toBe(true);
    await expect.poll(() => c.running, { timeout: 3000, interval: 100 }).toBe(false);
    await expect.poll(() => alive(pid), { timeout: 3000, interval: 100 }).toBe(false);
    expect(c.stats()).toMatchObject({ packets: 0, bytes: 0 });
    c.arm(filter);
    expect(await c.whenListening()).toBe(true);
    expect(c.stats().starts).toBe(2);
    c.stop();
  });
});

describe('pcap stream reader', () => {
  it('reads records whole however the stream is cut', () => {
    const frames = Array.from({ length: 50 }, (_, i) => ipv4({ src: '198.51.100.1', dst: '203.0.113.1', protocol: 17 }, udpFrame(1000 + i, 53, Buffer.alloc(i * 7, 1))));
    for (const bigEndian of [false, true]) {
      const file = pcapFile(frames, { bigEndian, timesMs: frames.map((_, i) => i * 3) });
      const records: Buffer[] = [];
      const times: number[] = [];
      const reader = new PcapStreamReader((r) => {
        records.push(Buffer.from(r.bytes));
        times.push(r.tsMs);
      });
      for (let off = 0; off < file.length; ) {
        const n = 1 + Math.floor(Math.random() * 90);
        reader.push(file.subarray(off, off + n));
        off += n;
      }
      expect(records).toHaveLength(50);
      const again = parsePcap(Buffer.concat([reader.header!, ...records])).packets;
      expect(again.map((p) => p.udp!.srcPort)).toEqual(frames.map((_, i) => 1000 + i));
      expect(times.map((t) => t - times[0]!)).toEqual(frames.map((_, i) => i * 3));
    }
  });

  it('refuses a stream whose records cannot be', () => {
    const file = pcapFile([Buffer.alloc(100)]);
    file.writeUInt32LE(10_000_000, 24 + 8);
    expect(() => new PcapStreamReader(() => undefined).push(file)).toThrow('not a pcap stream');
  });
});

describe('listening ports', () => {
  it('lists TCP sockets that listen and bound UDP sockets, not loopback-only ones nor clients', async () => {
    const tcp = createServer().listen(0, '0.0.0.0');
    const tcp6 = createServer().listen(0, '::');
    const local = createServer().listen(0, '127.0.0.1');
    await Promise.all([tcp, tcp6, local].map((s) => new Promise((r) => s.once('listening', r))));
    const udp4 = createSocket('udp4');
    await new Promise<void>((r) => udp4.bind(0, '0.0.0.0', r));
    const client = connect((tcp.address() as { port: number }).port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    try {
      const port = (s: { address(): unknown }) => (s.address() as { port: number }).port;
      const ports = listeningPorts();
      expect(ports).toContain(port(tcp));
      expect(ports).toContain(port(tcp6));
      expect(ports).toContain(port(udp4));
      expect(ports).not.toContain(port(local));
      expect(ports).not.toContain(client.localPort);
      expect(ports).toEqual([...ports].sort((a, b) => a - b));
    } finally {
      client.destroy();
      for (const s of [tcp, tcp6, local]) s.close();
      udp4.close();
    }
  });

  it('reads another network namespace through /proc/<pid>/net', async () => {
    const server = spawn('ip', [...pair.exec(pair.b.ns).slice(1), process.execPath, '-e', "require('net').createServer().listen(8443,'0.0.0.0',()=>console.log('up'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((r) => server.stdout!.once('data', r));
      expect(listeningPorts(`/proc/${server.pid}/net`)).toContain(8443);
    } finally {
      server.kill('SIGKILL');
    }
  });
});
