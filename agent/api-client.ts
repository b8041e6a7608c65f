// The agent's side of the agent protocol (domain/agent-protocol.ts): every message goes
// through one ordered outbox, so an incident's open, updates and resolve arrive in order,
// and nothing is lost while the API is unreachable, up to a bound.
import {
  MAX_METRIC_SAMPLES,
  type AgentConfig,
  type Heartbeat,
  type MetricSample,
  type NodeCommandResult,
  type OpenIncident,
  type PcapUpload,
  type PolledCommand,
  type ResolveIncident,
  type StartPcapUpload,
  type UpdateIncident,
} from '../domain/agent-protocol.js';

type Message =
  | { kind: 'heartbeat'; body: Heartbeat }
  | { kind: 'metrics'; body: { samples: MetricSample[] } }
  | { kind: 'incident'; path: string; body: OpenIncident | UpdateIncident | ResolveIncident };

export class ApiClientError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface ApiClientOptions {
  baseUrl: string;
  nodeKey: string;
  /** Messages kept while the API is unreachable; beyond it the oldest metrics go first. */
  maxQueued?: number;
  requestTimeoutMs?: number;
  /** First retry delay; doubles up to maxBackoffMs, with jitter. */
  backoffMs?: number;
  maxBackoffMs?: number;
  onError?: (err: Error, attempt: number) => void;
  /**
   * Times the API may answer one message with an error of its own (500, 501) before the
   * message is set aside: one message the server cannot take must not hold up the ones
   * behind it (an incident open behind a bad heartbeat). An outage (no answer, 502-504,
   * 429) is waited out instead: those messages are still wanted.
   */
  maxServerErrors?: number;
  /** Called with each message set aside (main.ts appends it to a local file, and logs it). */
  onDeadLetter?: (message: { method: string; path: string; body: unknown }, err: Error) => void;
}

