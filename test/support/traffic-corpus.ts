// A labelled evaluation set for the classifier, generated from a seed: benign service
// traffic (web/HTTPS, a flash crowd of downloads, a DNS resolver, a game server, bulk
// transfers, SSH), and attacks of every vector in many variants (sources, sizes, ports,
// TTLs, rates) mixed into such traffic at 10 %, 30 % and 70 % of the packets to the host.
// Samples hold both directions, as the agent captures `host <victim>`. Frames are built
// with packets.ts and go through pcapFile + parsePcap, so the real parser runs.
//
// Labels: a benign sample's expected verdict is `benign`; an attack sample's is `attack`
// with the vector's family and subtype. At a 10 % share the attack is a small part of a
// busy host's traffic: naming it is correct, and so is `inconclusive` (no rule, nothing
// announced); `benign`, or another family, is wrong. At 30 % and 70 % only the family is
// correct.
import { parsePcap, TCP, type Packet } from '../../domain/pcap.js';
import type { AttackFamily } from '../../domain/attack.js';
import { dnsQuery, dnsResponse, icmpEcho, ipv4, pcapFile, tcp, tcpSegment, udp } from './packets.js';
import { mulberry32 } from './seeded.js';

export const VICTIM = '203.0.113.10';

export interface Label {
  verdict: 'attack' | 'benign';
  family: AttackFamily | null;
  subtype: string | null;
}

export interface Sample {
  id: string;
  label: Label;
  /** The attack's share of packets to the host; null for benign samples. */
  share: number | null;
  /** Ports the host serves (what the agent would pass as listeningPorts). */
  listeningPorts: number[];
  packets: Packet[];
}

