// Reads a classic pcap stream (tcpdump -w -) as it arrives, chunk by chunk: the global
// header once, then each record whole, however the pipe cut it. Records are handed over
// undecoded (decoding is domain/pcap.ts's, done only when a sample is classified), so the
// cost per packet is a 16-byte header read.
import { PcapFormatError, readPcapHeader } from '../domain/pcap.js';

export interface PcapRecord {
  /** Capture time, ms since the epoch. */
  tsMs: number;
  /** The record as the file holds it: its 16-byte header, then the captured bytes. Valid only during the callback. */
  bytes: Buffer;
}

export class PcapStreamReader {
  /** The 24-byte global header, once read: a file of the kept records starts with it. */
  header: Buffer | null = null;
  private le = true;
  private nanos = false;
  private pending: Buffer | null = null;

  /** `maxRecord`: a record longer than this (header included) means a corrupt stream: PcapFormatError. */
  constructor(
    private readonly onRecord: (r: PcapRecord) => void,
    private readonly maxRecord = 262_144 + 16,
  ) {}

  push(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    if (!this.header) {
      if (buf.length < 24) {
        this.pending = Buffer.from(buf);
        return;
      }
      const h = readPcapHeader(buf);
      this.le = h.le;
      this.nanos = h.nanos;
      this.header = Buffer.from(buf.subarray(0, 24));
      off = 24;
    }
    const le = this.le;
    while (off + 16 <= buf.length) {
      const incl = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      const size = 16 + incl;
      if (size > this.maxRecord) throw new PcapFormatError(`a record of ${incl} bytes: not a pcap stream this reads`);
      if (off + size > buf.length) break;
      const sec = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
      const frac = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      this.onRecord({ tsMs: sec * 1000 + frac / (this.nanos ? 1e6 : 1e3), bytes: buf.subarray(off, off + size) });
      off += size;
    }
    // The rest waits for the next chunk (a copy: the chunk's memory is not kept alive).
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }
}