export class AgentApiClient {
  private readonly queue: Message[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly abort = new AbortController();
  /** Messages dropped because the outbox was full. */
  dropped = 0;
  /** Messages the API refused as invalid (4xx other than 408/429): never retried. */
  rejected = 0;
  /** Messages set aside after maxServerErrors answers of 500/501. */
  deadLettered = 0;

  constructor(private readonly opts: ApiClientOptions) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Reads the node's config now (no queue: the caller retries on its own schedule). */
  async config(): Promise<AgentConfig> {
    const body = (await this.send('GET', '/api/v1/agent/config')) as { config: AgentConfig };
    return body.config;
  }

  /** Long-polls for commands (no queue: the caller loops); `running`: the ids still being run. */
  async pollCommands(waitSeconds: number, running: readonly number[] = []): Promise<PolledCommand[]> {
    const path = `/api/v1/agent/commands?wait=${waitSeconds}&running=${running.slice(0, 100).join(',')}`;
    const body = (await this.send('GET', path, undefined, (waitSeconds + 10) * 1000)) as { commands: PolledCommand[] };
    return body.commands;
  }

  /** Reports a command's outcome, retrying until the API has it (it completes a waiting activity). */
  async postCommandResult(id: number, result: NodeCommandResult): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.send('POST', `/api/v1/agent/commands/${id}/result`, result);
        return;
      } catch (err) {
        // Already answered or abandoned (409), or gone (404): nothing left to tell.
        if (err instanceof ApiClientError && isPermanent(err.status)) return;
        await this.sleep(Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 250) * 2 ** attempt));
      }
    }
  }

  /** Announces a capture of incident `ref` (idempotent per file): where its upload stands. */
  async startPcapUpload(ref: string, body: StartPcapUpload): Promise<PcapUpload> {
    return ((await this.send('POST', `/api/v1/agent/incidents/${encodeURIComponent(ref)}/pcaps`, body)) as { pcap: PcapUpload }).pcap;
  }

  /** Sends one chunk of a capture at `offset` (which must be where the upload stands). */
  async putPcapChunk(id: number, offset: number, data: Buffer): Promise<PcapUpload> {
    return ((await this.send('PUT', `/api/v1/agent/pcaps/${id}/data?offset=${offset}`, data, 60_000)) as { pcap: PcapUpload }).pcap;
  }

  heartbeat(body: Heartbeat): void {
    // Only the newest heartbeat matters.
    const i = this.queue.findIndex((m) => m.kind === 'heartbeat');
    if (i >= 0) this.queue.splice(i, 1);
    this.enqueue({ kind: 'heartbeat', body });
  }

  metrics(samples: MetricSample[]): void {
    for (let i = 0; i < samples.length; i += MAX_METRIC_SAMPLES) this.enqueue({ kind: 'metrics', body: { samples: samples.slice(i, i + MAX_METRIC_SAMPLES) } });
  }

  openIncident(body: OpenIncident): void {
    this.enqueue({ kind: 'incident', path: '/api/v1/agent/incidents', body });
  }

  updateIncident(ref: string, body: UpdateIncident): void {
    this.enqueue({ kind: 'incident', path: `/api/v1/agent/incidents/${encodeURIComponent(ref)}/update`, body });
  }

  resolveIncident(ref: string, body: ResolveIncident = {}): void {
    this.enqueue({ kind: 'incident', path: `/api/v1/agent/incidents/${encodeURIComponent(ref)}/resolve`, body });
  }

  /** Resolves once everything queued so far was delivered (or refused). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) await (this.draining ?? this.drain());
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
  }

  private enqueue(m: Message): void {
    const max = this.opts.maxQueued ?? 10_000;
    while (this.queue.length >= max) {
      // Incident messages carry state the control plane needs; old metrics are expendable.
      const oldMetrics = this.queue.findIndex((q) => q.kind !== 'incident');
      this.queue.splice(oldMetrics >= 0 ? oldMetrics : 0, 1);
      this.dropped++;
    }
    this.queue.push(m);
    this.draining ??= this.drain().finally(() => (this.draining = null));
  }

  private async drain(): Promise<void> {
    let attempt = 0;
    let serverErrors = 0;
    while (this.queue.length > 0 && !this.stopped) {
      const m = this.queue[0]!;
      const [method, path] = ['POST', m.kind === 'heartbeat' ? '/api/v1/agent/heartbeat' : m.kind === 'metrics' ? '/api/v1/agent/metrics' : m.path] as const;
      const next = () => {
        this.queue.shift();
        attempt = 0;
        serverErrors = 0;
      };
      try {
        await this.send(method, path, m.body);
        next();
      } catch (err) {
        const e = err as ApiClientError | Error;
        this.opts.onError?.(e, attempt);
        if (e instanceof ApiClientError && isPermanent(e.status)) {
          next();
          this.rejected++;
          continue;
        }
        if (e instanceof ApiClientError && (e.status === 500 || e.status === 501) && ++serverErrors >= (this.opts.maxServerErrors ?? 5)) {
          next();
          this.deadLettered++;
          this.opts.onDeadLetter?.({ method, path, body: m.body }, e);
          continue;
        }
        const retryAfterMs = e instanceof RetryAfter ? e.ms : 0;
        const base = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 250) * 2 ** attempt);
        attempt++;
        await this.sleep(Math.max(retryAfterMs, base / 2 + Math.random() * (base / 2)));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async send(method: string, path: string, body?: unknown, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<unknown> {
    const binary = Buffer.isBuffer(body);
    const res = await fetch(new URL(path, this.opts.baseUrl), {
      method,
      headers: { authorization: `Bearer ${this.opts.nodeKey}`, ...(body !== undefined ? { 'content-type': binary ? 'application/octet-stream' : 'application/json' } : {}) },
      body: binary ? new Uint8Array(body) : body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.abort.signal]),
    });
    const text = await res.text();
    let parsed: { ok?: boolean; error?: { code?: string; message?: string } } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // A proxy's error page: treated by status below.
    }
    if (res.ok && parsed.ok) return parsed;
    const message = `${method} ${path}: ${res.status} ${parsed.error?.code ?? ''} ${parsed.error?.message ?? text.slice(0, 200)}`.trim();
    const retryAfter = Number(res.headers.get('retry-after'));
    if ((res.status === 429 || res.status === 503) && Number.isFinite(retryAfter) && retryAfter > 0) throw new RetryAfter(message, res.status, retryAfter * 1000);
    throw new ApiClientError(message, res.status, parsed.error?.code ?? null);
  }
}

/** A 429/503 that said when to come back. */
export class RetryAfter extends ApiClientError {
  constructor(
    message: string,
    status: number,
    readonly ms: number,
  ) {
    super(message, status, 'rate_limited');
  }
}

/** The request itself is wrong (bad input, bad key): retrying cannot help. */
export function isPermanent(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}
