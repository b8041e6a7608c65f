// Carpet bombing in network namespaces: several victims, each in a namespace of its own with
// an address of one prefix on an interface that sees only its own traffic (veth-b, from the
// attacker), and one attacker namespace joined to every victim that floods them all at once.
// Each victim reaches the control plane through a veth to the host, where a proxy forwards
// to the API on loopback (as the flood lab's victim does).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { hpingFlood, spawnAgent, startApiProxy, type FloodKind, type FloodOptions } from './flood-lab.js';

export interface CarpetVictim {
  ns: string;
  ip: string;
  /** The interface the attacker's traffic arrives on (the agent watches it). */
  iface: string;
  /** The API as this victim's namespace reaches it. */
  apiUrl: string;
}

export interface CarpetLab {
  attackerNs: string;
  victims: CarpetVictim[];
  /** Runs the agent in victim `i`'s namespace. */
  startAgent(i: number, args: string[]): ChildProcess;
  /** One bounded hping3 flood per victim, all at once; resolves when all ended. */
  flood(kind: FloodKind, opts?: FloodOptions): Promise<void>;
  destroy(): Promise<void>;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** A 10.217.N.0/24 not used by any interface of the host: the victims' links to the host, a /30 each. */
function freeHostNet(): number {
  const used = execFileSync('ip', ['-4', '-o', 'addr'], { encoding: 'utf8' });
  for (let k = 0; k < 250; k++) {
    const n = (process.pid + k) % 250;
    if (!used.includes(`10.217.${n}.`)) return n;
  }
  throw new Error('no free 10.217.N.0/24 for the carpet lab');
}

/** Namespaces left by runs that died (their pid is gone); their veths, the host's ends too, go with them. */
function removeStaleLabs() {
  for (const ns of existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : []) {
    const m = /^bwk-cb-(?:a|v\d+)-(\d+)-[0-9a-f]{4}$/.exec(ns);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // its run is alive
    } catch {
      // gone
    }
    try {
      for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      ip('netns', 'del', ns);
    } catch {
      // removed meanwhile
    }
  }
}

export async function startCarpetLab(apiBaseUrl: string, victimIps: string[]): Promise<CarpetLab> {
  if (victimIps.length > 60) throw new Error('at most 60 victims (a /30 each in a /24)');
  removeStaleLabs();
  const id = `${process.pid}-${randomBytes(2).toString('hex')}`;
  const attackerNs = `bwk-cb-a-${id}`;
  const namespaces = [attackerNs];
  const hostSides: string[] = [];
  const proxies: Array<{ close(): Promise<void> }> = [];
  const agents: ChildProcess[] = [];
  const victims: CarpetVictim[] = [];

  const destroy = async () => {
    for (const a of agents) a.kill('SIGTERM');
    if (agents.length) await new Promise((r) => setTimeout(r, 300));
    for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    await Promise.all(proxies.map((p) => p.close()));
    for (const link of hostSides) {
      try {
        ip('link', 'del', link);
      } catch {
        // gone with its namespace
      }
    }
    for (const ns of namespaces) {
      try {
        // Whatever still runs inside (an hping3 past its bound) goes with it.
        for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  };

  try {
    ip('netns', 'add', attackerNs);
    ip('-n', attackerNs, 'link', 'set', 'lo', 'up');
    const n = freeHostNet();
    const pidTag = process.pid % 100000;
    for (const [i, victimIp] of victimIps.entries()) {
      const ns = `bwk-cb-v${i}-${id}`;
      namespaces.push(ns);
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      // Attacker <-> victim: 10.218.0.(4i)/30, inside the namespaces only.
      const toVictim = `vic${i}`;
      ip('link', 'add', toVictim, 'netns', attackerNs, 'type', 'veth', 'peer', 'name', 'veth-b', 'netns', ns);
      ip('-n', attackerNs, 'addr', 'add', `10.218.0.${4 * i + 1}/30`, 'dev', toVictim);
      ip('-n', ns, 'addr', 'add', `10.218.0.${4 * i + 2}/30`, 'dev', 'veth-b');
      ip('-n', ns, 'addr', 'add', `${victimIp}/32`, 'dev', 'veth-b');
      ip('-n', attackerNs, 'link', 'set', toVictim, 'up');
      ip('-n', ns, 'link', 'set', 'veth-b', 'up');
      ip('-n', attackerNs, 'route', 'add', `${victimIp}/32`, 'via', `10.218.0.${4 * i + 2}`);
      // Host <-> victim: 10.217.n.(4i)/30, the victim's way to the control plane.
      const hostSide = `bwc${pidTag}v${i}`;
      ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'to-host', 'netns', ns);
      hostSides.push(hostSide);
      const hostAddr = `10.217.${n}.${4 * i + 1}`;
      ip('addr', 'add', `${hostAddr}/30`, 'dev', hostSide);
      ip('link', 'set', hostSide, 'up');
      ip('-n', ns, 'addr', 'add', `10.217.${n}.${4 * i + 2}/30`, 'dev', 'to-host');
      ip('-n', ns, 'link', 'set', 'to-host', 'up');
      // Its agent is gone when it closes: its command long poll must not hold the API's shutdown.
      const proxy = await startApiProxy(apiBaseUrl, hostAddr, { abortOnClose: true });
      proxies.push(proxy);
      victims.push({ ns, ip: victimIp, iface: 'veth-b', apiUrl: proxy.url });
    }
  } catch (err) {
    await destroy();
    throw err;
  }

  return {
    attackerNs,
    victims,
    startAgent(i, args) {
      const child = spawnAgent(victims[i]!.ns, args);
      agents.push(child);
      return child;
    },
    async flood(kind, opts) {
      await Promise.all(victims.map((v) => hpingFlood(attackerNs, kind, v.ip, opts)));
    },
    destroy,
  };
}
