// The rule model's matches, applied with the real nftables and iptables inside a
// namespace and judged by real packets from another one: connection state, TCP flags and
// REJECT, per-source and aggregate rate limits, packet length, ICMP types, fragments, the
// agent's own API path kept open, and profiles evaluated after blocks whatever the order
// they were applied in.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirewall, type Firewall } from '../agent/firewall.js';
import { acceptEstablished } from '../domain/firewall-blocks.js';
import { catalogueRuleSet } from '../domain/firewall-catalogue.js';
import { validateRuleSet, type FirewallRule } from '../domain/firewall.js';
import { createNsPair, type NsPair } from './support/netns.js';
import { udpDelivered } from './support/udp-delivered.js';
import { firewalldInNamespace, type FirewalldNs } from './support/firewalld-ns.js';
import { ufwInNamespace, type UfwNs } from './support/ufw-ns.js';

const run = promisify(execFile);
let pair: NsPair;
const servers: ChildProcess[] = [];

/** A TCP server in a namespace that accepts and closes at once, on each port. */
function tcpServers(ns: string, ports: number[]) {
  const script = `const net=require('net');for(const p of ${JSON.stringify(ports)})net.createServer((c)=>c.end()).listen(p);setInterval(()=>{},1e9)`;
  servers.push(spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: 'ignore' }));
}

beforeAll(async () => {
  pair = createNsPair('bwk-fr');
  tcpServers(pair.a.ns, [8080, 8081]);
  tcpServers(pair.b.ns, [7070]);
  await new Promise((r) => setTimeout(r, 500));
});
afterAll(() => {
  for (const s of servers) s.kill();
  pair?.destroy();
});