/** Seeded draws (test/support/seeded.ts). */
export function prng(seed: number) {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

/** Frames with their times (ms from the start of the sample), and how many go to the host. */
class Trace {
  frames: Buffer[] = [];
  times: number[] = [];
  inbound = 0;
  add(t: number, frame: Buffer, toHost: boolean) {
    this.frames.push(frame);
    this.times.push(t);
    if (toHost) this.inbound++;
  }
}

const publicAddress = (r: Rng) => `${r.pick([23, 45, 62, 81, 94, 103, 141, 177, 185, 190, 200, 212])}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
const ephemeral = (r: Rng) => r.int(1024, 65535);

interface Client {
  ip: string;
  ttl: number;
}
const clients = (r: Rng, n: number): Client[] => Array.from({ length: n }, () => ({ ip: publicAddress(r), ttl: r.pick([44, 51, 52, 55, 57, 109, 113, 118, 241]) }));

const inTcp = (c: Client, sport: number, dport: number, flags: number, payload: number | Buffer) => ipv4({ src: c.ip, dst: VICTIM, protocol: 6, ttl: c.ttl }, payload === 0 ? tcp(sport, dport, flags) : tcpSegment(sport, dport, flags, payload));
const outTcp = (to: string, sport: number, dport: number, flags: number, payload: number) => ipv4({ src: VICTIM, dst: to, protocol: 6 }, payload === 0 ? tcp(sport, dport, flags) : tcpSegment(sport, dport, flags, payload));
const inUdp = (c: Client, sport: number, dport: number, payload: Buffer) => ipv4({ src: c.ip, dst: VICTIM, protocol: 17, ttl: c.ttl }, udp(sport, dport, payload));
const outUdp = (to: string, sport: number, dport: number, payload: Buffer) => ipv4({ src: VICTIM, dst: to, protocol: 17 }, udp(sport, dport, payload));

const A = TCP.ACK;
const PA = TCP.PSH | TCP.ACK;

// ---------------------------------------------------------------------------------------
// Benign traffic. Each adds about `n` packets to the host (and the host's own) over `ms`.

type Background = (t: Trace, r: Rng, n: number, ms: number) => void;

/** Browsers on HTTPS/HTTP: handshakes, small requests, responses of a few segments, bare ACKs, closes. */
const web: Background = (t, r, n, ms) => {
  const cs = clients(r, Math.max(20, Math.round(n / r.int(15, 40))));
  while (t.inbound < n) {
    const c = r.pick(cs);
    const port = r.next() < 0.85 ? 443 : 80;
    const sp = ephemeral(r);
    let at = r.next() * ms * 0.9;
    const complete = r.next() < 0.97;
    t.add(at, inTcp(c, sp, port, TCP.SYN, 0), true);
    t.add((at += 1), outTcp(c.ip, port, sp, TCP.SYN | A, 0), false);
    if (!complete) continue;
    t.add((at += 30), inTcp(c, sp, port, A, 0), true);
    for (let q = r.int(1, 6); q > 0; q--) {
      t.add((at += r.int(50, 900)), inTcp(c, sp, port, PA, r.int(200, 900)), true);
      const segs = r.int(1, 8);
      for (let s = 0; s < segs; s++) t.add((at += 1), outTcp(c.ip, port, sp, A, s === segs - 1 ? r.int(100, 1400) : 1448), false);
      for (let s = 0; s < Math.ceil(segs / 2); s++) t.add((at += 20), inTcp(c, sp, port, A, 0), true);
    }
    t.add((at += 100), inTcp(c, sp, port, TCP.FIN | A, 0), true);
    t.add((at += 1), outTcp(c.ip, port, sp, TCP.FIN | A, 0), false);
  }
};

/** A flash crowd of downloads: a few dozen clients, bare ACKs in, full data segments out. */
const downloads: Background = (t, r, n, ms) => {
  const cs = clients(r, r.int(20, 60));
  const flows = cs.map((c) => ({ c, sp: ephemeral(r), port: r.pick([443, 443, 80]) }));
  for (const f of flows.slice(0, Math.floor(flows.length / 3))) {
    const at = r.next() * ms * 0.2;
    t.add(at, inTcp(f.c, f.sp, f.port, TCP.SYN, 0), true);
    t.add(at + 1, outTcp(f.c.ip, f.port, f.sp, TCP.SYN | A, 0), false);
    t.add(at + 30, inTcp(f.c, f.sp, f.port, A, 0), true);
    t.add(at + 31, inTcp(f.c, f.sp, f.port, PA, r.int(300, 700)), true);
  }
  while (t.inbound < n) {
    const f = r.pick(flows);
    const at = r.next() * ms;
    t.add(at, outTcp(f.c.ip, f.port, f.sp, A, 1448), false);
    t.add(at + 0.1, outTcp(f.c.ip, f.port, f.sp, A, 1448), false);
    t.add(at + 25, inTcp(f.c, f.sp, f.port, A, 0), true);
  }
};

const POPULAR = ['www.google.com', 'api.github.com', 'cdn.jsdelivr.net', 'www.wikipedia.org', 'mail.example.org', 'ntp.ubuntu.com', 'update.microsoft.com', 'www.bbc.co.uk', 'static.xx.fbcdn.net', 'play.googleapis.com', 'registry.npmjs.org', 'deb.debian.org'];

/** A recursive resolver: clients' queries for popular names answered; the host's own upstream queries and their answers. */
const resolver: Background = (t, r, n, ms) => {
  const cs = clients(r, r.int(30, 400));
  const upstream = clients(r, 8);
  while (t.inbound < n) {
    const at = r.next() * ms;
    const name = r.pick(POPULAR);
    if (r.next() < 0.75) {
      const c = r.pick(cs);
      const sp = ephemeral(r);
      t.add(at, inUdp(c, sp, 53, dnsQuery(name, r.int(0, 65535))), true);
      t.add(at + 1, outUdp(c.ip, 53, sp, dnsResponse(r.int(60, 300))), false);
    } else {
      const u = r.pick(upstream);
      const sp = ephemeral(r);
      t.add(at, outUdp(u.ip, sp, 53, dnsQuery(name)), false);
      t.add(at + 20, inUdp(u, 53, sp, dnsResponse(r.int(80, 1200))), true);
    }
  }
};

/** A game server: players' small datagrams at tick rate, state updates back. */
const game: Background = (t, r, n, ms) => {
  const port = r.pick([27015, 7777, 19132, 28015]);
  const players = clients(r, r.int(10, 64)).map((c) => ({ c, sp: ephemeral(r) }));
  while (t.inbound < n) {
    const p = r.pick(players);
    const at = r.next() * ms;
    t.add(at, inUdp(p.c, p.sp, port, Buffer.alloc(r.int(30, 120), 7)), true);
    if (r.next() < 0.8) t.add(at + 1, outUdp(p.c.ip, port, p.sp, Buffer.alloc(r.int(100, 600), 9)), false);
  }
};

/** Backups: a few sources pushing full segments (rsync/SSH/HTTPS), the host's ACKs back. */
const bulk: Background = (t, r, n, ms) => {
  const port = r.pick([22, 873, 443, 445]);
  const flows = clients(r, r.int(1, 4)).map((c) => ({ c, sp: ephemeral(r) }));
  while (t.inbound < n) {
    const f = r.pick(flows);
    const at = r.next() * ms;
    t.add(at, inTcp(f.c, f.sp, port, A, 1448), true);
    t.add(at + 0.05, inTcp(f.c, f.sp, port, PA, 1448), true);
    t.add(at + 1, outTcp(f.c.ip, port, f.sp, A, 0), false);
  }
};

/** SSH: interactive sessions (keystrokes, echoes) and an scp. */
const ssh: Background = (t, r, n, ms) => {
  const sessions = clients(r, r.int(2, 12)).map((c) => ({ c, sp: ephemeral(r) }));
  while (t.inbound < n) {
    const s = r.pick(sessions);
    const at = r.next() * ms;
    const scp = s === sessions[0] && r.next() < 0.5;
    t.add(at, inTcp(s.c, s.sp, 22, PA, scp ? 1448 : r.int(36, 100)), true);
    t.add(at + 1, outTcp(s.c.ip, 22, s.sp, scp ? A : PA, scp ? 0 : r.int(36, 400)), false);
  }
};

export const BACKGROUNDS: Record<string, Background> = { web, downloads, resolver, game, bulk, ssh };

// ---------------------------------------------------------------------------------------
// Attacks. Each adds `n` packets to the host (and whatever the host answers) over `ms`.

type Attack = { label: Omit<Label, 'verdict'>; gen: (t: Trace, r: Rng, n: number, ms: number) => void };

/** Attack sources: spoofed (a new address per packet or two) or a botnet's real addresses. */
function sourcesFor(r: Rng, n: number): () => Client {
  const spoofed = r.next() < 0.5;
  const pool = clients(r, spoofed ? Math.max(50, Math.floor(n / r.int(1, 3))) : r.int(30, 800));
  const ttl = r.int(30, 250);
  return spoofed ? () => ({ ip: r.pick(pool).ip, ttl }) : () => r.pick(pool);
}

function tcpFlood(flags: number, label: Omit<Label, 'verdict'>, opts: { reflect?: boolean } = {}): Attack {
  return {
    label,
    gen: (t, r, n, ms) => {
      const src = sourcesFor(r, n);
      const dport = r.pick([80, 443, 22, 25, r.int(1, 65535)]);
      const payload = r.next() < 0.7 ? 0 : r.pick([0, 12, r.int(20, 1000)]);
      const fixedSport = r.next() < 0.2 ? r.int(1024, 65535) : 0;
      for (let i = 0; i < n; i++) {
        const at = r.next() * ms;
        const c = src();
        if (opts.reflect) {
          const sport = r.pick([80, 443, 22, 21, 25, 53]);
          const dp = ephemeral(r);
          t.add(at, inTcp(c, sport, dp, flags, 0), true);
          if (flags & TCP.SYN && r.next() < 0.5) t.add(at + 1, outTcp(c.ip, dp, sport, TCP.RST, 0), false);
        } else {
          const sp = fixedSport || ephemeral(r);
          t.add(at, inTcp(c, sp, dport, flags, payload), true);
          if (flags === TCP.SYN && r.next() < 0.6) t.add(at + 1, outTcp(c.ip, dport, sp, TCP.SYN | A, 0), false);
          if (flags & A && r.next() < 0.3) t.add(at + 1, outTcp(c.ip, dport, sp, TCP.RST, 0), false);
        }
      }
    },
  };
}

const pad = (head: Buffer | string, size: number, fill = 0) => {
  const h = typeof head === 'string' ? Buffer.from(head, 'latin1') : head;
  return h.length >= size ? h : Buffer.concat([h, Buffer.alloc(size - h.length, fill)]);
};

/** Genuine replies of each reflected protocol (header bytes per its specification), and the reflector port. */
export const REPLIES: Record<string, { port: number; reply: (r: Rng) => Buffer }> = {
  dns: { port: 53, reply: (r) => dnsResponse(r.int(900, 1472)) },
  ntp: { port: 123, reply: (r) => pad(Buffer.from([0x17, 0x00, 0x03, 0x2a]), r.pick([440, 468])) },
  ssdp: { port: 1900, reply: (r) => pad(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nUSN: uuid:${r.int(1, 9e6)}::upnp:rootdevice\r\nLOCATION: http://192.168.1.1:1900/igd.xml\r\n\r\n`, r.int(260, 340), 0x20) },
  memcached: { port: 11211, reply: (r) => Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0]), pad('VALUE k 0 100000\r\n', r.int(1200, 1400), 0x61)]) },
  cldap: { port: 389, reply: (r) => pad(Buffer.from([0x30, 0x84, 0x00, 0x00, 0x0b, 0xc2, 0x02, 0x01, 0x01, 0x64]), r.int(1400, 1472)) },
  chargen: { port: 19, reply: (r) => Buffer.from('!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n'.repeat(r.int(5, 19))) },
  snmp: { port: 161, reply: (r) => pad(Buffer.concat([Buffer.from([0x30, 0x82, 0x05, 0x00, 0x02, 0x01, 0x01, 0x04, 0x06]), Buffer.from('public'), Buffer.from([0xa2, 0x82])]), r.int(1000, 1400)) },
  ws_discovery: { port: 3702, reply: (r) => pad('<?xml version="1.0" encoding="utf-8"?><soap:Envelope><soap:Body><d:ProbeMatches/></soap:Body></soap:Envelope>', r.int(600, 1400), 0x20) },
  stun: { port: 3478, reply: (r) => { const b = pad(Buffer.alloc(20), r.int(68, 120)); b.writeUInt16BE(0x0101, 0); b.writeUInt16BE(b.length - 20, 2); b.writeUInt32BE(0x2112a442, 4); return b; } },
  slp: { port: 427, reply: (r) => { const b = pad(Buffer.from([2, 10, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 2, 0x65, 0x6e]), r.int(400, 1400)); b.writeUIntBE(b.length, 2, 3); return b; } },
  coap: { port: 5683, reply: (r) => pad(Buffer.concat([Buffer.from([0x60, 0x45, r.int(0, 255), r.int(0, 255), 0xff]), Buffer.from('</.well-known/core>;ct=40,</sensors/temp>;rt="temperature"')]), r.int(200, 1100), 0x2c) },
  ard: { port: 3283, reply: () => pad(Buffer.from([0x00, 0x01, 0x00, 0x00, 0x03, 0xea]), 1006) },
  openvpn: { port: 1194, reply: (r) => pad(Buffer.from([0x40, r.int(0, 255), r.int(0, 255), 1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0]), r.pick([26, 54, 86])) },
  mdns: { port: 5353, reply: (r) => { const b = dnsResponse(r.int(300, 1200)); b.writeUInt16BE(0, 0); b[2] = 0x84; b[3] = 0; return b; } },
  netbios: { port: 137, reply: (r) => { const b = pad(Buffer.alloc(12), r.int(200, 500)); b.writeUInt16BE(r.int(0, 65535), 0); b[2] = 0x84; b.writeUInt16BE(1, 6); return b; } },
  rdp: { port: 3389, reply: () => { const b = Buffer.alloc(1260); b.writeUInt32BE(0xffffffff, 0); b.writeUInt16BE(0x0040, 4); b.writeUInt16BE(0x0005, 6); return b; } },
  tftp: { port: 69, reply: () => pad(Buffer.from([0, 3, 0, 1]), 516, 0x41) },
  ubiquiti: { port: 10001, reply: (r) => { const b = pad(Buffer.from([1, 0, 0, 0, 2, 0, 10]), r.int(100, 200)); b.writeUInt16BE(b.length - 4, 2); return b; } },
  sip: { port: 5060, reply: (r) => pad('SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nAllow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n\r\n', r.int(400, 900), 0x20) },
  quic: { port: 443, reply: (r) => pad(Buffer.from([0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8]), r.int(1200, 1252), r.int(0, 255)) },
  portmap: { port: 111, reply: (r) => pad(Buffer.from([0, 0, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), r.int(300, 1200)) },
  mssql: { port: 1434, reply: (r) => Buffer.concat([Buffer.from([0x05, 0x00, 0x01]), Buffer.from('ServerName;SQL01;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;'.repeat(r.int(1, 6)))]) },
};

