// Classification on PCAP files the tests write to disk and read back: every family the
// agent reports, the forensic figures, and the file variants tools produce.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../domain/classify.js';
import { parsePcap, TCP } from '../domain/pcap.js';
import { dnsResponse, icmpEcho, ipv4, ipv6, pcapFile, tcp, toSll2, udp } from './support/packets.js';

const dir = mkdtempSync(join(tmpdir(), 'bwk-pcap-'));
const VICTIM = '203.0.113.10';
let files = 0;

/** Writes the frames as a pcap file, reads it back from disk, parses and classifies it. */
function roundTrip(frames: Buffer[], opts: Parameters<typeof pcapFile>[1] = {}, victim: string | undefined = VICTIM) {
  const path = join(dir, `${files++}.pcap`);
  writeFileSync(path, pcapFile(frames, opts));
  const { packets } = parsePcap(readFileSync(path));
  return classify(packets, victim ? { victim } : {});
}

const src = (i: number) => `198.51.100.${(i % 200) + 1}`;
const many = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
const udpTo = (i: number, sport: number, payload: Buffer, dport = 40000 + (i % 1000)) => ipv4({ src: src(i), dst: VICTIM, protocol: 17 }, udp(sport, dport, payload));

describe('flood families', () => {
  it.each([
    ['UDP flood', many(500, (i) => udpTo(i, 20000 + i, Buffer.alloc(100, i))), 'udp_flood', null],
    ['SYN flood', many(500, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 443, TCP.SYN))), 'syn_flood', null],
    ['ACK flood', many(500, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 443, TCP.ACK))), 'tcp_flood', 'ack'],
    ['RST flood', many(500, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 443, TCP.RST | TCP.ACK))), 'tcp_flood', 'rst'],
    ['ICMP flood', many(500, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 1 }, icmpEcho())), 'icmp_flood', null],
    ['fragment flood', many(500, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 17, fragOffset: 185, moreFragments: true }, Buffer.alloc(1480))), 'fragment_flood', 'udp'],
  ] as const)('%s', (_, frames, family, subtype) => {
    const c = roundTrip([...frames]);
    expect(c).toMatchObject({ verdict: 'attack', family, subtype, packets: 500 });
    expect(c.confidence).toBe(1);
  });

  const reflections: Array<[string, number, Buffer]> = [
    ['dns', 53, dnsResponse(1400)],
    ['ntp', 123, Buffer.concat([Buffer.from([0x17, 0x00, 0x03, 0x2a]), Buffer.alloc(440)])],
    ['ssdp', 1900, Buffer.from('HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\nLOCATION: http://192.0.2.1/\r\n\r\n')],
    ['memcached', 11211, Buffer.concat([Buffer.from('VALUE a 0 1000\r\n'), Buffer.alloc(1300, 0x61)])],
    ['cldap', 389, Buffer.concat([Buffer.from([0x30, 0x84]), Buffer.alloc(2000)])],
    ['chargen', 19, Buffer.from('!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n'.repeat(10))],
    ['snmp', 161, Buffer.concat([Buffer.from([0x30, 0x82, 0x05, 0x00, 0x02, 0x01, 0x01, 0x04, 0x06]), Buffer.from('public'), Buffer.from([0xa2, 0x82]), Buffer.alloc(1200)])],
    ['ws_discovery', 3702, Buffer.from('<?xml version="1.0"?><soap:Envelope><soap:Body><ProbeMatches/></soap:Body></soap:Envelope>'.padEnd(800, ' '))],
  ];
  it.each(reflections)('%s amplification, by source port and reply signature', (vector, sport, payload) => {
    const c = roundTrip(many(300, (i) => udpTo(i, sport, payload)));
    expect(c).toMatchObject({ verdict: 'attack', family: 'udp_flood', subtype: `${vector}_amplification`, confidence: 1 });
    expect(c.signature?.match).toMatchObject({ protocols: [17], sourcePorts: [{ from: sport, to: sport }] });
  });

  it('counts the later fragments of fragmented DNS replies as the amplification', () => {
    // ~3000-byte replies: a first fragment (UDP header, sport 53) and a later one without ports.
    const frames = many(200, (i) => [
      ipv4({ src: src(i), dst: VICTIM, protocol: 17, moreFragments: true }, udp(53, 33000 + i, dnsResponse(1472))),
      ipv4({ src: src(i), dst: VICTIM, protocol: 17, fragOffset: 185 }, Buffer.alloc(1500)),
    ]).flat();
    expect(roundTrip(frames)).toMatchObject({ family: 'udp_flood', subtype: 'dns_amplification', confidence: 1, packets: 400 });
  });

  it('does not call small port-53 traffic without a reply signature amplification', () => {
    const queries = many(300, (i) => udpTo(i, 53, Buffer.alloc(40)));
    expect(roundTrip(queries)).toMatchObject({ family: 'udp_flood' });
  });

  it('recognises a multi-vector attack and names its vectors, largest first', () => {
    const frames = [
      ...many(300, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 80, TCP.SYN))),
      ...many(200, (i) => udpTo(i, 30000 + i, Buffer.alloc(64))),
    ];
    expect(roundTrip(frames)).toMatchObject({ family: 'multi_vector', subtype: 'syn_flood+udp_flood', confidence: 1 });
  });

  it('calls mixed traffic the host answers benign, and names no attack in it', () => {
    const back = (i: number, protocol: number, l4: Buffer) => ipv4({ src: VICTIM, dst: src(i), protocol }, l4);
    const frames = [
      ...many(30, (i) => udpTo(i, 30000 + i, Buffer.alloc(64), 5000)),
      ...many(30, (i) => back(i, 17, udp(5000, 30000 + i, Buffer.alloc(64)))),
      ...many(30, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 443, TCP.ACK | TCP.PSH))),
      ...many(30, (i) => back(i, 6, tcp(443, 1024 + i, TCP.ACK | TCP.PSH))),
      ...many(30, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 443, TCP.FIN | TCP.ACK))),
      ...many(30, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 47 }, Buffer.alloc(40))),
      ...many(30, (i) => back(i, 47, Buffer.alloc(40))),
    ];
    const c = roundTrip(frames);
    expect(c).toMatchObject({ family: 'unknown', verdict: 'benign', signature: null, packets: 120 });
    expect(c.reasons.join('; ')).toContain('100 % of inbound TCP belongs to flows the host answers');
  });
});

