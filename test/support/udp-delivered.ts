// Sends UDP datagrams from one network namespace to an address in another, back to back,
// and counts what that namespace's stack took in (delivered, or answered port-unreachable):
// what the firewall between them let through.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function udpIn(ns: string): Promise<number> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' });
  const [head, values] = stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const h = head!.split(/\s+/);
  const v = values!.split(/\s+/).map(Number);
  return v[h.indexOf('InDatagrams')]! + v[h.indexOf('NoPorts')]!;
}

export async function udpDelivered(opts: { fromNs: string; toNs: string; to: string; port: number; count: number; srcPort?: number; size?: number }): Promise<number> {
  const before = await udpIn(opts.toNs);
  const start = opts.srcPort ? `s.bind(${opts.srcPort},go)` : 'go()';
  const script = `const s=require('dgram').createSocket('udp4');let n=0;const b=Buffer.alloc(${opts.size ?? 64});const go=()=>{if(n++>=${opts.count})return s.close();s.send(b,${opts.port},'${opts.to}',go)};${start}`;
  await run('ip', ['netns', 'exec', opts.fromNs, process.execPath, '-e', script]);
  await new Promise((r) => setTimeout(r, 100));
  return (await udpIn(opts.toNs)) - before;
}
