// Every attack profile keeps its promises, judged by real packets from another namespace
// on nftables and iptables (the suites whose matching the agent renders itself: ufw's
// rules are rendered as iptables', and firewalld's direct rules are iptables rules; their
// own plumbing is tested in attack-profiles.test.ts and agent-firewall-rules.test.ts).
// For each profile, applied twice: what its rules accept passes, what they leave to the
// host's firewall passes, what they drop is dropped while the same packets from the
// allowlisted address pass (and they pass from anywhere once the profile is removed: the
// silence is the profile's), a TCP connection opened before the profile and the agent's
// connection to its API server keep working. On a host whose connection tracking starts
// with the profile, the agent's API connection survives fintech, which drops every new
// packet it does not name. The table below is written from domain/attack-profiles.ts and
// checked against the profile's typed rules first, so an edit that breaks a promise fails
// here twice: in the rules and on the wire.
import { execFileSync } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createFirewall } from '../agent/firewall.js';
import { PROFILE_IDS, profileById, profileRuleSet, type AttackProfile, type ProfileId } from '../domain/attack-profiles.js';
import { createNsPair } from './support/netns.js';
import { startProbeStation, type Probe, type ProbeStation } from './support/probe-station.js';

/** A probe from outside, to the host: a TCP connection, a UDP datagram (from `srcPort`: an ordinary one unless given), or a ping. */
type Shot = { tcp: number } | { udp: number; srcPort?: number } | { ping: true };

interface Promises {
  /** The profile's own accept rule lets it in. */
  accepts: Shot[];
  /** No rule of the profile decides: it is left to the host's firewall. */
  leaves: Shot[];
  /** A rule of the profile drops it (unless it comes from the allowlist). */
  drops: Shot[];
}

// Written from the profiles' definitions. `small_operator` and `router` open no service:
// what they let in is established traffic (proven for every profile below) and what they
// leave to the host.
const PROMISES: Record<ProfileId, Promises> = {
  game_server: {
    accepts: [{ udp: 27015 }, { tcp: 25565 }],
    leaves: [{ udp: 40000 }, { ping: true }],
    drops: [
      { udp: 40000, srcPort: 123 },
      { udp: 27015, srcPort: 53 },
    ],
  },
  hosting_provider: {
    accepts: [{ udp: 53, srcPort: 53 }, { udp: 443 }, { tcp: 443 }],
    leaves: [{ tcp: 8080 }],
    drops: [
      { udp: 40000, srcPort: 123 },
      { udp: 53, srcPort: 11211 },
    ],
  },
  isp: {
    accepts: [{ udp: 53, srcPort: 53 }],
    leaves: [{ ping: true }, { tcp: 443 }],
    drops: [
      { udp: 40000, srcPort: 11211 },
      { udp: 53, srcPort: 1900 },
    ],
  },
  saas: { accepts: [{ udp: 443 }, { tcp: 443 }], leaves: [{ tcp: 8080 }], drops: [{ udp: 40000 }, { udp: 443, srcPort: 53 }] },
  ecommerce: { accepts: [{ udp: 443 }, { tcp: 443 }], leaves: [{ tcp: 8080 }], drops: [{ tcp: 3306 }, { udp: 40000 }] },
  fintech: { accepts: [{ tcp: 443 }, { tcp: 80 }], leaves: [], drops: [{ tcp: 22 }, { tcp: 8080 }, { udp: 443 }, { ping: true }] },
  small_operator: {
    accepts: [],
    leaves: [{ tcp: 8080 }, { udp: 40000 }, { ping: true }],
    drops: [
      { udp: 40000, srcPort: 123 },
      { udp: 40000, srcPort: 53 },
    ],
  },
  msp: { accepts: [{ tcp: 443 }], leaves: [{ udp: 40000 }], drops: [{ tcp: 22 }, { tcp: 3389 }, { udp: 40000, srcPort: 1900 }] },
  edge_node: { accepts: [{ udp: 443 }, { tcp: 80 }], leaves: [{ tcp: 8080 }], drops: [{ udp: 40000 }, { udp: 443, srcPort: 123 }] },
  router: { accepts: [], leaves: [{ ping: true }, { tcp: 443 }], drops: [{ tcp: 179 }, { tcp: 22 }, { udp: 161 }] },
  game_studio: { accepts: [{ udp: 27015 }, { tcp: 25565 }, { tcp: 443 }], leaves: [{ udp: 40000 }], drops: [{ tcp: 22 }, { tcp: 1666 }, { tcp: 8080 }] },
};

