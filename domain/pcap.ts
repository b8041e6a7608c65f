// Reading classic libpcap files (what `tcpdump -w` writes): Ethernet, Linux cooked (v1, v2)
// and raw IP link types; IPv4 and IPv6 with TCP, UDP and ICMP decoded. Truncated records
// (snaplen) and unknown protocols are kept with what could be decoded, never thrown on.

export interface Packet {
  tsMs: number;
  /** Length on the wire. */
  length: number;
  ip: {
    version: 4 | 6;
    src: string;
    dst: string;
    protocol: number;
    /** Total length as the IP header gives it. */
    totalLength: number;
    /** A fragment, first or not (IPv4 MF/offset, IPv6 Fragment header). */
    fragment: boolean;
    /** A fragment other than the first: it carries no L4 header. */
    laterFragment: boolean;
  } | null;
  tcp: { srcPort: number; dstPort: number; flags: number } | null;
  udp: { srcPort: number; dstPort: number; payload: Buffer } | null;
  icmp: { type: number; code: number } | null;
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

const LINK = { ETHERNET: 1, RAW: 101, SLL: 113, SLL2: 276 } as const;

/** A file that is not a pcap this code reads (the reason says why). */
export class PcapFormatError extends Error {
  override name = 'PcapFormatError';
}

interface PcapHeader {
  le: boolean;
  nanos: boolean;
  linkType: number;
}

/**
 * The 24-byte global header of a classic pcap file (tcpdump -w), checked: magic number,
 * version 2.x, a link type this parser decodes. Throws PcapFormatError.
 */
export function readPcapHeader(buf: Buffer): PcapHeader {
  if (buf.length < 24) throw new PcapFormatError('not a pcap file: shorter than its 24-byte header');
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) [le, nanos] = [true, magicLE === 0xa1b23c4d];
  else if (buf.readUInt32BE(0) === 0xa1b2c3d4 || buf.readUInt32BE(0) === 0xa1b23c4d) [le, nanos] = [false, buf.readUInt32BE(0) === 0xa1b23c4d];
  else if (magicLE === 0x0a0d0d0a) throw new PcapFormatError('not a classic pcap file: pcapng is not supported (use tcpdump -w)');
  else throw new PcapFormatError('not a pcap file: unknown magic number');
  const major = le ? buf.readUInt16LE(4) : buf.readUInt16BE(4);
  if (major !== 2) throw new PcapFormatError(`not a pcap file this reads: version ${major}, expected 2`);
  const linkType = (le ? buf.readUInt32LE(20) : buf.readUInt32BE(20)) & 0x0fffffff;
  if (!(Object.values(LINK) as number[]).includes(linkType)) throw new PcapFormatError(`link type ${linkType} is not one this reads (Ethernet, raw IP, Linux cooked v1/v2)`);
  return { le, nanos, linkType };
}

/** Every packet of a classic pcap file. Throws PcapFormatError, and only that, for a file it cannot read. */
export function parsePcap(buf: Buffer): { linkType: number; packets: Packet[] } {
  const { le, nanos, linkType } = readPcapHeader(buf);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const packets: Packet[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const incl = u32(off + 8);
    const data = buf.subarray(off + 16, Math.min(buf.length, off + 16 + incl));
    try {
      packets.push(decode(data, linkType, u32(off) * 1000 + u32(off + 4) / (nanos ? 1e6 : 1e3), u32(off + 12)));
    } catch (err) {
      throw new PcapFormatError(`packet ${packets.length + 1} at byte ${off} cannot be decoded: ${(err as Error).message}`);
    }
    off += 16 + incl;
  }
  return { linkType, packets };
}

