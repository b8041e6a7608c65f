// Two network namespaces joined by a veth pair, for traffic that really crosses an
// interface. Names carry the pid and a random suffix; destroy() removes everything.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface NsPair {
  a: { ns: string; iface: string; ip: string };
  b: { ns: string; iface: string; ip: string };
  /** argv prefix that runs a command inside a namespace. */
  exec(ns: string): string[];
  destroy(): void;
}

let subnet = 0;

export function createNsPair(prefix = 'bwk'): NsPair {
  const id = `${process.pid}-${randomBytes(2).toString('hex')}`;
  const a = `${prefix}-a-${id}`;
  const b = `${prefix}-b-${id}`;
  // 10.215.N.0/30 per pair; documentation-free private space that only exists in these namespaces.
  const n = (process.pid + subnet++) % 250;
  const ipA = `10.215.${n}.1`;
  const ipB = `10.215.${n}.2`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const pair: NsPair = {
    a: { ns: a, iface: 'veth-a', ip: ipA },
    b: { ns: b, iface: 'veth-b', ip: ipB },
    exec: (ns) => ['ip', 'netns', 'exec', ns],
    destroy() {
      for (const ns of [a, b]) {
        try {
          ip('netns', 'del', ns);
        } catch {
          // already gone
        }
      }
    },
  };
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip('link', 'add', 'veth-a', 'netns', a, 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', b);
    ip('-n', a, 'addr', 'add', `${ipA}/30`, 'dev', 'veth-a');
    ip('-n', b, 'addr', 'add', `${ipB}/30`, 'dev', 'veth-b');
    for (const [ns, dev] of [[a, 'veth-a'], [b, 'veth-b']] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (err) {
    pair.destroy();
    throw err;
  }
  return pair;
}