describe('forensic figures', () => {
  it('counts only packets to the victim, and ranks sources and destination ports', () => {
    const frames = [
      ...many(50, () => ipv4({ src: '198.51.100.1', dst: VICTIM, protocol: 17 }, udp(5000, 27015, Buffer.alloc(100)))),
      ...many(30, () => ipv4({ src: '198.51.100.2', dst: VICTIM, protocol: 17 }, udp(5000, 53, Buffer.alloc(600)))),
      ...many(30, () => ipv4({ src: '198.51.100.3', dst: VICTIM, protocol: 17 }, udp(5000, 123, Buffer.alloc(1400)))),
      ...many(500, () => ipv4({ src: '198.51.100.9', dst: '203.0.113.99', protocol: 6 }, tcp(1, 2, TCP.SYN))),
    ];
    const c = roundTrip(frames);
    expect(c.packets).toBe(110);
    expect(c.topSources).toEqual([
      { value: '198.51.100.1', packets: 50 },
      { value: '198.51.100.2', packets: 30 },
      { value: '198.51.100.3', packets: 30 },
    ]);
    expect(c.topDestinationPorts).toEqual([
      { value: 27015, packets: 50 },
      { value: 53, packets: 30 },
      { value: 123, packets: 30 },
    ]);
    expect(c.sizeHistogram).toEqual({ '0-63': 0, '64-127': 0, '128-255': 50, '256-511': 0, '512-1023': 30, '1024-1279': 0, '1280-1499': 30, '1500+': 0 });
    expect(c.protocolMix).toEqual({ tcp: 0, udp: 1, icmp: 0, other: 0 });
    expect(c.bytes).toBe(50 * (14 + 20 + 8 + 100) + 30 * (14 + 20 + 8 + 600) + 30 * (14 + 20 + 8 + 1400));
  });

  it('classifies an empty sample as unknown with zero confidence', () => {
    expect(roundTrip([])).toMatchObject({ family: 'unknown', verdict: 'inconclusive', confidence: 0, packets: 0, topSources: [] });
  });
});

describe('file variants', () => {
  const syn = many(100, (i) => ipv4({ src: src(i), dst: VICTIM, protocol: 6 }, tcp(1024 + i, 22, TCP.SYN)));

  it('reads big-endian and nanosecond files', () => {
    expect(roundTrip(syn, { bigEndian: true }).family).toBe('syn_flood');
    expect(roundTrip(syn, { nanos: true }).family).toBe('syn_flood');
    const { packets } = parsePcap(pcapFile(syn.slice(0, 2), { nanos: true }));
    expect(packets[1]!.tsMs - packets[0]!.tsMs).toBeCloseTo(1, 5);
  });

  it('reads truncated captures (snaplen 64) and Linux cooked v2 frames', () => {
    const big = many(100, (i) => udpTo(i, 53, dnsResponse(1400)));
    const c = roundTrip(big, { snaplen: 64 });
    // The reply signature sits in the first bytes of the payload, inside the snaplen.
    expect(c).toMatchObject({ family: 'udp_flood', subtype: 'dns_amplification' });
    expect(c.sizeHistogram['1280-1499']).toBe(100);
    expect(roundTrip(syn.map(toSll2), { linkType: 276 }).family).toBe('syn_flood');
  });

  it('decodes IPv6', () => {
    const v6 = many(100, (i) => ipv6({ src: `2001:db8:1::${i + 1}`, dst: '2001:db8:2::10', next: 17 }, udp(40000 + i, 9999, Buffer.alloc(200))));
    const c = roundTrip(v6, {}, '2001:db8:2::10');
    expect(c).toMatchObject({ family: 'udp_flood', packets: 100 });
    expect(c.topSources[0]!.value).toMatch(/^2001:db8:1::/);
  });

  it('refuses what is not a pcap file', () => {
    expect(() => parsePcap(Buffer.from('not a capture at all, clearly'))).toThrow('unknown magic');
    expect(() => parsePcap(Buffer.alloc(3))).toThrow('shorter');
  });
});