const inNs = (ns: string, cmd: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' }).then((r) => r.stdout);

/** Connects from one namespace to the other: 'ok', 'refused' (a RST) or 'timeout' (dropped). */
async function connect(from: 'a' | 'b', port: number): Promise<string> {
  const to = from === 'a' ? pair.b.ip : pair.a.ip;
  const script = `const s=require('net').connect({host:'${to}',port:${port}});s.setTimeout(700,()=>{console.log('timeout');process.exit()});s.on('connect',()=>{console.log('ok');process.exit()});s.on('error',(e)=>{console.log(e.code==='ECONNREFUSED'?'refused':e.code);process.exit()})`;
  return (await inNs(pair[from].ns, process.execPath, '-e', script)).trim();
}

/** UDP datagrams namespace b took in of `count` sent from a. */
const udpArrived = (port: number, count: number, opts: { srcPort?: number; size?: number } = {}) =>
  udpDelivered({ fromNs: pair.a.ns, toNs: pair.b.ns, to: pair.b.ip, port, count, ...opts });

/** Echo replies to `count` pings of `size` bytes from a to b, sent 5 ms apart. */
async function pings(count: number, size = 56): Promise<number> {
  const out = await inNs(pair.a.ns, 'ping', '-n', '-q', '-c', String(count), '-i', '0.005', '-W', '1', '-s', String(size), pair.b.ip).catch((e: { stdout?: string }) => e.stdout ?? '');
  return Number(/(\d+) (packets )?received/.exec(out)?.[1] ?? 0);
}

describe('rule model validation', () => {
  it('refuses rules that cannot mean what they say', () => {
    const bad: Array<[FirewallRule, string]> = [
      [{ action: 'accept', fragment: true }, 'a fragment rule drops'],
      [{ action: 'drop', fragment: true, state: ['new'] }, 'connection state'],
      [{ action: 'drop', protocol: 'udp', fragment: true, destinationPorts: [{ from: 53, to: 53 }] }, 'no ports'],
      [{ action: 'drop', protocol: 'udp', tcpFlags: { mask: ['syn'], set: ['syn'] } }, 'needs protocol tcp'],
      [{ action: 'drop', protocol: 'tcp', tcpFlags: { mask: ['syn'], set: ['ack'] } }, 'within the mask'],
      [{ action: 'drop', protocol: 'tcp', icmpTypes: ['echo-request'] }, 'needs protocol icmp'],
      [{ action: 'drop', length: { from: 900, to: 100 } }, 'low end first'],
      [{ action: 'drop', burst: 5 }, 'only to rate_limit'],
      [{ action: 'drop', source: '192.0.2.0/24', destination: '2001:db8::/64' }, 'one address family'],
      [{ action: 'drop', title: 'two\nlines' }, 'one line'],
    ];
    for (const [rule, mention] of bad) {
      const r = validateRuleSet({ name: 'x', rules: [rule] });
      expect(r.ok, JSON.stringify(rule)).toBe(false);
      if (!r.ok) expect(r.reason).toContain(mention);
    }
  });
});

describe.each(['nftables', 'iptables', 'ufw', 'firewalld'] as const)('%s', (suite) => {
  // firewalld's direct rules are iptables rules: what they match is the iptables suite's
  // tests; firewalld runs its own plumbing here (chains, jumps, order, permanence), each of
  // its rules a firewall-cmd call of a fraction of a second.
  const matching = it.skipIf(suite === 'firewalld');
  let fw: Firewall;
  let ufw: UfwNs | null = null;
  let firewalld: FirewalldNs | null = null;
  const where = () => (ufw ? { prefix: ufw.prefix, ufwDir: ufw.dir } : firewalld ? { prefix: firewalld.prefix } : { prefix: pair.exec(pair.b.ns) });
  beforeAll(async () => {
    if (suite === 'ufw') ufw = ufwInNamespace(pair.b.ns);
    if (suite === 'firewalld') firewalld = await firewalldInNamespace(pair.b.ns);
    fw = createFirewall(suite, where());
  }, 60_000);
  afterAll(() => {
    ufw?.destroy();
    firewalld?.destroy();
  });

  matching('accepts established traffic before dropping new connections, and rejects with a reset', async () => {
    await fw.apply({ name: 'conns', rules: [acceptEstablished, { action: 'drop', protocol: 'tcp', state: ['new'], title: 'New TCP' }] });
    expect(await connect('a', 7070)).toBe('timeout'); // a new connection to b: dropped
    expect(await connect('b', 8080)).toBe('ok'); // b's own connection out: its replies are established
    await fw.apply({ name: 'conns', rules: [{ action: 'reject', protocol: 'tcp', tcpFlags: { mask: ['syn', 'ack', 'rst', 'fin'], set: ['syn'] }, destinationPorts: [{ from: 7070, to: 7070 }] }] });
    expect(await connect('a', 7070)).toBe('refused');
    await fw.remove('conns');
    expect(await connect('a', 7070)).toBe('ok');
  });

  it("keeps the agent's API path open under a rule set that drops everything", async () => {
    const keep = createFirewall(suite, { ...where(), keep: [{ address: pair.a.ip, port: 8080 }] });
    await keep.apply({ name: 'all_off', rules: [{ action: 'drop', title: 'Everything' }] });
    expect(await connect('b', 8080)).toBe('ok'); // the API server's answers
    expect(await connect('b', 8081)).toBe('timeout'); // another service on the same host
    await keep.remove('all_off');
  });

  matching('limits per source and in all, letting what fits go on to the next rule', async () => {
    const limit = (perSource: boolean): FirewallRule => ({ action: 'rate_limit', protocol: 'udp', destinationPorts: [{ from: 9100, to: 9100 }], ratePps: 10, burst: 20, perSource });
    // A later drop of another port must not see port 9100's packets: within-rate ones go on, to be accepted.
    await fw.apply({ name: 'limits', rules: [limit(true), { action: 'accept', protocol: 'udp', destinationPorts: [{ from: 9100, to: 9100 }] }, { action: 'drop', protocol: 'udp' }] });
    const through = await udpArrived(9100, 300);
    expect(through).toBeGreaterThanOrEqual(15);
    expect(through).toBeLessThan(60);
    expect(await udpArrived(9101, 20)).toBe(0);
    await fw.apply({ name: 'limits', rules: [limit(false)] });
    const aggregate = await udpArrived(9100, 300);
    expect(aggregate).toBeGreaterThanOrEqual(15);
    expect(aggregate).toBeLessThan(60);
    await fw.remove('limits');
    expect(await udpArrived(9100, 300)).toBe(300);
  });

  matching('matches packet length and ICMP types', async () => {
    await fw.apply({ name: 'shape', rules: [
      { action: 'drop', protocol: 'udp', length: { from: 1000, to: 65535 }, title: 'Large UDP' },
      { action: 'drop', protocol: 'icmp', icmpTypes: ['echo-request'], title: 'Ping' },
    ] });
    expect(await udpArrived(9200, 20, { size: 100 })).toBe(20);
    expect(await udpArrived(9200, 20, { size: 1200 })).toBe(0);
    expect(await pings(3)).toBe(0);
    await fw.remove('shape');
    expect(await pings(3)).toBe(3);
  });

  matching('drops reflection only from its source ports (the catalogue’s block_amplification)', async () => {
    await fw.apply(catalogueRuleSet('block_amplification'));
    expect(await udpArrived(9300, 20, { srcPort: 123 })).toBe(0); // NTP reflection
    expect(await udpArrived(9300, 20, { srcPort: 40123 })).toBe(20);
    await fw.remove('cat_amplification');
  });

  matching("ends only Bulwark's evaluation with an accept: later rule sets are skipped, the host's own rules still apply", async () => {
    await fw.apply({ name: 'a_accept', rules: [{ action: 'accept', protocol: 'udp', destinationPorts: [{ from: 9601, to: 9602 }] }] });
    await fw.apply({ name: 'b_drop', rules: [{ action: 'drop', protocol: 'udp' }] });
    expect(await udpArrived(9601, 20)).toBe(20);
    expect(await udpArrived(9603, 20)).toBe(0);
    // The host's own firewall closes 9602: Bulwark's accept does not reopen it.
    const closed9602 = 'rule family=ipv4 port port=9602 protocol=udp drop';
    if (suite === 'nftables') await inNs(pair.b.ns, 'nft', 'add table inet host_own ; add chain inet host_own input { type filter hook input priority 0 ; } ; add rule inet host_own input udp dport 9602 drop');
    else if (ufw) ufw.ufw('deny', '9602/udp');
    else if (firewalld) firewalld.firewallCmd('--zone=trusted', `--add-rich-rule=${closed9602}`);
    else await inNs(pair.b.ns, 'iptables', '-w', '-A', 'INPUT', '-p', 'udp', '--dport', '9602', '-j', 'DROP');
    expect(await udpArrived(9602, 20)).toBe(0);
    if (suite === 'nftables') await inNs(pair.b.ns, 'nft', 'delete', 'table', 'inet', 'host_own');
    else if (ufw) ufw.ufw('delete', 'deny', '9602/udp');
    else if (firewalld) firewalld.firewallCmd('--zone=trusted', `--remove-rich-rule=${closed9602}`);
    else await inNs(pair.b.ns, 'iptables', '-w', '-D', 'INPUT', '-p', 'udp', '--dport', '9602', '-j', 'DROP');
    await fw.remove('a_accept');
    await fw.remove('b_drop');
  });

  it('evaluates profiles after every other rule set, whatever the order they came in', async () => {
    await fw.apply({ name: 'profile_test', rules: [{ action: 'accept', protocol: 'udp', destinationPorts: [{ from: 9400, to: 9400 }] }] });
    await fw.apply({ name: 'zz_block', rules: [{ action: 'drop', protocol: 'udp', destinationPorts: [{ from: 9400, to: 9400 }] }] });
    expect(await udpArrived(9400, 20)).toBe(0); // the block, though applied after the profile and sorting after it by name
    await fw.remove('zz_block');
    expect(await udpArrived(9400, 20)).toBe(20);
    await fw.remove('profile_test');
    expect(await fw.list()).toEqual([]);
  });

  it.runIf(suite === 'firewalld')('refuses to apply when firewalld is not running, saying so', async () => {
    // A bus where no firewalld answers (never the host's).
    const stopped = createFirewall('firewalld', { prefix: [...pair.exec(pair.b.ns), 'env', 'DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/bulwark-bus'] });
    await expect(stopped.apply({ name: 'x', rules: [{ action: 'drop' }] })).rejects.toThrow(/firewalld is not running on this host.*use the nftables or iptables suite/);
  });

  it.runIf(suite === 'firewalld')('keeps its rules in the permanent configuration too: a reload brings them back, removal leaves the user’s own', async () => {
    const cmd = (...args: string[]) => firewalld!.firewallCmd(...args);
    cmd('--permanent', '--direct', '--add-chain', 'ipv4', 'filter', 'user_own');
    cmd('--direct', '--add-chain', 'ipv4', 'filter', 'user_own');
    const set = { name: 'persist', rules: [{ action: 'drop' as const, protocol: 'udp' as const, destinationPorts: [{ from: 9700, to: 9700 }], title: 'UDP 9700, dropped' }] };
    await fw.apply(set);
    await fw.apply(set); // re-applied: the other generation's chain, the same effect
    expect(await udpArrived(9700, 20)).toBe(0);
    expect(cmd('--permanent', '--direct', '--get-all-rules')).toContain("--comment 'UDP 9700, dropped' -j DROP");
    cmd('--reload');
    expect(await fw.list()).toEqual(['persist']);
    expect(await udpArrived(9700, 20)).toBe(0);
    await fw.remove('persist');
    expect(await udpArrived(9700, 20)).toBe(20);
    for (const config of [[], ['--permanent']]) {
      expect(cmd(...config, '--direct', '--get-all-rules').trim()).toBe('');
      expect(cmd(...config, '--direct', '--get-all-chains').trim()).toBe('ipv4 filter user_own');
    }
  });

  it(suite === 'nftables' ? 'drops fragments before the kernel reassembles them' : 'refuses fragment rules (iptables sees packets after reassembly)', async () => {
    const set = catalogueRuleSet('block_fragments');
    if (suite !== 'nftables') {
      await expect(fw.apply(set)).rejects.toThrow(/fragments.*use nftables/);
      expect(await fw.list()).toEqual([]);
      return;
    }
    // A 3000-byte datagram crosses the 1500-byte veth in fragments.
    expect(await udpArrived(9500, 5, { size: 3000 })).toBe(5);
    await fw.apply(set);
    await fw.apply(set);
    expect(await udpArrived(9500, 5, { size: 3000 })).toBe(0);
    expect(await udpArrived(9500, 5, { size: 1000 })).toBe(5);
    await fw.remove('cat_fragments');
    expect(await inNs(pair.b.ns, 'nft', 'list', 'ruleset')).not.toContain('bulwark');
    expect(await udpArrived(9500, 5, { size: 3000 })).toBe(5);
  });
});
