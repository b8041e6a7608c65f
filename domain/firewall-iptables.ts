// Rule sets as iptables-restore input (pure; the agent runs it, the API shows it in
// previews): chain BULWARK jumped to from INPUT, one chain BW-<name> per rule set, in
// iptables (IPv4) and ip6tables (IPv6) alike. A change is one iptables-restore transaction
// per family: the set's chain refilled and BULWARK's jumps rebuilt in ruleSetOrder, so no
// packet sees a chain half filled.
//
// Rate limits are hashlimit matches (`--hashlimit-above … -j DROP`: what fits the rate goes
// on to the next rule), named after ruleId: the rules one model rule becomes (several port
// lists, ICMP types) share one bucket, and a changed rate is a new table rather than the
// kernel keeping the old one under the old name.
// `accept` ends Bulwark's evaluation only, as on nftables: ACCEPT in a chain jumped to from
// INPUT would be the filter table's final verdict, skipping the host's own INPUT rules (a
// profile's game ports opened where the operator closed them). So an accept sets ACCEPTED
// in the packet mark and returns, and BULWARK returns to INPUT as soon as it is set; the
// bit stays on the accepted packet (nothing routes by an input packet's mark after INPUT).
// Fragments cannot be matched: with connection tracking loaded, iptables only ever sees
// packets after the kernel reassembled them. Such a rule set is refused.
import { icmpTypesIn, ruleFamily, ruleId, ruleSetOrder, type FirewallRule, type FirewallRuleSet, type IcmpType } from './firewall.js';
import type { NumRange } from './intent.js';

export const IPT_MAIN = 'BULWARK';
/** The packet-mark bit an accept sets (one high bit, left to Bulwark). */
export const ACCEPTED = '0x20000000';
/** Returns once an accept marked the packet: from the rule set's chain, then from BULWARK. */
export const IF_ACCEPTED = ['-m', 'mark', '--mark', `${ACCEPTED}/${ACCEPTED}`, '-j', 'RETURN'];

/** Why iptables, or a suite that carries iptables rules (ufw, firewalld), cannot apply the rule set as the model means it, or null. */
export function iptablesRefusal(set: FirewallRuleSet, suite: 'iptables' | 'ufw' | 'firewalld' = 'iptables'): string | null {
  const i = set.rules.findIndex((r) => r.fragment);
  const who = suite === 'iptables' ? 'iptables' : `${suite} (its rules are iptables rules)`;
  return i < 0 ? null : `rules[${i}] matches IP fragments, which ${who} never sees (the kernel reassembles them before its chains): use nftables`;
}

const restore = (lines: string[]) => ['*filter', ...lines, 'COMMIT', ''].join('\n');
const jumps = (names: string[]) => [`-F ${IPT_MAIN}`, ...ruleSetOrder(names).flatMap((n) => [`-A ${IPT_MAIN} -j BW-${n}`, `-A ${IPT_MAIN} ${IF_ACCEPTED.join(' ')}`])];

/** iptables-restore --noflush input installing (or replacing) a validated rule set in one family's table. */
export function iptApplyRestore(installed: string[], set: FirewallRuleSet, v6: boolean): string {
  const chain = `BW-${set.name}`;
  const rules = iptRules(set, v6).map((args) => restoreLine(['-A', chain, ...args]));
  return restore([`:${IPT_MAIN} - [0:0]`, `:${chain} - [0:0]`, `-F ${chain}`, ...rules, ...jumps([...new Set([...installed, set.name])])]);
}

/** iptables-restore --noflush input removing a rule set (and BULWARK with the last one; INPUT's jump to it must go first). */
export function iptRemoveRestore(installed: string[], name: string): string {
  const rest = installed.filter((n) => n !== name);
  return restore([...jumps(rest), `-F BW-${name}`, `-X BW-${name}`, ...(rest.length === 0 ? [`-X ${IPT_MAIN}`] : [])]);
}

/** An argument list as an iptables-restore line: comments (which hold no double quote or backslash) in double quotes unless plain words. */
export const restoreLine = (args: string[]) => args.map((a) => (/^[\w.,:/+=%!-]+$/.test(a) ? a : `"${a}"`)).join(' ');