function amplification(vector: string): Attack {
  const { port, reply } = REPLIES[vector]!;
  return {
    label: { family: 'udp_flood', subtype: `${vector}_amplification` },
    gen: (t, r, n, ms) => {
      const reflectors = clients(r, r.int(20, 3000));
      const dport = r.next() < 0.5 ? 0 : r.pick([80, 443, 27015, 53]);
      for (let i = 0; i < n; i++) t.add(r.next() * ms, inUdp(r.pick(reflectors), port, dport || ephemeral(r), reply(r)), true);
    },
  };
}

const udpFlood: Attack = {
  label: { family: 'udp_flood', subtype: null },
  gen: (t, r, n, ms) => {
    const src = sourcesFor(r, n);
    const dport = r.next() < 0.5 ? r.pick([80, 443, 53, 123, 9999, 3306]) : 0;
    const size = r.pick([0, 64, 512, 1400, r.int(1, 1472)]);
    for (let i = 0; i < n; i++) t.add(r.next() * ms, inUdp(src(), ephemeral(r), dport || r.int(1, 65535), Buffer.alloc(size, 0x55)), true);
  },
};

const gameFlood: Attack = {
  label: { family: 'udp_flood', subtype: 'game' },
  gen: (t, r, n, ms) => {
    const src = sourcesFor(r, n);
    const port = r.pick([27015, 7777, 19132, 28015, 3074, 9987]);
    const size = r.int(8, 64);
    for (let i = 0; i < n; i++) t.add(r.next() * ms, inUdp(src(), ephemeral(r), port, Buffer.alloc(size, 0xff)), true);
  },
};

