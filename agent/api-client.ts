// The agent's side of the agent protocol (domain/agent-protocol.ts): every message goes
// through an outbox of two ordered lanes, each sent by a loop of its own: incident reports
// (an incident's open, updates and resolve arrive in order) and telemetry (heartbeats,
// metrics). A report goes out the moment it is queued, never behind a heartbeat in flight
// or a metrics batch waiting out a Retry-After. Nothing is lost while the API is
// unreachable, up to a bound shared by both lanes. Requests go through node:http(s) with
// keep-alive agents rather than fetch: fetch's HTTP client (undici) is loaded on first use
// and costs ~12 MiB of the agent's memory.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type {
  MAX_METRIC_SAMPLES as PROTOCOL_MAX_METRIC_SAMPLES,
  AgentConfig,
  Heartbeat,
  MetricSample,
  NodeCommandResult,
  OpenIncident,
  PcapUpload,
  PolledCommand,
  ResolveIncident,
  StartPcapUpload,
  UpdateIncident,
} from '../domain/agent-protocol.js';

/**
 * The protocol's cap on samples per metrics batch. Its value is typed from the protocol's
 * own constant (tsc fails here when that one changes), not imported: importing a value
 * from domain/agent-protocol.ts would bundle zod into the agent.
 */
const MAX_METRIC_SAMPLES: typeof PROTOCOL_MAX_METRIC_SAMPLES = 600;

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

/** One ordered queue, sent one message at a time by its own loop. */
interface Lane {
  queue: Message[];
  draining: Promise<void> | null;
}

const lane = (): Lane => ({ queue: [], draining: null });

export class AgentApiClient {
  private readonly incidents = lane();
  private readonly telemetry = lane();
  private stopped = false;
  /** Backoff waits in progress: stop() ends them. */
  private readonly sleepers = new Set<() => void>();
  private readonly abort = new AbortController();
  // Kept-alive connections (the idle timeout follows the server's Keep-Alive hint).
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true });
  /** Messages dropped because the outbox was full. */
  dropped = 0;
  /** Messages the API refused as invalid (4xx other than 408/429): never retried. */
  rejected = 0;
  /** Messages set aside after maxServerErrors answers of 500/501. */
  deadLettered = 0;

  constructor(private readonly opts: ApiClientOptions) {}

  get queued(): number {
    return this.incidents.queue.length + this.telemetry.queue.length;
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
    const i = this.telemetry.queue.findIndex((m) => m.kind === 'heartbeat');
    if (i >= 0) this.telemetry.queue.splice(i, 1);
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
    while (this.queued > 0 && !this.stopped) await Promise.all([this.incidents, this.telemetry].map((l) => (l.queue.length > 0 ? this.start(l) : undefined)));
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    for (const wake of this.sleepers) wake();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private enqueue(m: Message): void {
    const max = this.opts.maxQueued ?? 10_000;
    while (this.queued >= max) {
      // Incident messages carry state the control plane needs; old telemetry is expendable.
      (this.telemetry.queue.length > 0 ? this.telemetry : this.incidents).queue.shift();
      this.dropped++;
    }
    const l = m.kind === 'incident' ? this.incidents : this.telemetry;
    l.queue.push(m);
    void this.start(l);
  }

  /** The lane's loop, started when it is not running. */
  private start(l: Lane): Promise<void> {
    return (l.draining ??= this.drain(l).finally(() => (l.draining = null)));
  }

  private async drain(l: Lane): Promise<void> {
    let attempt = 0;
    let serverErrors = 0;
    while (l.queue.length > 0 && !this.stopped) {
      const m = l.queue[0]!;
      const [method, path] = ['POST', m.kind === 'heartbeat' ? '/api/v1/agent/heartbeat' : m.kind === 'metrics' ? '/api/v1/agent/metrics' : m.path] as const;
      const next = () => {
        // This message, wherever it is now (the outbox may have dropped it, or a newer heartbeat replaced it, while it was in flight).
        const i = l.queue.indexOf(m);
        if (i >= 0) l.queue.splice(i, 1);
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
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async send(method: string, path: string, body?: unknown, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<unknown> {
    const binary = Buffer.isBuffer(body);
    const payload = body === undefined ? undefined : binary ? body : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { authorization: `Bearer ${this.opts.nodeKey}` };
    if (payload) Object.assign(headers, { 'content-type': binary ? 'application/octet-stream' : 'application/json', 'content-length': payload.length });
    const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.abort.signal]);
    const url = new URL(path, this.opts.baseUrl);
    let res: { status: number; headers: IncomingMessage['headers']; text: string };
    try {
      res = await this.request(url, method, headers, payload, signal);
    } catch (err) {
      // A kept-alive connection the server closed just as it was reused: at once on a new
      // one (node's advice), not after a backoff; whether the server saw it is as unknown
      // as after any other reset, and every message here may be sent twice.
      if (!(err instanceof StaleConnection)) throw err;
      res = await this.request(url, method, headers, payload, signal);
    }
    const text = res.text;
    let parsed: { ok?: boolean; error?: { code?: string; message?: string } } = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      // A proxy's error page: treated by status below.
    }
    if (res.status >= 200 && res.status < 300 && parsed.ok) return parsed;
    const message = `${method} ${path}: ${res.status} ${parsed.error?.code ?? ''} ${parsed.error?.message ?? text.slice(0, 200)}`.trim();
    const retryAfter = Number(res.headers['retry-after']);
    if ((res.status === 429 || res.status === 503) && Number.isFinite(retryAfter) && retryAfter > 0) throw new RetryAfter(message, res.status, retryAfter * 1000);
    throw new ApiClientError(message, res.status, parsed.error?.code ?? null);
  }

  /** One request and its whole answer. */
  private request(url: URL, method: string, headers: Record<string, string | number>, payload: Buffer | undefined, signal: AbortSignal) {
    return new Promise<{ status: number; headers: IncomingMessage['headers']; text: string }>((resolve, reject) => {
      const https = url.protocol === 'https:';
      const req = (https ? httpsRequest : httpRequest)(url, { method, headers, signal, agent: https ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('close', () => {
          if (res.complete) resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
          else reject(new Error(`${method} ${url.pathname}: the answer was cut short`));
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(req.reusedSocket && !signal.aborted && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? new StaleConnection(err.message) : err));
      req.end(payload);
    });
  }
}

/** The request failed on a reused keep-alive connection before any answer. */
class StaleConnection extends Error {}

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
