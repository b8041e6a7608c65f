// Firewall rule sets applied with the real nftables and iptables inside a namespace, and
// checked by what they do to real packets crossing a veth pair.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirewall, type Firewall } from '../agent/firewall.js';
import { validateRuleSet } from '../domain/firewall.js';
import { createNsPair, type NsPair } from './support/netns.js';
import { udpDelivered } from './support/udp-delivered.js';

const run = promisify(execFile);
let pair: NsPair;

beforeAll(() => {
  pair = createNsPair('bwk-fw');
});
afterAll(() => pair?.destroy());

const inB = (cmd: string, ...args: string[]) => run('ip', ['netns', 'exec', pair.b.ns, cmd, ...args], { encoding: 'utf8' }).then((r) => r.stdout);

/** UDP datagrams namespace b took in of `count` sent from a: what the firewall let through. */
const udpArrived = (port: number, count = 50) => udpDelivered({ fromNs: pair.a.ns, toNs: pair.b.ns, to: pair.b.ip, port, count });

describe('rule set validation', () => {
  it('refuses what cannot be a safe rule set', () => {
    const bad: Array<[unknown, string]> = [
      [{ name: 'Bad Name', rules: [] }, 'name'],
      [{ name: 'x'.repeat(25), rules: [] }, 'name'],
      [{ name: 'ok', rules: [{ action: 'explode' }] }, 'action'],
      [{ name: 'ok', rules: [{ action: 'drop', destinationPorts: [{ from: 1, to: 2 }] }] }, 'ports need protocol'],
      [{ name: 'ok', rules: [{ action: 'drop', protocol: 'udp', destinationPorts: [{ from: 2, to: 70000 }] }] }, '0-65535'],
      [{ name: 'ok', rules: [{ action: 'drop', source: '10.0.0.300/8' }] }, 'source'],
      [{ name: 'ok', rules: [{ action: 'rate_limit' }] }, 'ratePps'],
      [{ name: 'ok', rules: [{ action: 'drop', ratePps: 5 }] }, 'ratePps'],
      [{ name: 'ok', rules: [{ action: 'drop', protocol: 'udp; reboot' }] }, 'protocol'],
      [{ name: 'ok', rules: [{ action: 'drop', source: '192.0.2.1', sources: ['192.0.2.2'] }] }, 'not both'],
      [{ name: 'ok', rules: [{ action: 'drop', sources: [] }] }, 'sources'],
      [{ name: 'ok', rules: [{ action: 'drop', sources: ['192.0.2.0/24', 'nope'] }] }, 'sources[1]'],
      [{ name: 'ok', rules: [{ action: 'rate_limit', ratePps: 5, sources: ['192.0.2.0/24'] }] }, 'one source'],
    ];
    for (const [set, mention] of bad) {
      const r = validateRuleSet(set as never);
      expect(r.ok, JSON.stringify(set)).toBe(false);
      if (!r.ok) expect(r.reason).toContain(mention);
    }
    expect(validateRuleSet({ name: 'ok', rules: [{ action: 'drop', source: '198.51.100.7' }] })).toEqual({ ok: true, set: { name: 'ok', rules: [{ action: 'drop', source: '198.51.100.7/32' }] } });
  });
});

describe.each(['nftables', 'iptables'] as const)('%s', (suite) => {
  let fw: Firewall;
  beforeAll(() => {
    fw = createFirewall(suite, { prefix: ['ip', 'netns', 'exec', pair.b.ns] });
  });

  it('drops what the rule set names, idempotently, and removes only its own rules', async () => {
    // Someone else's rules, which must survive.
    if (suite === 'nftables') await inB('nft', 'add table inet theirs ; add chain inet theirs input { type filter hook input priority 0 ; } ; add rule inet theirs input tcp dport 22 accept');
    else await inB('iptables', '-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT');
    const theirs = () => (suite === 'nftables' ? inB('nft', 'list', 'table', 'inet', 'theirs') : inB('iptables', '-w', '-S', 'INPUT').then((s) => s.split('\n').filter((l) => l.includes('--dport 22')).join('\n')));
    const before = await theirs();
    expect(before).toContain('22');

    expect(await udpArrived(9999)).toBe(50);
    const set = { name: 'udp_block', rules: [{ action: 'drop' as const, protocol: 'udp' as const, destinationPorts: [{ from: 9999, to: 9999 }, { from: 7000, to: 7100 }] }] };
    await fw.apply(set);
    await fw.apply(set); // twice is once
    expect(await fw.list()).toEqual(['udp_block']);
    expect(await udpArrived(9999)).toBe(0);
    expect(await udpArrived(7050)).toBe(0);
    expect(await udpArrived(9998)).toBe(50);

    // A second set by source, then the first removed: the second still works.
    await fw.apply({ name: 'bad_source', rules: [{ action: 'drop', source: `${pair.a.ip}/32`, protocol: 'udp', destinationPorts: [{ from: 5000, to: 5000 }] }] });
    expect((await fw.list()).sort()).toEqual(['bad_source', 'udp_block']);
    await fw.remove('udp_block');
    await fw.remove('udp_block'); // removing twice is removing once
    expect(await fw.list()).toEqual(['bad_source']);
    expect(await udpArrived(9999)).toBe(50);
    expect(await udpArrived(5000)).toBe(0);

    await fw.remove('bad_source');
    expect(await fw.list()).toEqual([]);
    expect(await udpArrived(5000)).toBe(50);
    expect(await theirs()).toBe(before);
    if (suite === 'nftables') await expect(inB('nft', 'list', 'table', 'inet', 'bulwark')).rejects.toThrow();
    else expect(await inB('iptables', '-w', '-S')).not.toContain('BULWARK');
  });

  it('drops from a long list of sources in one rule (a country, for geo lockdown)', async () => {
    // 20,000 IPv4 /24s and some IPv6 prefixes, as large as a mid-sized country's list.
    const many = [
      ...Array.from({ length: 20_000 }, (_, i) => `20.${i >> 8}.${i & 255}.0/24`),
      ...Array.from({ length: 500 }, (_, i) => `2001:db8:${i.toString(16)}::/48`),
    ];
    await fw.apply({ name: 'geo_lockdown', rules: [{ action: 'drop', sources: [...many, `${pair.a.ip}/32`] }] });
    expect(await udpArrived(6000)).toBe(0);
    // Applied again without the sender: the same rule set, replaced whole.
    await fw.apply({ name: 'geo_lockdown', rules: [{ action: 'drop', sources: many }] });
    expect(await udpArrived(6000)).toBe(50);
    await fw.remove('geo_lockdown');
    expect(await fw.list()).toEqual([]);
  });

  it('rate-limits', async () => {
    await fw.apply({ name: 'limit_udp', rules: [{ action: 'rate_limit', protocol: 'udp', destinationPorts: [{ from: 9000, to: 9000 }], ratePps: 10 }] });
    const through = await udpArrived(9000, 200);
    // A burst of 200 in well under a second: about the limit (plus its burst) gets through.
    expect(through).toBeGreaterThan(0);
    expect(through).toBeLessThan(60);
    await fw.remove('limit_udp');
    expect(await udpArrived(9000, 200)).toBe(200);
  });
});