const waterTorture: Attack = {
  label: { family: 'dns_flood', subtype: 'random_subdomain' },
  gen: (t, r, n, ms) => {
    const resolvers = clients(r, r.int(10, 300));
    const domain = r.pick(['example.com', 'victim-bank.net', 'shop.example.org']);
    const labelLen = r.int(6, 16);
    for (let i = 0; i < n; i++) {
      const c = r.pick(resolvers);
      const sp = ephemeral(r);
      const label = Array.from({ length: labelLen }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[r.int(0, 35)]).join('');
      const at = r.next() * ms;
      t.add(at, inUdp(c, sp, 53, dnsQuery(`${label}.${domain}`, r.int(0, 65535))), true);
      if (r.next() < 0.7) t.add(at + 2, outUdp(c.ip, 53, sp, dnsResponse(r.int(90, 140))), false); // NXDOMAIN
    }
  },
};

/** Bots completing handshakes and sending small requests many times a second each, answered with little. */
const httpFlood: Attack = {
  label: { family: 'http_flood', subtype: null },
  gen: (t, r, n, ms) => {
    const rate = r.int(10, 40); // requests a second per bot
    const bots = clients(r, Math.max(10, Math.round(n / 1.2 / (rate * (ms / 1000)))));
    const port = r.pick([80, 443]);
    let added = 0;
    while (added < n) {
      const c = r.pick(bots);
      const sp = ephemeral(r);
      let at = r.next() * ms * 0.95;
      t.add(at, inTcp(c, sp, port, TCP.SYN, 0), true);
      t.add((at += 1), outTcp(c.ip, port, sp, TCP.SYN | A, 0), false);
      t.add((at += 20), inTcp(c, sp, port, A, 0), true);
      added += 2;
      const reqs = r.int(3, 20);
      for (let q = 0; q < reqs && added < n; q++, added++) {
        t.add((at += r.int(500, 1500) / rate), inTcp(c, sp, port, PA, r.int(80, 400)), true);
        t.add((at += 1), outTcp(c.ip, port, sp, PA, r.int(150, 1200)), false);
      }
    }
  },
};