function decode(d: Buffer, linkType: number, tsMs: number, length: number): Packet {
  const p: Packet = { tsMs, length, ip: null, tcp: null, udp: null, icmp: null };
  let off: number;
  let etherType: number;
  if (linkType === LINK.ETHERNET) {
    if (d.length < 14) return p;
    etherType = d.readUInt16BE(12);
    off = 14;
    while ((etherType === 0x8100 || etherType === 0x88a8) && d.length >= off + 4) {
      etherType = d.readUInt16BE(off + 2); // VLAN tags
      off += 4;
    }
  } else if (linkType === LINK.SLL) {
    if (d.length < 16) return p;
    etherType = d.readUInt16BE(14);
    off = 16;
  } else if (linkType === LINK.SLL2) {
    if (d.length < 20) return p;
    etherType = d.readUInt16BE(0);
    off = 20;
  } else if (linkType === LINK.RAW) {
    if (d.length < 1) return p;
    etherType = d[0]! >> 4 === 6 ? 0x86dd : 0x0800;
    off = 0;
  } else return p;
  if (etherType === 0x0800) ipv4(d, off, p);
  else if (etherType === 0x86dd) ipv6(d, off, p);
  return p;
}

function ipv4(d: Buffer, off: number, p: Packet) {
  if (d.length < off + 20) return;
  const ihl = (d[off]! & 0x0f) * 4;
  const flagsFrag = d.readUInt16BE(off + 6);
  const more = (flagsFrag & 0x2000) !== 0;
  const fragOffset = flagsFrag & 0x1fff;
  const protocol = d[off + 9]!;
  p.ip = {
    version: 4,
    src: `${d[off + 12]}.${d[off + 13]}.${d[off + 14]}.${d[off + 15]}`,
    dst: `${d[off + 16]}.${d[off + 17]}.${d[off + 18]}.${d[off + 19]}`,
    protocol,
    totalLength: d.readUInt16BE(off + 2),
    fragment: more || fragOffset > 0,
    laterFragment: fragOffset > 0,
  };
  if (fragOffset === 0) l4(d, off + ihl, protocol, p);
}

function ipv6Address(d: Buffer, o: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(d.readUInt16BE(o + i).toString(16));
  // Compress the longest run of zero groups.
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best[1]! && j - i > 1) best = [i, j - i];
    i = j;
  }
  if (best[0]! < 0) return groups.join(':');
  return `${groups.slice(0, best[0]).join(':')}::${groups.slice(best[0]! + best[1]!).join(':')}`;
}

function ipv6(d: Buffer, off: number, p: Packet) {
  if (d.length < off + 40) return;
  let next = d[off + 6]!;
  let o = off + 40;
  let fragment = false;
  let laterFragment = false;
  // Walk extension headers: hop-by-hop, routing, destination options, fragment.
  for (let guard = 0; guard < 8 && d.length >= o + 8; guard++) {
    if (next === 44) {
      const fo = d.readUInt16BE(o + 2);
      fragment = true;
      laterFragment = fo >> 3 > 0;
      next = d[o]!;
      o += 8;
    } else if (next === 0 || next === 43 || next === 60) {
      const len = (d[o + 1]! + 1) * 8;
      next = d[o]!;
      o += len;
    } else break;
  }
  p.ip = {
    version: 6,
    src: ipv6Address(d, off + 8),
    dst: ipv6Address(d, off + 24),
    protocol: next,
    totalLength: d.readUInt16BE(off + 4) + 40,
    fragment,
    laterFragment,
  };
  if (!laterFragment) l4(d, o, next, p);
}

function l4(d: Buffer, o: number, protocol: number, p: Packet) {
  if (protocol === 6 && d.length >= o + 14) p.tcp = { srcPort: d.readUInt16BE(o), dstPort: d.readUInt16BE(o + 2), flags: d[o + 13]! & 0x3f };
  else if (protocol === 17 && d.length >= o + 8) p.udp = { srcPort: d.readUInt16BE(o), dstPort: d.readUInt16BE(o + 2), payload: d.subarray(o + 8) };
  else if ((protocol === 1 || protocol === 58) && d.length >= o + 2) p.icmp = { type: d[o]!, code: d[o + 1]! };
}
