// The curated profiles and the catalogue: every rule titled with its reason, every set valid
// and installable on nftables, iptables, ufw and firewalld (each applied twice leaves what
// once did), the iptables-style custom rule grammar, and game_server's limits judged by real
// packets: players within their limit pass, a flood from one source is cut, reflection is
// dropped, the allowlist is never limited. What every profile accepts and drops, by packets:
// attack-profiles-packets.test.ts.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirewall } from '../agent/firewall.js';
import { PROFILE_IDS, PROFILES, profileRefusal, profileRuleSet } from '../domain/attack-profiles.js';
import { CATALOGUE, catalogueRuleSet } from '../domain/firewall-catalogue.js';
import { parseFirewallCmd } from '../domain/firewall-cmd.js';
import { iptablesRefusal } from '../domain/firewall-iptables.js';
import { createNsPair, type NsPair } from './support/netns.js';
import { firewalldInNamespace, type FirewalldNs } from './support/firewalld-ns.js';
import { ufwInNamespace, type UfwNs } from './support/ufw-ns.js';
import { udpDelivered } from './support/udp-delivered.js';

const run = promisify(execFile);

describe('profiles and catalogue', () => {
  it('hold the eleven profiles of the reference, every rule titled with its reason', () => {
    expect(PROFILES.map((p) => p.id)).toEqual([...PROFILE_IDS]);
    expect(PROFILE_IDS).toHaveLength(11);
    for (const p of PROFILES) {
      const set = profileRuleSet(p.id, { allowlisted: ['198.51.100.0/24'] });
      expect(set.name).toBe(`profile_${p.id}`);
      for (const r of set.rules) {
        expect(r.title, `${p.id}: ${JSON.stringify(r)}`).toBeTruthy();
        expect(r.reason, `${p.id}: ${r.title}`).toBeTruthy();
      }
      // The allowlist first, then (after the early per-source limits) established traffic, before any drop.
      expect(set.rules[0]).toMatchObject({ action: 'accept', sources: ['198.51.100.0/24'] });
      const established = set.rules.findIndex((r) => r.state?.includes('established'));
      expect(
        set.rules.slice(0, established).every((r) => r.action === 'accept' || r.action === 'rate_limit'),
        p.id,
      ).toBe(true);
    }
    for (const c of CATALOGUE) for (const r of catalogueRuleSet(c.name).rules) expect(r.title && r.reason, `${c.name}: ${JSON.stringify(r)}`).toBeTruthy();
    expect(CATALOGUE.map((c) => c.name)).toEqual(
      expect.arrayContaining(['block_udp_flood', 'block_syn_flood', 'block_icmp_flood', 'block_fragments', 'block_amplification', 'rate_limit_new_connections']),
    );
  });

  it('refuse profiles that admit administrators from the allowlist only while it is empty', () => {
    for (const id of ['fintech', 'router', 'msp', 'game_studio'] as const) {
      expect(profileRefusal(id, []), id).toContain('allowlist is empty');
      expect(profileRefusal(id, ['198.51.100.0/24']), id).toBeNull();
    }
    expect(profileRefusal('game_server', [])).toBeNull();
  });

  it('put custom rules after established traffic and before the profile’s own', () => {
    const custom = parseFirewallCmd('-p udp --dport 7777 -j DROP', 'No 7777');
    expect(custom.ok).toBe(true);
    const set = profileRuleSet('small_operator', { allowlisted: [], custom: [custom.ok ? custom.rule : (null as never)] });
    const at = set.rules.findIndex((r) => r.title === 'No 7777');
    expect(set.rules[at - 1]?.title).toBe('Invalid packets');
    expect(set.rules[at + 1]?.title).toBe(PROFILES.find((p) => p.id === 'small_operator')!.rules[0]!.title);
  });
});