const icmpFlood: Attack = {
  label: { family: 'icmp_flood', subtype: null },
  gen: (t, r, n, ms) => {
    const src = sourcesFor(r, n);
    const size = r.pick([56, 56, 1000, 1472, r.int(0, 1400)]);
    for (let i = 0; i < n; i++) {
      const c = src();
      const at = r.next() * ms;
      t.add(at, ipv4({ src: c.ip, dst: VICTIM, protocol: 1, ttl: c.ttl }, icmpEcho(size)), true);
      if (r.next() < 0.5) t.add(at + 1, ipv4({ src: VICTIM, dst: c.ip, protocol: 1 }, Buffer.alloc(8 + size)), false);
    }
  },
};

function protocolFlood(proto: number, subtype: string): Attack {
  return {
    label: { family: 'protocol_flood', subtype },
    gen: (t, r, n, ms) => {
      const src = sourcesFor(r, n);
      const size = r.pick([24, 100, 512, 1400, r.int(8, 1400)]);
      for (let i = 0; i < n; i++) {
        const c = src();
        t.add(r.next() * ms, ipv4({ src: c.ip, dst: VICTIM, protocol: proto, ttl: c.ttl }, Buffer.alloc(size, 0x45)), true);
      }
    },
  };
}

/** Fragments of big UDP datagrams: only later ones (`later`), or first fragments too. */
function fragmentFlood(later: boolean): Attack {
  return {
    label: { family: 'fragment_flood', subtype: 'udp' },
    gen: (t, r, n, ms) => {
      const src = sourcesFor(r, n);
      const size = r.pick([1480, 1200, 576, r.int(200, 1480)]) & ~7;
      for (let i = 0; i < n; i++) {
        const c = src();
        const at = r.next() * ms;
        if (!later && i % 2 === 0) t.add(at, ipv4({ src: c.ip, dst: VICTIM, protocol: 17, moreFragments: true, ttl: c.ttl }, udp(ephemeral(r), r.int(1, 65535), Buffer.alloc(size - 8, 0x46))), true);
        else t.add(at, ipv4({ src: c.ip, dst: VICTIM, protocol: 17, fragOffset: r.int(1, 7) * (size / 8), moreFragments: r.next() < 0.5, ttl: c.ttl }, Buffer.alloc(size, 0x46)), true);
      }
    },
  };
}

