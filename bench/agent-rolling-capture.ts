// Benchmark: what the agent's rolling capture costs under a flood. A veth pair in network
// namespaces; hping3 floods the victim side at each rate for a few seconds while a
// RollingCapture (the agent's, run here in-process, tcpdump in the victim namespace) keeps
// the last 500 ms. Prints per rate: packets delivered, CPU of the agent's process and of
// tcpdump (share of one core), the ring's size, and the time to decode and classify it. As root:
//   npx tsx bench/agent-rolling-capture.ts [--seconds 4 --rates 10000,50000,flood --packet-buffered]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RollingCapture } from '../agent/rolling-capture.js';
import { classify } from '../domain/classify.js';
import { createNsPair } from '../test/support/netns.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    rates: { type: 'string', default: '10000,50000,flood' },
    'packet-buffered': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const TICK = 100; // clock ticks a second (/proc/<pid>/stat)

/** utime + stime of a process, seconds. */
function cpuOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}
const agentCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const rxPackets = (ns: string, dev: string) => Number(execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/statistics/rx_packets`], { encoding: 'utf8' }));

async function main() {
  if (process.getuid?.() !== 0) throw new Error('network namespaces need root');
  const pair = createNsPair('bwk-rcb');
  console.log(`rolling capture under a flood: ${SECONDS} s per rate, tcpdump ${values['packet-buffered'] ? '-U (a write per packet)' : 'block-buffered'}`);
  console.log('rate          pps in    agent CPU  tcpdump CPU  seen/s    kept   ring  ring KiB  classify');
  try {
    for (const rate of values.rates.split(',')) {
      const ring = new RollingCapture(pair.b.iface, { command: [...pair.exec(pair.b.ns), 'tcpdump'], packetBuffered: values['packet-buffered'], lingerMs: 60_000 });
      ring.arm(`host ${pair.b.ip}`);
      if (!(await ring.whenListening())) throw new Error('tcpdump did not start');
      const pid = ring.stats().pid!;
      // UDP 64-byte payloads from random sources (one core of hping3; "flood": as fast as it goes).
      const pace = rate === 'flood' ? ['--flood'] : ['-i', `u${Math.round(1e6 / Number(rate))}`];
      const rx0 = rxPackets(pair.b.ns, pair.b.iface);
      const [a0, t0, w0] = [agentCpu(), cpuOf(pid), performance.now()];
      const hping = spawn('ip', ['netns', 'exec', pair.a.ns, 'hping3', '--udp', '-p', '9999', '-d', '64', '--rand-source', '-q', ...pace, pair.b.ip], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, SECONDS * 1000));
      const [a1, t1, w1] = [agentCpu(), cpuOf(pid), performance.now()];
      const stats = ring.stats();
      hping.kill('SIGINT');
      await new Promise((r) => hping.once('exit', r));
      const rx = rxPackets(pair.b.ns, pair.b.iface) - rx0;
      const wall = (w1 - w0) / 1000;
      const c0 = performance.now();
      const packets = ring.packets();
      const c = classify(packets, { victim: pair.b.ip });
      const classifyMs = performance.now() - c0;
      ring.stop();
      const pct = (x: number) => `${((x / wall) * 100).toFixed(0)} %`.padStart(9);
      console.log(
        `${rate.padEnd(10)} ${String(Math.round(rx / wall)).padStart(9)} ${pct(a1 - a0)}   ${pct(t1 - t0)}    ${String(Math.round(stats.seen / wall)).padStart(7)} ${String(stats.kept).padStart(7)} ${String(stats.packets).padStart(6)} ${String(Math.round(stats.bytes / 1024)).padStart(8)}  ${classifyMs.toFixed(0).padStart(4)} ms (${packets.length} packets: ${c.family}/${c.verdict})`,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    pair.destroy();
  }
}

await main();
