// Builds raw frames and classic pcap files, so classification is tested on files the
// tests write byte by byte (tcpdump's own output is tested in agent-capture.test.ts).

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += b.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

const v4 = (ip: string) => Buffer.from(ip.split('.').map(Number));

function v6(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export interface Ip4Opts {
  src: string;
  dst: string;
  protocol: number;
  /** Fragment offset in 8-byte units, and more-fragments. */
  fragOffset?: number;
  moreFragments?: boolean;
  /** 64 unless given. */
  ttl?: number;
}

function ether(payload: Buffer, etherType: number): Buffer {
  const h = Buffer.alloc(14);
  Buffer.from('020000000002', 'hex').copy(h, 0);
  Buffer.from('020000000001', 'hex').copy(h, 6);
  h.writeUInt16BE(etherType, 12);
  return Buffer.concat([h, payload]);
}

export function ipv4(o: Ip4Opts, l4: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + l4.length, 2);
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(((o.moreFragments ? 1 : 0) << 13) | (o.fragOffset ?? 0), 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.protocol;
  v4(o.src).copy(h, 12);
  v4(o.dst).copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return ether(Buffer.concat([h, l4]), 0x0800);
}

export function ipv6(o: { src: string; dst: string; next: number }, l4: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(l4.length, 4);
  h[6] = o.next;
  h[7] = 64;
  v6(o.src).copy(h, 8);
  v6(o.dst).copy(h, 24);
  return ether(Buffer.concat([h, l4]), 0x86dd);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** A TCP segment: a 20-byte header, or 32 with `payload` (timestamps option, as Linux sends), then the payload. */
export function tcpSegment(sport: number, dport: number, flags: number, payload: number | Buffer): Buffer {
  const data = typeof payload === 'number' ? Buffer.alloc(payload, 0x17) : payload;
  const h = Buffer.alloc(32);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 8 << 4;
  h[13] = flags;
  h.writeUInt16BE(502, 14);
  h[20] = 1;
  h[21] = 1;
  h[22] = 8; // timestamps
  h[23] = 10;
  return Buffer.concat([h, data]);
}

export function tcp(sport: number, dport: number, flags: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return h;
}

export function icmpEcho(size = 56): Buffer {
  const b = Buffer.alloc(8 + size);
  b[0] = 8;
  return b;
}

/**
 * A classic pcap file; `bigEndian`/`nanos` pick the other magic numbers tools write.
 * Frames are 1 ms apart unless `timesMs` gives each its time (ms since the first).
 */
export function pcapFile(frames: Buffer[], opts: { linkType?: number; snaplen?: number; bigEndian?: boolean; nanos?: boolean; timesMs?: readonly number[] } = {}): Buffer {
  const snaplen = opts.snaplen ?? 65535;
  const w32 = (b: Buffer, v: number, o: number) => (opts.bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (opts.bigEndian ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const head = Buffer.alloc(24);
  w32(head, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(head, 2, 4);
  w16(head, 4, 6);
  w32(head, snaplen, 16);
  w32(head, opts.linkType ?? 1, 20);
  const parts: Buffer[] = [head];
  frames.forEach((f, i) => {
    const incl = Math.min(f.length, snaplen);
    const rec = Buffer.alloc(16);
    const ms = opts.timesMs?.[i] ?? i;
    w32(rec, 1_795_500_000 + Math.floor(ms / 1000), 0);
    w32(rec, Math.floor((ms % 1000) * (opts.nanos ? 1_000_000 : 1000)), 4);
    w32(rec, incl, 8);
    w32(rec, f.length, 12);
    parts.push(rec, f.subarray(0, incl));
  });
  return Buffer.concat(parts);
}

/** Ethernet frame -> Linux cooked v2 (tcpdump -i any) frame. */
export function toSll2(frame: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(frame.readUInt16BE(12), 0);
  return Buffer.concat([h, frame.subarray(14)]);
}

/** A DNS response header (QR set) padded to `size` bytes: what a reflector sends back. */
export function dnsResponse(size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt16BE(0xbeef, 0);
  b[2] = 0x81; // QR=1, RD
  b[3] = 0x80;
  return b;
}

/** A DNS query (QR clear, RD) for `name`, type A. */
export function dnsQuery(name: string, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head[2] = 0x01;
  head.writeUInt16BE(1, 4);
  return Buffer.concat([head, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}