/** ip6tables' spelling where it is not the model's. */
const ICMP6_NAMES: Partial<Record<IcmpType, string>> = { 'neighbor-solicitation': 'neighbour-solicitation', 'neighbor-advertisement': 'neighbour-advertisement' };

/** multiport takes 15 ports, a range counting two: longer lists become several rules. */
function portChunks(ranges: NumRange[]): NumRange[][] {
  const chunks: NumRange[][] = [[]];
  let used = 0;
  for (const p of ranges) {
    const cost = p.from === p.to ? 1 : 2;
    if (used + cost > 15) {
      chunks.push([]);
      used = 0;
    }
    chunks.at(-1)!.push(p);
    used += cost;
  }
  return chunks;
}
const iptPorts = (ranges: NumRange[]) => ranges.map((p) => (p.from === p.to ? String(p.from) : `${p.from}:${p.to}`)).join(',');
const flags = (f: string[]) => (f.length ? f.map((x) => x.toUpperCase()).join(',') : 'NONE');

const ACCEPT = ['-j', 'MARK', '--or-mark', ACCEPTED];

/** The rule set as iptables argument lists for one family's chain. */
export function iptRules(set: FirewallRuleSet, v6: boolean): string[][] {
  const out: string[][] = [];
  for (const [i, r] of set.rules.entries()) {
    const family = ruleFamily(r);
    if (family !== null && family === 4 === v6) continue;
    const sources = r.sources ? r.sources.filter((s) => s.includes(':') === v6) : [r.source];
    if (sources.length === 0) continue;
    let icmp: Array<string | undefined> = [undefined];
    if (r.icmpTypes) {
      icmp = icmpTypesIn(r.icmpTypes, v6 ? 6 : 4).map((t) => (v6 ? (ICMP6_NAMES[t] ?? t) : t));
      if (icmp.length === 0) continue;
    }
    const target = iptTarget(set.name, i, r);
    for (const source of sources)
      for (const type of icmp)
        for (const sp of r.sourcePorts ? portChunks(r.sourcePorts) : [undefined])
          for (const dp of r.destinationPorts ? portChunks(r.destinationPorts) : [undefined]) {
            const m: string[] = [];
            if (source) m.push('-s', source);
            if (r.destination) m.push('-d', r.destination);
            if (r.protocol) m.push('-p', r.protocol === 'icmp' ? (v6 ? 'ipv6-icmp' : 'icmp') : r.protocol);
            if (r.tcpFlags) m.push('-m', 'tcp', '--tcp-flags', flags(r.tcpFlags.mask), flags(r.tcpFlags.set));
            if (type) m.push(v6 ? '--icmpv6-type' : '--icmp-type', type);
            if (sp) m.push('-m', 'multiport', '--sports', iptPorts(sp));
            if (dp) m.push('-m', 'multiport', '--dports', iptPorts(dp));
            if (r.state) m.push('-m', 'conntrack', '--ctstate', r.state.map((s) => s.toUpperCase()).join(','));
            if (r.length) m.push('-m', 'length', '--length', r.length.from === r.length.to ? String(r.length.from) : `${r.length.from}:${r.length.to}`);
            if (r.title) m.push('-m', 'comment', '--comment', r.title.replace(/[^\x20-\x7e]|["\\]/g, '?').slice(0, 255));
            out.push([...m, ...target]);
            if (r.action === 'accept') out.push(IF_ACCEPTED);
          }
  }
  return out;
}

function iptTarget(setName: string, index: number, r: FirewallRule): string[] {
  switch (r.action) {
    case 'accept':
      return ACCEPT;
    case 'drop':
      return ['-j', 'DROP'];
    case 'reject':
      return r.protocol === 'tcp' ? ['-j', 'REJECT', '--reject-with', 'tcp-reset'] : ['-j', 'REJECT'];
    case 'rate_limit': {
      // hashlimit names take 15 characters.
      const name = `bw${ruleId(setName, index, r).slice(0, 13)}`;
      return [
        '-m', 'hashlimit', '--hashlimit-above', `${r.ratePps}/sec`, '--hashlimit-burst', String(r.burst ?? r.ratePps),
        ...(r.perSource ? ['--hashlimit-mode', 'srcip'] : []),
        '--hashlimit-name', name, '-j', 'DROP',
      ];
    }
  }
}
