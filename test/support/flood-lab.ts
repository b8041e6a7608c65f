// A victim host and an attacker in network namespaces: the attacker floods the victim's
// public address (203.0.113.x, documentation space that exists only here) across a veth
// pair; the victim reaches the control plane through a second veth to the host, where a
// proxy on the host side forwards to the API on loopback.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNsPair, type NsPair } from './netns.js';
import { selfSignedCert } from './tls.js';

export interface FloodLab {
  pair: NsPair;
  victimIp: string;
  /** The API as the victim namespace reaches it. */
  apiUrl: string;
  /** Called after each request the victim's agent made got its answer (benchmarks time them). */
  onAnswered: ((method: string, path: string, status: number, atMs: number) => void) | null;
  /** Called as each request of the victim's agent arrives, before it is forwarded. */
  onAsked: ((method: string, path: string, atMs: number) => void) | null;
  /** Runs the agent in the victim namespace (from its sources, or the bundle `opts.bundle`). */
  startAgent(args: string[], opts?: AgentEntry): ChildProcess;
  /** A bounded flood: hping3 with a packet count and an interval, killed after maxSeconds at the latest. */
  flood(kind: FloodKind, opts?: { packets?: number; intervalUs?: number; maxSeconds?: number }): Promise<void>;
  /**
   * A flash crowd: an HTTP server in the victim namespace serving a large file on `port`
   * (80), and `clients` (40) concurrent clients in the attacker namespace, each from an
   * address of its own (198.18.x.y), downloading it again and again for `seconds` (4).
   * Resolves with the downloads completed and the bytes received.
   */
  flashCrowd(opts?: { clients?: number; seconds?: number; fileBytes?: number; port?: number }): Promise<{ downloads: number; bytes: number }>;
  destroy(): Promise<void>;
}

export type FloodKind = 'udp' | 'syn' | 'ack' | 'icmp' | 'dns_amplification';

const HPING: Record<FloodKind, string[]> = {
  udp: ['--udp', '-p', '9999', '-d', '200', '--rand-source'],
  syn: ['-S', '-p', '80', '--rand-source'],
  // Bare ACKs to the web port, on connections that never were.
  ack: ['-A', '-p', '80', '-d', '0', '--rand-source'],
  icmp: ['--icmp', '-d', '64', '--rand-source'],
  // Reflected DNS replies: source port 53, big payloads that are DNS responses (QR set), towards random high ports.
  dns_amplification: ['--udp', '-s', '53', '-k', '-p', '33000', '-d', '1200', '-E', dnsReplyFile(), '--rand-source'],
};

/** A DNS response (id, QR|RD|RA, 1 question, 10 answers), padded to 1200 bytes: what hping3 sends as the reflected replies' payload. */
function dnsReplyFile(): string {
  const b = Buffer.alloc(1200);
  b.writeUInt16BE(0x1234, 0);
  b.writeUInt16BE(0x8180, 2);
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(10, 6);
  const file = join(mkdtempSync(join(tmpdir(), 'bwk-dns-')), 'reply.bin');
  writeFileSync(file, b);
  return file;
}

export async function startFloodLab(apiBaseUrl: string, victimIp: string): Promise<FloodLab> {
  const pair = createNsPair('bwk-fl');
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const n = (process.pid + 7) % 250;
  const hostSide = `bwh${process.pid % 100000}`;
  ip('-n', pair.b.ns, 'addr', 'add', `${victimIp}/32`, 'dev', pair.b.iface);
  ip('-n', pair.a.ns, 'route', 'add', `${victimIp}/32`, 'via', pair.b.ip);
  // Host <-> victim: the victim's way to the control plane.
  ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'to-host', 'netns', pair.b.ns);
  ip('addr', 'add', `10.216.${n}.1/30`, 'dev', hostSide);
  ip('link', 'set', hostSide, 'up');
  ip('-n', pair.b.ns, 'addr', 'add', `10.216.${n}.2/30`, 'dev', 'to-host');
  ip('-n', pair.b.ns, 'link', 'set', 'to-host', 'up');

  const proxy = await startApiProxy(apiBaseUrl, `10.216.${n}.1`, { onAnswered: (...answered) => lab.onAnswered?.(...answered), onAsked: (...asked) => lab.onAsked?.(...asked) });
  const agents: ChildProcess[] = [];
  // The flash crowd's clients: addresses of their own in the attacker namespace, routed back from the victim.
  const crowdNet = `198.18.${n}`;
  ip('-n', pair.b.ns, 'route', 'add', `${crowdNet}.0/24`, 'via', pair.a.ip);

  const lab: FloodLab = {
    onAnswered: null,
    onAsked: null,
    pair,
    victimIp,
    apiUrl: proxy.url,
    startAgent(args, opts) {
      const child = spawnAgent(pair.b.ns, args, opts);
      agents.push(child);
      return child;
    },
    async flood(kind, opts = {}) {
      await hpingFlood(pair.a.ns, kind, victimIp, opts);
    },
    async flashCrowd(opts = {}) {
      const clients = opts.clients ?? 40;
      const port = opts.port ?? 443;
      const fileBytes = opts.fileBytes ?? 16 * 1024 * 1024;
      const seconds = opts.seconds ?? 4;
      for (let i = 1; i <= clients; i++) {
        try {
          ip('-n', pair.a.ns, 'addr', 'add', `${crowdNet}.${i}/32`, 'dev', pair.a.iface);
        } catch {
          // added by an earlier crowd
        }
      }
      // HTTPS, as real downloads are: the victim's certificate, checked by every client.
      const tls = selfSignedCert(victimIp);
      const serverJs = `const b=Buffer.alloc(${fileBytes},120);const s=require('https').createServer(${JSON.stringify(tls)},(q,r)=>{r.writeHead(200,{'content-length':b.length,'content-type':'application/octet-stream'});r.end(b)});s.listen(${port},'0.0.0.0',()=>console.log('up'))`;
      const server = spawn('ip', ['netns', 'exec', pair.b.ns, process.execPath, '-e', serverJs], { stdio: ['ignore', 'pipe', 'inherit'] });
      try {
        await new Promise((r) => server.stdout!.once('data', r));
        const clientJs = `const https=require('https');const ca=${JSON.stringify(tls.cert)};const end=Date.now()+${seconds * 1000};let downloads=0,bytes=0,live=${clients};
for(let i=1;i<=${clients};i++){const agent=new https.Agent({keepAlive:false,ca});const go=()=>{if(Date.now()>=end){if(--live===0)console.log(JSON.stringify({downloads,bytes}));return}
https.get({host:'${victimIp}',port:${port},path:'/big',localAddress:'${crowdNet}.'+i,agent},(r)=>{r.on('data',(d)=>{bytes+=d.length;if(Date.now()>=end)r.destroy()});r.on('end',()=>{downloads++;go()});r.on('close',()=>{if(!r.complete)go()})}).on('error',()=>setTimeout(go,50))};go()}`;
        const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
          const c = spawn('ip', ['netns', 'exec', pair.a.ns, process.execPath, '-e', clientJs], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          c.stdout!.on('data', (d) => (out += d));
          const timer = setTimeout(() => c.kill('SIGKILL'), (seconds + 10) * 1000);
          c.once('exit', () => {
            clearTimeout(timer);
            out ? resolve({ stdout: out }) : reject(new Error('the flash crowd did not finish'));
          });
        });
        return JSON.parse(stdout) as { downloads: number; bytes: number };
      } finally {
        server.kill('SIGKILL');
      }
    },
    async destroy() {
      for (const a of agents) a.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      for (const a of agents) if (a.exitCode === null) a.kill('SIGKILL');
      await proxy.close();
      try {
        ip('link', 'del', hostSide);
      } catch {
        // gone with the namespace
      }
      pair.destroy();
    },
  };
  return lab;
}