/** An ordinary UDP source port: no reflection service's, and fixed so that no ephemeral port happens to be one. */
const ORDINARY_SRC = 41000;
/** The agent's API server, in the outside namespace. */
const API_PORT = 8443;
/** Another server the host talks to, in the outside namespace. */
const OTHER_SERVER = 8444;
/** The allowlisted administrator: an address of its own in the outside namespace. */
const ADMIN = '198.51.100.7';

const label = (s: Shot) => ('tcp' in s ? `tcp/${s.tcp}` : 'udp' in s ? `udp/${s.udp}${s.srcPort ? ` from port ${s.srcPort}` : ''}` : 'ping');

/** What the profile's typed rules do with a new connection's first packet from anywhere (not the allowlist): the first rule that decides. */
function verdict(p: AttackProfile, s: Shot): { action: 'accept' | 'drop' | 'host'; by?: string } {
  const proto = 'tcp' in s ? 'tcp' : 'udp' in s ? 'udp' : 'icmp';
  const port = 'tcp' in s ? s.tcp : 'udp' in s ? s.udp : undefined;
  const srcPort = 'udp' in s ? (s.srcPort ?? ORDINARY_SRC) : 'tcp' in s ? 50000 : undefined;
  const within = (ranges: { from: number; to: number }[] | undefined, n: number | undefined) => !ranges || (n !== undefined && ranges.some((r) => r.from <= n && n <= r.to));
  for (const r of [...p.early, ...p.rules]) {
    if (r.action === 'rate_limit' || (r.state && !r.state.includes('new'))) continue;
    // The profiles' own rules match no addresses, lengths or fragments (the allowlist is added before them).
    expect(r.source ?? r.sources ?? r.destination ?? r.length ?? r.fragment, `${p.id}: ${r.title}`).toBeUndefined();
    if (r.protocol && r.protocol !== proto) continue;
    if (r.icmpTypes && !r.icmpTypes.includes('echo-request')) continue;
    // A connection's first segment: SYN alone.
    if (r.tcpFlags && r.tcpFlags.set.join() !== r.tcpFlags.mask.filter((f) => f === 'syn').join()) continue;
    if (!within(r.destinationPorts, port) || !within(r.sourcePorts, srcPort)) continue;
    return { action: r.action === 'accept' ? 'accept' : 'drop', by: r.title };
  }
  return { action: 'host' };
}

describe('the promises table', () => {
  it.each([...PROFILE_IDS])('%s: says what its typed rules do', (id) => {
    const p = profileById(id)!;
    const { accepts, leaves, drops } = PROMISES[id];
    expect(accepts.length + leaves.length, id).toBeGreaterThan(0);
    expect(drops.length, id).toBeGreaterThan(0);
    for (const s of accepts) expect(verdict(p, s).action, `${id} accepts ${label(s)}`).toBe('accept');
    for (const s of leaves) expect(verdict(p, s), `${id} leaves ${label(s)} to the host`).toEqual({ action: 'host' });
    for (const s of drops) expect(verdict(p, s).action, `${id} drops ${label(s)}`).toBe('drop');
  });
});

