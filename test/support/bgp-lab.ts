// The BGP lab for tests and benchmarks: a private network namespace with, on loopback,
// a GoBGP "router" (127.0.0.2, AS 65000) that receives, ExaBGP (127.0.0.3, AS 65001)
// driven by our agent/bin/exabgp-bridge, and a GoBGP "speaker" (127.0.0.4, AS 65002)
// driven over gRPC; on request BIRD 2 (127.0.0.5, AS 65003) driven by agent/bin/bird-bridge
// and FRR's bgpd (127.0.0.6, AS 65004) driven by agent/bin/frr-bridge.
// A veth pair lets the host namespace (the API and worker under test) reach the bridges
// and both gRPC APIs; nothing else leaves the namespace.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../agent/bin');
const BRIDGE = join(BIN, 'exabgp-bridge');
const FAMILIES = ['ipv4-unicast', 'ipv6-unicast', 'ipv4-flowspec', 'ipv6-flowspec'];

export interface BgpLabInfo {
  ns: string;
  exabgpBridge: { endpoint: string; token: string };
  /** With `bird: true`: the bird-bridge, and the file of BIRD configuration it owns. */
  birdBridge?: { endpoint: string; token: string; configFile: string };
  /** With `frr: true`: the frr-bridge beside FRR's bgpd (127.0.0.6, AS 65004). */
  frrBridge?: { endpoint: string; token: string };
  gobgpSpeaker: { endpoint: string };
  router: { apiEndpoint: string };
  logDir: string;
}

export type RibFamily = 'ipv4' | 'ipv6' | 'ipv4-flowspec' | 'ipv6-flowspec';

