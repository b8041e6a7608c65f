// Uploads incident captures in chunks, resumably. Each capture is spooled to disk first
// (<dir>/<ref>.pcap with a .json beside it), so neither an API outage nor an agent restart
// loses it: on start the spool is picked up again, and the server's `received_bytes`
// says where each upload goes on. The spool is bounded; the oldest captures go first.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClientError, isPermanent, RetryAfter, type AgentApiClient } from './api-client.js';

export interface PcapUploaderOptions {
  /** Bytes per request (the API takes at most 1 MiB). */
  chunkBytes?: number;
  /** Spool size past which the oldest captures are dropped. */
  maxSpoolBytes?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  log(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
}

const PCAP_HEADER_BYTES = 24;

interface Meta {
  ref: string;
  sha256: string;
  size: number;
  capturedAt: string;
}

type Api = Pick<AgentApiClient, 'startPcapUpload' | 'putPcapChunk' | 'flush'>;

export class PcapUploader {
  private running: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  /** Captures uploaded completely since start. */
  uploaded = 0;

  constructor(
    private readonly dir: string,
    private readonly api: Api,
    private readonly opts: PcapUploaderOptions,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Spools the capture of incident `ref` and uploads it in the background; false (nothing
   * spooled) when it holds no packet, only the file header.
   */
  add(ref: string, pcap: Buffer, capturedAt: Date): boolean {
    if (pcap.length <= PCAP_HEADER_BYTES) return false;
    const sha256 = createHash('sha256').update(pcap).digest('hex');
    // One incident can have several captures (its own, commanded ones): named by content too.
    const name = `${ref.replace(/[^A-Za-z0-9_.-]/g, '_')}-${sha256.slice(0, 16)}`;
    const meta: Meta = { ref, sha256, size: pcap.length, capturedAt: capturedAt.toISOString() };
    // The data first, the meta last: a spool entry without meta is an unfinished write.
    writeFileSync(join(this.dir, `${name}.pcap.tmp`), pcap);
    renameSync(join(this.dir, `${name}.pcap.tmp`), join(this.dir, `${name}.pcap`));
    writeFileSync(join(this.dir, `${name}.json.tmp`), JSON.stringify(meta));
    renameSync(join(this.dir, `${name}.json.tmp`), join(this.dir, `${name}.json`));
    this.trim();
    this.kick();
    return true;
  }

  /** Uploads whatever the spool holds (call once at start, to resume after a restart). */
  kick(): void {
    this.wake?.();
    this.running ??= this.run().finally(() => (this.running = null));
  }

  /** Captures waiting in the spool. */
  get pending(): number {
    return this.entries().length;
  }

  /** Resolves when the spool is empty (or the uploader stopped). */
  async drained(): Promise<void> {
    while (!this.stopped && this.pending > 0) {
      this.kick();
      await this.running;
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private entries(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .sort((a, b) => statSync(join(this.dir, `${a}.json`)).mtimeMs - statSync(join(this.dir, `${b}.json`)).mtimeMs);
  }

  private remove(name: string): void {
    rmSync(join(this.dir, `${name}.json`), { force: true });
    rmSync(join(this.dir, `${name}.pcap`), { force: true });
  }

  private trim(): void {
    const max = this.opts.maxSpoolBytes ?? 256 * 1024 * 1024;
    const names = this.entries();
    const size = (name: string) => statSync(join(this.dir, `${name}.pcap`), { throwIfNoEntry: false })?.size ?? 0;
    let total = names.reduce((n, name) => n + size(name), 0);
    for (const name of names) {
      if (total <= max) break;
      total -= size(name);
      this.opts.log('warn', 'capture spool full: dropping the oldest capture', { capture: name });
      this.remove(name);
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    for (;;) {
      const name = this.entries()[0];
      if (!name || this.stopped) return;
      try {
        await this.upload(name);
        this.remove(name);
        this.uploaded++;
        attempt = 0;
      } catch (err) {
        const e = err as Error;
        if (e instanceof ApiClientError && isPermanent(e.status) && e.status !== 409) {
          this.opts.log('warn', 'capture refused by the API: dropped', { capture: name, error: e.message });
          this.remove(name);
          continue;
        }
        this.opts.log('warn', 'capture upload interrupted; will resume', { capture: name, error: e.message });
        const base = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 500) * 2 ** attempt++);
        const wait = e instanceof RetryAfter ? Math.max(e.ms, base) : base;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  private async upload(name: string): Promise<void> {
    const meta = JSON.parse(readFileSync(join(this.dir, `${name}.json`), 'utf8')) as Meta;
    const data = readFileSync(join(this.dir, `${name}.pcap`));
    // The incident's open may still be queued in the outbox: it must reach the API first.
    await this.api.flush();
    let at = await this.api.startPcapUpload(meta.ref, { size_bytes: meta.size, sha256: meta.sha256, captured_at: meta.capturedAt });
    const chunk = this.opts.chunkBytes ?? 512 * 1024;
    while (at.status !== 'complete' && !this.stopped) {
      at = await this.api.putPcapChunk(at.id, at.received_bytes, data.subarray(at.received_bytes, at.received_bytes + chunk));
    }
    if (at.status === 'complete') this.opts.log('info', 'capture uploaded', { ref: meta.ref, pcap: at.id, bytes: meta.size });
    else throw new Error('stopped');
  }
}