const multiVector: Attack = {
  label: { family: 'multi_vector', subtype: null },
  gen: (t, r, n, ms) => {
    const a = Math.floor(n * (0.4 + r.next() * 0.2));
    tcpFlood(TCP.SYN, { family: 'syn_flood', subtype: null }).gen(t, r, a, ms);
    (r.next() < 0.5 ? amplification(r.pick(['dns', 'ntp', 'cldap'])) : udpFlood).gen(t, r, n - a, ms);
  },
};

export const ATTACKS: Record<string, Attack> = {
  syn: tcpFlood(TCP.SYN, { family: 'syn_flood', subtype: null }),
  ack: tcpFlood(A, { family: 'tcp_flood', subtype: 'ack' }),
  push_ack: tcpFlood(PA, { family: 'tcp_flood', subtype: 'ack' }),
  rst: tcpFlood(TCP.RST, { family: 'tcp_flood', subtype: 'rst' }),
  syn_ack_reflection: tcpFlood(TCP.SYN | A, { family: 'tcp_flood', subtype: 'syn_ack_reflection' }, { reflect: true }),
  rst_reflection: tcpFlood(TCP.RST | A, { family: 'tcp_flood', subtype: 'rst_reflection' }, { reflect: true }),
  udp: udpFlood,
  game: gameFlood,
  ...Object.fromEntries(Object.keys(REPLIES).map((v) => [`${v}_amplification`, amplification(v)])),
  random_subdomain: waterTorture,
  http: httpFlood,
  icmp: icmpFlood,
  gre: protocolFlood(47, 'gre'),
  esp: protocolFlood(50, 'esp'),
  proto_253: protocolFlood(253, 'proto_253'),
  fragments_later: fragmentFlood(true),
  fragments: fragmentFlood(false),
  multi_vector: multiVector,
};