describe('custom rule grammar', () => {
  it('parses iptables-style rules into the model', () => {
    expect(parseFirewallCmd('iptables -A INPUT -p tcp --syn -m hashlimit --hashlimit-above 20/sec --hashlimit-burst 40 --hashlimit-mode srcip -j DROP')).toEqual({
      ok: true,
      rule: { action: 'rate_limit', protocol: 'tcp', tcpFlags: { mask: ['syn', 'ack', 'rst', 'fin'], set: ['syn'] }, ratePps: 20, burst: 40, perSource: true },
    });
    expect(parseFirewallCmd('-p udp -m multiport --dports 80,443,8000:8100 -s 198.51.100.7 -m conntrack --ctstate NEW -j REJECT', 'x')).toEqual({
      ok: true,
      rule: {
        action: 'reject',
        protocol: 'udp',
        source: '198.51.100.7/32',
        destinationPorts: [
          { from: 80, to: 80 },
          { from: 443, to: 443 },
          { from: 8000, to: 8100 },
        ],
        state: ['new'],
        title: 'x',
      },
    });
    expect(parseFirewallCmd('-p tcp --tcp-flags ALL NONE -j DROP')).toMatchObject({ ok: true, rule: { tcpFlags: { set: [] } } });
    expect(parseFirewallCmd('-f -j DROP')).toEqual({ ok: true, rule: { action: 'drop', fragment: true } });
    expect(parseFirewallCmd('-p icmp --icmp-type echo-request -m length --length 1000:65535 -j DROP')).toMatchObject({
      ok: true,
      rule: { icmpTypes: ['echo-request'], length: { from: 1000, to: 65535 } },
    });
  });

  it('refuses anything else, naming the offending token', () => {
    const bad: Array<[string, string]> = [
      ['-p tcp --dport 22 -j ACCEPT; reboot', '"ACCEPT;"'],
      ['-p tcp --dport 22 -j ACCEPT $(reboot)', '"$(reboot)"'],
      ['-A FORWARD -j DROP', '"FORWARD"'],
      ['-p tcp -j MASQUERADE', '"MASQUERADE"'],
      ['-p udp -m limit --limit 5/s -j ACCEPT', 'hashlimit'],
      ['-p udp -m string --string x -j DROP', '"string"'],
      ['-p tcp --dport 99999 -j DROP', '"--dport"'],
      ['-p tcp --to-destination 1.2.3.4 -j DROP', '"--to-destination"'],
      ['-p tcp --dport 22', 'no target'],
      ['-s 10.0.0.0/33 -j DROP', '/33'],
      ['-f -p udp --dport 53 -j DROP', 'fragment'],
      ['-p tcp -m hashlimit --hashlimit-above 5/min -j DROP', '"5/min"'],
      ['-p sctp -j DROP', '"-p"'],
      ['', 'empty'],
    ];
    for (const [cmd, mention] of bad) {
      const r = parseFirewallCmd(cmd);
      expect(r.ok, cmd).toBe(false);
      if (!r.ok) expect(r.reason, cmd).toContain(mention);
    }
  });
});