/** Two namespaces of their own for one profile (no connection tracking or limit left by another): the host with echo servers on every port the table names, outside with the agent's API server and the allowlisted address. */
async function startLab(suite: 'nftables' | 'iptables', opts: { tracking?: boolean } = {}) {
  const pair = createNsPair('bwk-pp');
  const stations: ProbeStation[] = [];
  const destroy = () => {
    for (const s of stations) s.stop();
    pair.destroy();
  };
  try {
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    ip('-n', pair.a.ns, 'addr', 'add', `${ADMIN}/32`, 'dev', pair.a.iface);
    ip('-n', pair.b.ns, 'route', 'add', `${ADMIN}/32`, 'dev', pair.b.iface);
    // The host's own stateful firewall, as on most hosts: connection tracking follows connections before the profile
    // (tracking that starts with the profile takes a connection it never saw for a new one).
    if (opts.tracking !== false)
      ip(
        'netns',
        'exec',
        pair.b.ns,
        'nft',
        'add table inet host_own ; add chain inet host_own input { type filter hook input priority 10 ; } ; add rule inet host_own input ct state established counter',
      );
    const [outside, host] = await Promise.all([startProbeStation(pair.a.ns), startProbeStation(pair.b.ns)]);
    stations.push(outside, host);
    const all = Object.values(PROMISES).flatMap((p) => [...p.accepts, ...p.leaves, ...p.drops]);
    await host.listen({ tcp: [...new Set([8080, ...all.flatMap((s) => ('tcp' in s ? [s.tcp] : []))])], udp: [...new Set(all.flatMap((s) => ('udp' in s ? [s.udp] : [])))] });
    await outside.listen({ tcp: [API_PORT, OTHER_SERVER] });
    const fw = createFirewall(suite, { prefix: pair.exec(pair.b.ns), keep: [{ address: pair.a.ip, port: API_PORT }] });
    /** The probes for these shots, from the outside's own address unless `from` (never the wildcard, which would hold the port for both). */
    const shots = (list: Shot[], from = pair.a.ip): Probe[] =>
      list.map((s, i) =>
        'tcp' in s
          ? { proto: 'tcp', to: pair.b.ip, port: s.tcp, from }
          : 'udp' in s
            ? { proto: 'udp', to: pair.b.ip, port: s.udp, srcPort: s.srcPort ?? ORDINARY_SRC + i, from }
            : { proto: 'ping', to: pair.b.ip, from },
      );
    return { pair, outside, host, fw, shots, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

const outcomes = (list: Shot[], got: string[]) => Object.fromEntries(list.map((s, i) => [label(s), got[i]]));
const all = (list: Shot[], outcome: string) =>
  outcomes(
    list,
    list.map(() => outcome),
  );

describe.each(['nftables', 'iptables'] as const)('every profile on %s, by packets', (suite) => {
  it.each([...PROFILE_IDS])('%s', async (id) => {
    const { accepts, leaves, drops } = PROMISES[id];
    const passing = [...accepts, ...leaves];
    const { pair, outside, host, fw, shots, destroy } = await startLab(suite);
    onTestFinished(destroy);
    // Opened before the profile: a connection from outside to a port it closes to new ones (else any), and the agent's to its API server.
    const firstTcpDrop = drops.find((s): s is { tcp: number } => 'tcp' in s);
    const established = await outside.hold(pair.b.ip, firstTcpDrop?.tcp ?? 8080);
    const agent = await host.hold(pair.a.ip, API_PORT);

    const set = profileRuleSet(id, { allowlisted: [`${ADMIN}/32`] });
    await fw.apply(set);
    await fw.apply(set); // twice is once
    expect(await fw.list()).toEqual([set.name]);

    const [fromAnywhere, fromAdmin, newApi, oldConn, oldAgent] = await Promise.all([
      outside.probe(shots([...passing, ...drops])),
      // The same packets from the allowlisted address, at the same time: they pass, so the others' silence is the source's.
      outside.probe(shots(drops, ADMIN)),
      host.probe([{ proto: 'tcp', to: pair.a.ip, port: API_PORT }]),
      established.echo(),
      agent.echo(),
    ]);
    expect(outcomes([...passing, ...drops], fromAnywhere)).toEqual({ ...all(passing, 'answered'), ...all(drops, 'silent') });
    expect(outcomes(drops, fromAdmin), 'from the allowlist').toEqual(all(drops, 'answered'));
    expect({ newApi: newApi[0], oldConn, oldAgent }).toEqual({ newApi: 'answered', oldConn: 'answered', oldAgent: 'answered' });

    await fw.remove(set.name);
    expect(await fw.list()).toEqual([]);
    // Dropped packets never made a connection: the same ones now pass.
    expect(outcomes(drops, await outside.probe(shots(drops))), 'after removal').toEqual(all(drops, 'answered'));
  });

  it("fintech on a host whose connection tracking starts with it: the agent's API connection survives, by its own path", async () => {
    const { pair, outside, host, fw, destroy } = await startLab(suite, { tracking: false });
    onTestFinished(destroy);
    const agent = await host.hold(pair.a.ip, API_PORT);
    const other = await host.hold(pair.a.ip, OTHER_SERVER);
    await fw.apply(profileRuleSet('fintech', { allowlisted: [`${ADMIN}/32`] }));
    // Both servers answer a request made before the profile (a long poll). Tracking never saw either connection: the
    // answer is new to it, and fintech drops every new packet it does not name. The API server's is accepted before any state is looked at.
    await outside.push(API_PORT, 'api-answer');
    await outside.push(OTHER_SERVER, 'other-answer');
    expect({ agent: await agent.heard('api-answer'), other: await other.heard('other-answer') }).toEqual({ agent: 'answered', other: 'silent' });
  });
});
