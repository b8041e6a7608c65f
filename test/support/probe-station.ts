// A node process in a network namespace that answers and sends probes on request, so a
// test sends many probes at once and waits for them together instead of starting a process
// per packet: echo servers (TCP and UDP, each echoing what it gets), probes (a TCP
// connection that echoes a tag back, a UDP datagram echoed back, a ping), and held TCP
// connections opened now and used later (to prove an established connection survives), and
// servers that speak first on the connections they hold.
// A probe is `answered` only when its own tag came back: it crossed the firewall both ways.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type Probe =
  | { proto: 'tcp'; to: string; port: number; from?: string }
  | { proto: 'udp'; to: string; port: number; from?: string; srcPort?: number }
  | { proto: 'ping'; to: string; from?: string };
/** `refused`: a TCP reset came back (the SYN got through, nothing listened). */
export type Outcome = 'answered' | 'silent' | 'refused' | string;

export interface HeldConnection {
  /** Sends a tag over the connection: `answered` when it came back within the wait. */
  echo(waitMs?: number): Promise<Outcome>;
  /** `answered` when `text` has arrived, or arrives within the wait: what the server pushed. */
  heard(text: string, waitMs?: number): Promise<Outcome>;
  close(): Promise<void>;
}

export interface ProbeStation {
  /** Echo servers on these ports, on every address of the namespace. */
  listen(ports: { tcp?: number[]; udp?: number[] }): Promise<void>;
  /** Sends every probe at once; each is `silent` if nothing came back within `waitMs`. */
  probe(probes: Probe[], waitMs?: number): Promise<Outcome[]>;
  /** The echo server on `port` sends `text` on every connection it holds: a server speaking first. */
  push(port: number, text: string): Promise<void>;
  /** A TCP connection opened now, to an echo server. */
  hold(to: string, port: number): Promise<HeldConnection>;
  stop(): void;
}

const SCRIPT = `
const net = require('net'), dgram = require('dgram'), { execFile } = require('child_process');
const held = new Map();
const accepted = new Map();
let tags = 0;
const tag = () => 'bwk-probe-' + process.pid + '-' + tags++;
const out = (id, body) => process.stdout.write(JSON.stringify({ id, ...body }) + '\\n');
const awaitTag = (sock, t, wait, done) => {
  let got = '';
  const end = (o) => { clearTimeout(timer); sock.off('data', onData); done(o); };
  const timer = setTimeout(() => end('silent'), wait);
  const onData = (d) => { got += d; if (got.includes(t)) end('answered'); };
  sock.on('data', onData);
  return timer;
};
const probes = {
  tcp: (p, wait) => new Promise((res) => {
    const t = tag();
    const s = net.connect({ host: p.to, port: p.port, localAddress: p.from });
    let timer;
    const done = (o) => { clearTimeout(timer); s.destroy(); res(o); };
    timer = setTimeout(() => done('silent'), wait);
    s.on('connect', () => { clearTimeout(timer); timer = awaitTag(s, t, wait, done); s.write(t); });
    s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code));
  }),
  udp: (p, wait) => new Promise((res) => {
    const t = tag();
    const s = dgram.createSocket('udp4');
    let timer;
    const done = (o) => { clearTimeout(timer); try { s.close(); } catch {} res(o); };
    s.on('message', (m) => { if (String(m) === t) done('answered'); });
    s.on('error', (e) => done(e.code));
    s.bind({ address: p.from, port: p.srcPort ?? 0 }, () => { timer = setTimeout(() => done('silent'), wait); s.send(t, p.port, p.to); });
  }),
  ping: (p, wait) => new Promise((res) =>
    execFile('ping', ['-n', '-c', '1', '-W', String(Math.ceil(wait / 1000)), ...(p.from ? ['-I', p.from] : []), p.to], (e) => res(e ? 'silent' : 'answered'))),
};
const ops = {
  listen: async ({ tcp = [], udp = [] }) => {
    await Promise.all([
      ...tcp.map((port) => new Promise((ok, fail) => {
        accepted.set(port, new Set());
        net.createServer((c) => { accepted.get(port).add(c); c.on('close', () => accepted.get(port).delete(c)); c.on('error', () => {}); c.pipe(c); }).on('error', fail).listen(port, '0.0.0.0', ok);
      })),
      ...udp.map((port) => new Promise((ok, fail) => { const s = dgram.createSocket('udp4'); s.on('message', (m, r) => s.send(m, r.port, r.address)); s.on('error', fail); s.bind(port, '0.0.0.0', ok); })),
    ]);
    return {};
  },
  probe: async ({ probes: list, wait }) => ({ outcomes: await Promise.all(list.map((p) => probes[p.proto](p, wait))) }),
  hold: ({ to, port }) => new Promise((ok, fail) => {
    const s = net.connect({ host: to, port });
    s.once('error', fail);
    s.on('connect', () => { const key = held.size + 1; held.set(key, s); s.got = ''; s.on('data', (d) => (s.got += d)); s.on('error', () => {}); ok({ key }); });
  }),
  echo: ({ key, wait }) => new Promise((res) => { const s = held.get(key); const t = tag(); awaitTag(s, t, wait, (outcome) => res({ outcome })); s.write(t); }),
  push: ({ port, text }) => { for (const c of accepted.get(port) ?? []) c.write(text); return {}; },
  heard: ({ key, text, wait }) => new Promise((res) => {
    const s = held.get(key);
    if (s.got.includes(text)) return res({ outcome: 'answered' });
    awaitTag(s, text, wait, (outcome) => res({ outcome: s.got.includes(text) ? 'answered' : outcome }));
  }),
  close: ({ key }) => { held.get(key)?.destroy(); held.delete(key); return {}; },
};
require('readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const { id, op, ...args } = JSON.parse(line);
  try { out(id, await ops[op](args)); } catch (e) { out(id, { error: String(e && e.message || e) }); }
});
out(0, { up: true });
`;

/** Starts a station in the namespace `ns`. */
export async function startProbeStation(ns: string): Promise<ProbeStation> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, { ok: (v: Record<string, unknown>) => void; fail: (e: Error) => void }>();
  let up!: () => void;
  const started = new Promise<void>((r) => (up = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const { id, error, ...body } = JSON.parse(line) as { id: number; error?: string } & Record<string, unknown>;
    if (id === 0) return up();
    const w = waiting.get(id);
    waiting.delete(id);
    if (error) w?.fail(new Error(`probe station in ${ns}: ${error}`));
    else w?.ok(body);
  });
  child.on('exit', (code) => {
    for (const w of waiting.values()) w.fail(new Error(`probe station in ${ns} exited (${code})`));
    waiting.clear();
  });
  let next = 1;
  const ask = (op: string, args: Record<string, unknown>) =>
    new Promise<Record<string, unknown>>((ok, fail) => {
      const id = next++;
      waiting.set(id, { ok, fail });
      child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  await started;
  return {
    async listen(ports) {
      await ask('listen', ports);
    },
    async probe(probes, waitMs = 1000) {
      return (await ask('probe', { probes, wait: waitMs })).outcomes as Outcome[];
    },
    async push(port, text) {
      await ask('push', { port, text });
    },
    async hold(to, port) {
      const { key } = await ask('hold', { to, port });
      return {
        echo: async (waitMs = 1000) => (await ask('echo', { key, wait: waitMs })).outcome as Outcome,
        heard: async (text, waitMs = 1000) => (await ask('heard', { key, text, wait: waitMs })).outcome as Outcome,
        close: async () => void (await ask('close', { key })),
      };
    },
    stop() {
      child.kill();
    },
  };
}