describe.each(['nftables', 'iptables', 'ufw', 'firewalld'] as const)('profiles on %s', (suite) => {
  let pair: NsPair;
  let ufw: UfwNs | null = null;
  let firewalld: FirewalldNs | null = null;
  const where = () => (ufw ? { prefix: ufw.prefix, ufwDir: ufw.dir } : firewalld ? { prefix: firewalld.prefix } : { prefix: pair.exec(pair.b.ns) });
  beforeAll(async () => {
    pair = createNsPair('bwk-pr');
    if (suite === 'ufw') ufw = ufwInNamespace(pair.b.ns);
    if (suite === 'firewalld') firewalld = await firewalldInNamespace(pair.b.ns);
  }, 60_000);
  afterAll(() => {
    firewalld?.destroy();
    ufw?.destroy();
    pair?.destroy();
  });
  const inNs = (ns: string, ...argv: string[]) => run('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' }).then((r) => r.stdout);

  const udpArrived = (port: number, count: number, srcPort?: number) => udpDelivered({ fromNs: pair.a.ns, toNs: pair.b.ns, to: pair.b.ip, port, count, srcPort });

  // firewalld applies a direct rule in ~20 ms, each at runtime and again permanently: every
  // set twice takes it some 160 s (run by hand, 2026-12-04: all passed). Its rules are the
  // iptables rules proven installable above, and game_server below proves it for real.
  it.skipIf(suite === 'firewalld')(
    'installs every profile and catalogue set, twice as once, and removes them all',
    async () => {
      const fw = createFirewall(suite, where());
      const sets = [...PROFILE_IDS.map((id) => profileRuleSet(id, { allowlisted: ['198.51.100.0/24', '2001:db8::/48'] })), ...CATALOGUE.map((c) => catalogueRuleSet(c.name))];
      const installable = sets.filter((s) => suite === 'nftables' || iptablesRefusal(s) === null);
      expect(installable.length).toBe(suite === 'nftables' ? sets.length : sets.length - 1); // block_fragments is nftables only
      // ufw reloads its whole firewall at each change: the profiles only there (the catalogue
      // renders as on iptables).
      if (suite === 'ufw') installable.splice(PROFILE_IDS.length);
      // What the suite holds: ufw's files, the iptables rules, the nftables table.
      const installed = async () =>
        ufw
          ? ['before.rules', 'before6.rules'].map((f) => readFileSync(join(ufw!.dir, f), 'utf8')).join('')
          : suite === 'iptables'
            ? (await inNs(pair.b.ns, 'iptables', '-w', '-S')) + (await inNs(pair.b.ns, 'ip6tables', '-w', '-S'))
            : await inNs(pair.b.ns, 'nft', 'list', 'table', 'inet', 'bulwark');
      for (const set of installable) {
        await fw.apply(set);
        const once = await installed();
        await fw.apply(set);
        expect(await installed(), `${set.name} applied twice`).toBe(once);
      }
      expect(await fw.list()).toEqual(installable.map((s) => s.name).sort());
      for (const set of installable) await fw.remove(set.name);
      expect(await fw.list()).toEqual([]);
      // Nothing of Bulwark's is left in the kernel either.
      for (const tool of ['iptables', 'ip6tables']) expect(await inNs(pair.b.ns, tool, '-w', '-S')).not.toMatch(/BULWARK|BW-|bwu-/);
      if (suite === 'nftables') expect(await inNs(pair.b.ns, 'nft', 'list', 'ruleset')).not.toContain('bulwark');
    },
    240_000,
  );

  it('game_server: players pass, a flood from one source is cut, reflection is dropped, the allowlist is untouched', async () => {
    const fw = createFirewall(suite, where());
    await fw.apply(profileRuleSet('game_server', { allowlisted: [] }));
    expect(await udpArrived(27015, 200)).toBe(200); // a player: within 300/s, burst 600
    const flood = await udpArrived(27016, 3000);
    expect(flood).toBeGreaterThan(400); // the burst
    expect(flood).toBeLessThan(1500);
    expect(await udpArrived(40000, 20, 123)).toBe(0); // unsolicited NTP "replies"
    expect(await udpArrived(40000, 20, 50123)).toBe(20); // other UDP is left to the host's firewall
    // The same flood from an allowlisted source passes whole.
    await fw.apply(profileRuleSet('game_server', { allowlisted: [`${pair.a.ip}/32`] }));
    expect(await udpArrived(27017, 3000)).toBe(3000);
    expect(await udpArrived(40000, 20, 123)).toBe(20);
    await fw.remove('profile_game_server');
    expect(await fw.list()).toEqual([]);
    if (firewalld) expect(firewalld.firewallCmd('--permanent', '--direct', '--get-all-rules').trim()).toBe('');
  }, 240_000);
});
