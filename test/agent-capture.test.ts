// Bounded captures with the real tcpdump, of real packets crossing a veth pair.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture } from '../agent/capture.js';
import { classify } from '../domain/classify.js';
import { parsePcap } from '../domain/pcap.js';
import { createNsPair, type NsPair } from './support/netns.js';

const run = promisify(execFile);
let pair: NsPair;

beforeAll(() => {
  pair = createNsPair('bwk-cap');
});
afterAll(() => pair?.destroy());

/** Sends `count` UDP datagrams of `size` bytes from namespace a to b:port, from source port `sport`. */
async function udp(count: number, size: number, port: number, sport = 0) {
  const script = `const s=require('dgram').createSocket('udp4');s.bind(${sport},()=>{let n=0;const b=Buffer.alloc(${size},7);const go=()=>{if(n++>=${count})return s.close();s.send(b,${port},'${pair.b.ip}',go)};go()})`;
  await run(pair.exec(pair.a.ns)[0]!, [...pair.exec(pair.a.ns).slice(1), process.execPath, '-e', script]);
}

/** Record count and original lengths of a classic pcap (little-endian, as tcpdump writes here). */
function records(pcap: Buffer): number[] {
  expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
  const lengths: number[] = [];
  for (let off = 24; off + 16 <= pcap.length; ) {
    const incl = pcap.readUInt32LE(off + 8);
    lengths.push(pcap.readUInt32LE(off + 12));
    off += 16 + incl;
  }
  return lengths;
}

const tcpdumpIn = (ns: string) => [...pair.exec(ns), 'tcpdump'];

/** Starts a capture in namespace b and resolves once tcpdump listens. */
async function listening(bounds: Parameters<typeof capture>[1], filter: string) {
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  const result = capture(pair.b.iface, bounds, { command: tcpdumpIn(pair.b.ns), filter, onListening: ready });
  await Promise.race([up, result]);
  return { result }; // wrapped: returning the promise itself would wait for the capture
}

describe('capture', () => {
  it('stops at maxPackets', async () => {
    const { result: cap } = await listening({ maxPackets: 50, maxSeconds: 10, maxBytes: 1 << 20, snaplen: 128 }, 'udp port 9999');
    await udp(200, 300, 9999);
    const res = await cap;
    const lens = records(res.pcap);
    expect(lens).toHaveLength(50);
    // Original length: 300 bytes of payload + UDP 8 + IP 20 + Ethernet 14.
    expect(lens.every((l) => l === 342)).toBe(true);
    expect(res.truncated).toBe(false);
    // What tcpdump wrote, through the agent's own parser and classifier.
    const c = classify(parsePcap(res.pcap).packets, { victim: pair.b.ip });
    expect(c).toMatchObject({ family: 'udp_flood', packets: 50, topSources: [{ value: pair.a.ip, packets: 50 }], topDestinationPorts: [{ value: 9999, packets: 50 }] });
  });

  it('stops at maxSeconds with what it saw, and at maxBytes', async () => {
    const quiet = await capture(pair.b.iface, { maxPackets: 1000, maxSeconds: 1, maxBytes: 1 << 20, snaplen: 128 }, { command: tcpdumpIn(pair.b.ns), filter: 'udp port 9998' });
    expect(records(quiet.pcap)).toHaveLength(0);
    expect(quiet.elapsedMs).toBeGreaterThanOrEqual(900);

    const { result: cap } = await listening({ maxPackets: 100_000, maxSeconds: 10, maxBytes: 4096, snaplen: 1500 }, 'udp port 9997');
    await udp(100, 1000, 9997);
    const res = await cap;
    expect(res.truncated).toBe(true);
    expect(res.pcap.length).toBe(4096);
  });

  it('refuses what cannot be an interface name, and names tcpdump when it is missing', async () => {
    await expect(capture('eth0; reboot', { maxPackets: 1, maxSeconds: 1, maxBytes: 100, snaplen: 64 })).rejects.toThrow('not an interface name');
    await expect(capture('lo', { maxPackets: 1, maxSeconds: 1, maxBytes: 100, snaplen: 64 }, { command: ['/nonexistent/tcpdump'] })).rejects.toThrow('apt-get install tcpdump');
  });
});