export interface FloodOptions {
  /** hping3's packet count (20,000). */
  packets?: number;
  /** Microseconds between packets (100). */
  intervalUs?: number;
  /** Killed after this at the latest (10). */
  maxSeconds?: number;
}

/** A bounded flood from namespace `ns` to `target`: hping3 with a packet count and an interval, killed after maxSeconds at the latest. */
export async function hpingFlood(ns: string, kind: FloodKind, target: string, opts: FloodOptions = {}): Promise<void> {
  const packets = opts.packets ?? 20_000;
  const args = [...HPING[kind], '-c', String(packets), '-i', `u${opts.intervalUs ?? 100}`, '-q', target];
  const child = spawn('ip', ['netns', 'exec', ns, 'hping3', ...args], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), (opts.maxSeconds ?? 10) * 1000);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
}

/** What runs the agent: its sources through tsx (the default), or a bundle scripts/build-agent.mjs made, by plain node. */
export interface AgentEntry {
  bundle?: string;
}

/** The real agent in namespace `ns`, with a state directory of its own; its log at AGENT_LOG_LEVEL (warn). */
export function spawnAgent(ns: string, args: string[], opts: AgentEntry = {}): ChildProcess {
  const stateDir = mkdtempSync(join(tmpdir(), 'bwk-agent-'));
  const entry = opts.bundle ? [opts.bundle] : ['--import', 'tsx', 'agent/main.ts'];
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...entry, '--state-dir', stateDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.AGENT_LOG_LEVEL ?? 'warn' },
  });
  child.stdout!.on('data', (d) => process.env.AGENT_LOG_LEVEL && process.stdout.write(d));
  child.stderr!.on('data', (d) => process.stderr.write(d));
  return child;
}

/**
 * A proxy listening on `host` (the host's end of a namespace's veth) to the API on
 * loopback: how an agent in a namespace reaches the control plane. `onAsked` hears each
 * request as it arrives, `onAnswered` once its answer came. With `abortOnClose`, closing aborts the requests still in
 * flight (an agent's command long poll would otherwise hold the API's shutdown for up to
 * its wait, 25 s).
 */
export async function startApiProxy(
  apiBaseUrl: string,
  host: string,
  opts: { onAnswered?: (method: string, path: string, status: number, atMs: number) => void; onAsked?: (method: string, path: string, atMs: number) => void; abortOnClose?: boolean } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(apiBaseUrl);
  const inFlight = new Set<AbortController>();
  const proxy: Server = createServer(async (req, res) => {
    opts.onAsked?.(req.method!, req.url!, performance.now());
    const abort = new AbortController();
    inFlight.add(abort);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const r = await fetch(new URL(req.url!, upstream), {
        method: req.method,
        headers: { authorization: req.headers.authorization ?? '', 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        signal: abort.signal,
      });
      opts.onAnswered?.(req.method!, req.url!, r.status, performance.now());
      res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers.get('retry-after') ? { 'retry-after': r.headers.get('retry-after')! } : {}) });
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    } finally {
      inFlight.delete(abort);
    }
  });
  await new Promise<void>((r) => proxy.listen(0, host, r));
  const port = (proxy.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    close: () => {
      if (opts.abortOnClose) {
        for (const a of inFlight) a.abort();
        proxy.closeAllConnections();
      }
      return new Promise<void>((r) => proxy.close(() => r()));
    },
  };
}