export interface RibEntry {
  /** Unicast: the CIDR. FlowSpec: the router's text of the NLRI ("[destination: 203.0.113.5/32][protocol: ==udp]..."). */
  prefix: string;
  communities: string[];
  extendedCommunities: string[];
  nextHop?: string;
  neighbor?: string;
  raw: unknown;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Namespaces left by runs that died (their pid is gone). */
function removeStaleLabs() {
  const names = existsSync('/var/run/netns') ? readdirSync('/var/run/netns') : [];
  for (const name of names) {
    const m = /^bulwark-lab-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      try {
        for (const p of sh('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)) process.kill(Number(p), 'SIGKILL');
        sh('ip', ['netns', 'del', name]);
      } catch {
        /* already gone */
      }
    }
  }
}

/** A 10.213.N.0/30 not used by any interface of the host. */
function freeSubnet(): number {
  const used = sh('ip', ['-4', '-o', 'addr']);
  for (let n = 0; n < 250; n++) if (!used.includes(`10.213.${n}.`)) return n;
  throw new Error('no free 10.213.N.0/30 for the lab veth');
}

function routerConfig(): string {
  const neighbor = (addr: string, as: number) => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${addr}"
    peer-as = ${as}
  [neighbors.transport.config]
    local-address = "127.0.0.2"
    passive-mode = true
${FAMILIES.map((f) => `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${f}"`).join('\n')}
`;
  return `[global.config]
  as = 65000
  router-id = "127.0.0.2"
  local-address-list = ["127.0.0.2"]
# Without this the router sends every route back to the speakers (notes/bgp-lab.md).
[global.apply-policy.config]
  default-export-policy = "reject-route"
${neighbor('127.0.0.3', 65001)}${neighbor('127.0.0.4', 65002)}${neighbor('127.0.0.5', 65003)}${neighbor('127.0.0.6', 65004)}`;
}

function speakerConfig(): string {
  return `[global.config]
  as = 65002
  router-id = "127.0.0.4"
  local-address-list = ["127.0.0.4"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.2"
    peer-as = 65000
  [neighbors.transport.config]
    local-address = "127.0.0.4"
${FAMILIES.map((f) => `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${f}"`).join('\n')}
`;
}

function exabgpConfig(): string {
  return `process bulwark {
  run ${BRIDGE};
  encoder text;
}
neighbor 127.0.0.2 {
  router-id 127.0.0.3;
  local-address 127.0.0.3;
  local-as 65001;
  peer-as 65000;
  family {
    ipv4 unicast;
    ipv6 unicast;
    ipv4 flow;
    ipv6 flow;
  }
  api {
    processes [ bulwark ];
  }
}
`;
}

/** BIRD as a user configures it beside the bridge: one include, and a session exporting the bridge's protocols. */
function birdConfig(logDir: string): string {
  return `router id 127.0.0.5;
log stderr all;
include "${join(logDir, 'bulwark.conf')}";
include "${join(logDir, 'bird-user.conf')}";
protocol device {}
protocol bgp lab_upstream {
  local 127.0.0.5 as 65003;
  neighbor 127.0.0.2 as 65000;
  multihop;
  # Listen on 127.0.0.5 only: the other speakers hold port 179 on their own addresses.
  strict bind on;
  ipv4 { import none; export where proto = "bulwark_rtbh4"; next hop address 192.0.2.1; };
  ipv6 { import none; export where proto = "bulwark_rtbh6"; next hop address 2001:db8::1; };
  flow4 { table bulwark_ft4; import none; export where proto = "bulwark_fs4"; };
  flow6 { table bulwark_ft6; import none; export where proto = "bulwark_fs6"; };
}
`;
}

/**
 * FRR's bgpd as a user configures it beside the bridge: no zebra (the routes are BGP
 * network statements, which need no RIB), and the session to the router.
 */
function frrConfig(): string {
  return `frr defaults traditional
hostname lab-frr
log stdout informational
router bgp 65004
 bgp router-id 127.0.0.6
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 127.0.0.2 remote-as 65000
 neighbor 127.0.0.2 update-source 127.0.0.6
 neighbor 127.0.0.2 disable-connected-check
 neighbor 127.0.0.2 timers connect 1
 ! eBGP sessions wait 30 s between updates under the traditional defaults: a blackhole must not.
 neighbor 127.0.0.2 advertisement-interval 0
 address-family ipv4 unicast
  neighbor 127.0.0.2 activate
  neighbor 127.0.0.2 route-map BULWARK-OUT out
 exit-address-family
 address-family ipv6 unicast
  neighbor 127.0.0.2 activate
 exit-address-family
exit
route-map BULWARK-OUT permit 10
 set ip next-hop unchanged
 set community no-export additive
exit
`;
}

export async function startBgpLab(opts: { logDir?: string; bird?: boolean; frr?: boolean } = {}) {
  for (const bin of ['ip', 'gobgpd', 'gobgp', 'exabgp']) {
    try {
      sh('sh', ['-c', `command -v ${bin}`]);
    } catch {
      throw new Error(`the BGP lab needs ${bin} (Debian: apt-get install iproute2 gobgpd exabgp)`);
    }
  }
  removeStaleLabs();
  const logDir = opts.logDir ?? mkdtempSync(join(tmpdir(), 'bulwark-lab-'));
  const ns = `bulwark-lab-${process.pid}-${randomBytes(3).toString('hex')}`;
  const n = freeSubnet();
  const hostIf = `bwl${n}h${randomBytes(2).toString('hex')}`.slice(0, 15);
  const nsIf = `bwl${n}n`;
  const hostAddr = `10.213.${n}.1`;
  const labAddr = `10.213.${n}.2`;
  const children: ChildProcess[] = [];

  const cleanup = () => {
    for (const c of children) if (c.exitCode === null && c.pid) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
    try {
      for (const p of sh('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean)) process.kill(Number(p), 'SIGKILL');
    } catch { /* no namespace */ }
    try { sh('ip', ['link', 'del', hostIf]); } catch { /* gone with the namespace */ }
    try { sh('ip', ['netns', 'del', ns]); } catch { /* never made */ }
  };
  process.once('exit', cleanup);

  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns]);
  sh('ip', ['addr', 'add', `${hostAddr}/30`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', `${labAddr}/30`, 'dev', nsIf]);
  sh('ip', ['-n', ns, 'link', 'set', nsIf, 'up']);

  writeFileSync(join(logDir, 'router.toml'), routerConfig());
  writeFileSync(join(logDir, 'speaker.toml'), speakerConfig());
  writeFileSync(join(logDir, 'exabgp.conf'), exabgpConfig());
  const token = randomBytes(16).toString('hex');
  // The user's own part of BIRD's configuration (a test breaks it on purpose).
  writeFileSync(join(logDir, 'bird-user.conf'), '# the operator\'s own settings\n');

  const specs = new Map<Daemon, { args: string[]; env: NodeJS.ProcessEnv }>([
    ['router', { args: ['gobgpd', '-f', join(logDir, 'router.toml'), '-p', '--api-hosts', `127.0.0.2:50051,${labAddr}:50051`, '--pprof-disable', '-l', 'warn'], env: {} }],
    ['speaker', { args: ['gobgpd', '-f', join(logDir, 'speaker.toml'), '-p', '--api-hosts', `${labAddr}:50052`, '--pprof-disable', '-l', 'warn'], env: {} }],
    [
      'exabgp',
      {
        args: ['exabgp', join(logDir, 'exabgp.conf')],
        env: {
          'exabgp.daemon.user': 'root',
          'exabgp.daemon.drop': 'false',
          'exabgp.api.cli': 'false',
          'exabgp.log.destination': join(logDir, 'exabgp-internal.log'),
          EXABGP_BRIDGE_LISTEN: `${labAddr}:5000`,
          EXABGP_BRIDGE_TOKEN: token,
        },
      },
    ],
  ]);
  if (opts.bird) {
    specs.set('bird-bridge', {
      args: [process.execPath, join(BIN, 'bird-bridge')],
      env: {
        BIRD_BRIDGE_LISTEN: `${labAddr}:5001`,
        BIRD_BRIDGE_TOKEN: token,
        BIRD_BRIDGE_CONFIG: join(logDir, 'bulwark.conf'),
        BIRD_BRIDGE_SOCKET: join(logDir, 'bird.ctl'),
      },
    });
    writeFileSync(join(logDir, 'bird.conf'), birdConfig(logDir));
    specs.set('bird', { args: ['bird', '-f', '-c', join(logDir, 'bird.conf'), '-s', join(logDir, 'bird.ctl'), '-P', join(logDir, 'bird.pid')], env: {} });
  }
  // FRR drops to its own user (root is not in its vty group): its files live in a folder it owns.
  const frrDir = join(logDir, 'frr');
  if (opts.frr) {
    chmodSync(logDir, 0o755);
    mkdirSync(frrDir, { recursive: true });
    writeFileSync(join(frrDir, 'frr.conf'), frrConfig());
    sh('chown', ['-R', 'frr:frr', frrDir]);
    specs.set('frr', { args: ['/usr/lib/frr/bgpd', '-Z', '-f', join(frrDir, 'frr.conf'), '--vty_socket', frrDir, '-i', join(frrDir, 'bgpd.pid'), '-l', '127.0.0.6', '-u', 'frr', '-g', 'frr', '-A', '127.0.0.1', '-P', '0'], env: {} });
    specs.set('frr-bridge', {
      args: [process.execPath, join(BIN, 'frr-bridge')],
      env: { FRR_BRIDGE_LISTEN: `${labAddr}:5002`, FRR_BRIDGE_TOKEN: token, FRR_BRIDGE_ASN: '65004', FRR_BRIDGE_VTY_SOCKET: frrDir, FRR_BRIDGE_STATE: join(logDir, 'frr-bridge.json') },
    });
  }
  const running = new Map<Daemon, ChildProcess>();
  const daemon = (name: Daemon) => {
    const { args, env } = specs.get(name)!;
    const out = openSync(join(logDir, `${name}.log`), 'a');
    const child = spawn('ip', ['netns', 'exec', ns, ...args], { stdio: ['ignore', out, out], detached: true, env: { ...process.env, ...env } });
    children.push(child);
    running.set(name, child);
    return child;
  };
  for (const name of specs.keys()) {
    // BIRD reads the bridge's file at start: the bridge writes it first.
    if (name === 'bird') await waitFor(() => existsSync(join(logDir, 'bulwark.conf')), 10_000, 'the bird-bridge to write its file');
    daemon(name);
  }

  const info: BgpLabInfo = {
    ns,
    exabgpBridge: { endpoint: `${labAddr}:5000`, token },
    gobgpSpeaker: { endpoint: `${labAddr}:50052` },
    router: { apiEndpoint: `${labAddr}:50051` },
    logDir,
    ...(opts.bird ? { birdBridge: { endpoint: `${labAddr}:5001`, token, configFile: join(logDir, 'bulwark.conf') } } : {}),
    ...(opts.frr ? { frrBridge: { endpoint: `${labAddr}:5002`, token } } : {}),
  };
  const speakers = 2 + (opts.bird ? 1 : 0) + (opts.frr ? 1 : 0);
  const healthy = async (endpoint: string) =>
    fetch(`http://${endpoint}/health`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(1000) })
      .then((r) => r.ok)
      .catch(() => false);

  /** Until both speakers have a session with the router and the bridge answers. */
  async function waitUp(ms: number) {
    const deadline = Date.now() + ms;
    let last = '';
    for (;;) {
      try {
        const peers = JSON.parse(sh('ip', ['netns', 'exec', ns, 'gobgp', '-u', '127.0.0.2', 'neighbor', '-j'])) as Array<{
          state: { neighbor_address: string; session_state: number };
        }>;
        // session_state 6 = ESTABLISHED
        const up = peers.filter((p) => p.state.session_state === 6).map((p) => p.state.neighbor_address);
        const health = (await healthy(`${labAddr}:5000`)) && (!opts.bird || (await healthy(`${labAddr}:5001`))) && (!opts.frr || (await healthy(`${labAddr}:5002`)));
        last = `established: [${up.join(', ')}], bridges healthy: ${health}`;
        if (up.length === speakers && health) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        const tails = [...specs.keys()]
          .map((d) => `--- ${d}.log ---\n${readFileSync(join(logDir, `${d}.log`), 'utf8').split('\n').slice(-15).join('\n')}`)
          .join('\n');
        throw new Error(`BGP lab did not come up in ${ms / 1000} s (${last})\n${tails}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await waitUp(30_000);
  } catch (err) {
    cleanup();
    throw err;
  }

  /** Kills a speaker at once (its routes leave the router with its session). */
  async function kill(name: 'speaker' | 'exabgp' | 'bird' | 'frr') {
    const child = running.get(name)!;
    if (child.exitCode === null && child.pid) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGKILL');
      await exited;
    }
  }

  return {
    ...info,
    kill,
    /** Starts a killed speaker again and waits until its session is up. */
    async revive(name: 'speaker' | 'exabgp' | 'bird' | 'frr') {
      daemon(name);
      await waitUp(30_000);
    },
    async stop() {
      cleanup();
      process.removeListener('exit', cleanup);
    },
  };
}

type Daemon = 'router' | 'speaker' | 'exabgp' | 'bird-bridge' | 'bird' | 'frr' | 'frr-bridge';

async function waitFor(done: () => boolean, ms: number, what: string): Promise<void> {
  for (const deadline = Date.now() + ms; !done(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

export type BgpLab = Awaited<ReturnType<typeof startBgpLab>>;

const COMMUNITY = (n: number) => `${Math.floor(n / 65536)}:${n % 65536}`;

/** The router's Loc-RIB for one family, read with the gobgp CLI inside the namespace. */
export async function routerRib(lab: Pick<BgpLabInfo, 'ns'>, family: RibFamily): Promise<RibEntry[]> {
  const { stdout } = await run('ip', ['netns', 'exec', lab.ns, 'gobgp', '-u', '127.0.0.2', 'global', 'rib', '-a', family, '-j']);
  const text = stdout.trim();
  if (!text || text === 'null') return [];
  const table = JSON.parse(text) as Record<string, Array<{ nlri: Record<string, unknown>; attrs: Array<Record<string, any>>; 'source-id'?: string; neighbor?: string }>>;
  const out: RibEntry[] = [];
  for (const [key, paths] of Object.entries(table)) {
    for (const path of paths) {
      const attrs = path.attrs ?? [];
      const communities = attrs.filter((a) => a.type === 8).flatMap((a) => (a.communities as number[]).map(COMMUNITY));
      const extended = attrs.filter((a) => a.type === 16).flatMap((a) => (a.value as unknown[]).map((v) => JSON.stringify(v)));
      const nh = attrs.find((a) => a.type === 3)?.nexthop ?? attrs.find((a) => a.type === 14)?.nexthop;
      out.push({ prefix: key, communities, extendedCommunities: extended, nextHop: nh, neighbor: path['source-id'] ?? path.neighbor, raw: path });
    }
  }
  return out;
}

/** Polls the router until `predicate` holds; throws with the last RIB when it does not. */
export async function waitForRib(
  lab: Pick<BgpLabInfo, 'ns'>,
  family: RibFamily,
  predicate: (entries: RibEntry[]) => boolean,
  timeoutMs = 10_000,
): Promise<RibEntry[]> {
  const deadline = Date.now() + timeoutMs;
  let rib: RibEntry[] = [];
  for (;;) {
    rib = await routerRib(lab, family);
    if (predicate(rib)) return rib;
    if (Date.now() > deadline) throw new Error(`router ${family} RIB never matched within ${timeoutMs} ms; it holds: ${JSON.stringify(rib.map((e) => e.prefix))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