export const SHARES = [0.1, 0.3, 0.7] as const;

const LISTENING: Record<string, number[]> = { web: [80, 443], downloads: [80, 443], resolver: [53], game: [27015, 7777, 19132, 28015], bulk: [22, 873, 443, 445], ssh: [22] };

function toPackets(t: Trace): Packet[] {
  const order = t.times.map((_, i) => i).sort((a, b) => t.times[a]! - t.times[b]!);
  const file = pcapFile(order.map((i) => t.frames[i]!), { timesMs: order.map((i) => t.times[i]!) });
  return parsePcap(file).packets;
}

/**
 * The corpus: per seed, `variants` samples of every attack at every share (over a random
 * background) and of every benign background (and web+ssh+resolver mixes). About
 * `packets` packets to the host per sample.
 */
export function* corpus(opts: { seed: number; variants: number; packets?: number }): Generator<Sample> {
  const r = prng(opts.seed);
  const size = opts.packets ?? 2000;
  const bgNames = Object.keys(BACKGROUNDS);
  for (let v = 0; v < opts.variants; v++) {
    for (const name of bgNames) {
      const t = new Trace();
      const ms = r.int(1000, 5000);
      BACKGROUNDS[name]!(t, r, Math.round(size * (0.5 + r.next())), ms);
      yield { id: `benign/${name}/${v}`, label: { verdict: 'benign', family: null, subtype: null }, share: null, listeningPorts: LISTENING[name]!, packets: toPackets(t) };
    }
    {
      const t = new Trace();
      const ms = r.int(1000, 5000);
      web(t, r, size * 0.6, ms);
      ssh(t, r, size * 0.8, ms);
      resolver(t, r, size, ms);
      yield { id: `benign/mixed/${v}`, label: { verdict: 'benign', family: null, subtype: null }, share: null, listeningPorts: [22, 53, 80, 443], packets: toPackets(t) };
    }
    for (const [name, attack] of Object.entries(ATTACKS)) {
      for (const share of SHARES) {
        const t = new Trace();
        const ms = r.int(1000, 5000);
        const bg = r.pick(bgNames);
        BACKGROUNDS[bg]!(t, r, Math.round(size * (1 - share)), ms);
        const before = t.inbound;
        attack.gen(t, r, Math.round((before * share) / (1 - share)), ms);
        yield { id: `${name}/${share}/${bg}/${v}`, label: { verdict: 'attack', ...attack.label }, share, listeningPorts: LISTENING[bg]!, packets: toPackets(t) };
      }
    }
  }
}

/** The class a sample is scored as: its attack family, or "benign". */
export const expectedClass = (s: Sample) => (s.label.verdict === 'benign' ? 'benign' : s.label.family!);

/** Whether a prediction ("benign", "inconclusive" or a family) is correct for the sample (see the header). */
export function isCorrect(s: Sample, predicted: string): boolean {
  if (predicted === expectedClass(s)) return true;
  return s.share !== null && s.share <= 0.1 && predicted === 'inconclusive';
}
