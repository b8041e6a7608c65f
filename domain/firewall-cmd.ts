// The reference's custom profile rules are iptables-style commands ("-p udp --dport 27015
// -j ACCEPT"). They are parsed here, with a strict grammar, into the typed rule model and
// never reach a shell: anything outside the grammar is refused, naming the token. Pure.
//
//   [iptables] [-A INPUT | -I INPUT [n]] option... -j DROP|ACCEPT|REJECT [--reject-with tcp-reset]
//   options: -p tcp|udp|icmp|ipv6-icmp, -s/-d prefix, --sport/--dport n[:m],
//            -m multiport --sports/--dports list, -m tcp|udp|icmp (no-op), --syn,
//            --tcp-flags MASK SET, -f, -m conntrack --ctstate / -m state --state,
//            -m length --length n[:m], --icmp-type / --icmpv6-type name,
//            -m hashlimit --hashlimit-above N/s [--hashlimit-burst N]
//              [--hashlimit-mode srcip] [--hashlimit-name x] -j DROP  (a rate limit),
//            -m comment --comment word (the title, when none is given)
import { CT_STATES, ICMP_TYPES, TCP_FLAGS, validateRuleSet, type CtState, type FirewallRule, type IcmpType, type TcpFlag } from './firewall.js';
import type { NumRange } from './intent.js';

export type ParsedCmd = { ok: true; rule: FirewallRule } | { ok: false; reason: string };

/** What a token may be made of: no quotes, no shell metacharacters, no spaces. */
const TOKEN = /^[A-Za-z0-9_.:,/+-]+$/;
const MAX_CMD = 512;

/** ip6tables' spellings of the model's ICMP types. */
const ICMP_ALIASES: Record<string, IcmpType> = { 'neighbour-solicitation': 'neighbor-solicitation', 'neighbour-advertisement': 'neighbor-advertisement' };
const LIMIT_ADVICE = (where: string) =>
  `${where}: -m limit accepts up to a rate and leaves the rest to later rules; use -m hashlimit --hashlimit-above N/sec -j DROP (drops what exceeds the rate; per source with --hashlimit-mode srcip)`;

export function parseFirewallCmd(cmd: string, title?: string): ParsedCmd {
  if (typeof cmd !== 'string' || cmd.trim() === '') return { ok: false, reason: 'is empty' };
  if (cmd.length > MAX_CMD) return { ok: false, reason: `is longer than ${MAX_CMD} characters` };
  const tokens = cmd.trim().split(/\s+/);
  const bad = tokens.find((t) => !TOKEN.test(t));
  if (bad !== undefined) return { ok: false, reason: `token "${bad}" has characters a rule never needs (quotes, shell syntax, spaces inside a word): write one option or value per word` };

  const rule: Partial<FirewallRule> & { action?: FirewallRule['action'] } = {};
  let i = 0;
  const fail = (reason: string): ParsedCmd => ({ ok: false, reason });
  const at = (t: string) => `"${t}" (word ${tokens.indexOf(t) + 1})`;
  const value = (opt: string): string | null => {
    const v = tokens[i + 1];
    if (v === undefined || v.startsWith('-')) return null;
    i += 2;
    return v;
  };
  const port = (t: string): NumRange | null => {
    const m = /^(\d{1,5})(?::(\d{1,5}))?$/.exec(t);
    if (!m) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    return from <= to && to <= 65535 ? { from, to } : null;
  };
  const flags = (t: string): TcpFlag[] | null => {
    if (t === 'NONE') return [];
    if (t === 'ALL') return [...TCP_FLAGS];
    const list = t.toLowerCase().split(',');
    return list.every((f) => (TCP_FLAGS as readonly string[]).includes(f)) ? (list as TcpFlag[]) : null;
  };
  let hashlimit: { above?: number; burst?: number; perSource?: boolean } | null = null;
  let rejectWith: string | null = null;

  if (tokens[0] === 'iptables') i = 1;
  if (tokens[i] === '-A' || tokens[i] === '--append' || tokens[i] === '-I' || tokens[i] === '--insert') {
    const chain = tokens[i + 1];
    if (chain !== 'INPUT') return fail(`chain ${at(chain ?? tokens[i]!)}: only INPUT is supported (Bulwark filters what enters the host)`);
    i += 2;
    if (tokens[i - 2]!.startsWith('-I') || tokens[i - 2] === '--insert') if (/^\d+$/.test(tokens[i] ?? '')) i++;
  }
  while (i < tokens.length) {
    const t = tokens[i]!;
    switch (t) {
      case '-p':
      case '--protocol': {
        const v = value(t);
        const p = v === 'ipv6-icmp' || v === 'icmpv6' ? 'icmp' : v;
        if (p !== 'tcp' && p !== 'udp' && p !== 'icmp') return fail(`${at(t)} takes tcp, udp, icmp or ipv6-icmp`);
        rule.protocol = p;
        continue;
      }
      case '-s':
      case '--source':
      case '-d':
      case '--destination': {
        const v = value(t);
        if (v === null) return fail(`${at(t)} needs an address or prefix`);
        if (t.startsWith('-s') || t === '--source') rule.source = v;
        else rule.destination = v;
        continue;
      }
      case '--sport':
      case '--source-port':
      case '--dport':
      case '--destination-port': {
        const v = value(t);
        const p = v === null ? null : port(v);
        if (p === null) return fail(`${at(t)} needs a port or range (27015 or 27015:27030)`);
        if (t === '--sport' || t === '--source-port') rule.sourcePorts = [p];
        else rule.destinationPorts = [p];
        continue;
      }
      case '--sports':
      case '--dports': {
        const v = value(t);
        const list = v === null ? null : v.split(',').map(port);
        if (list === null || list.some((p) => p === null)) return fail(`${at(t)} needs a list of ports or ranges (80,443,8000:8100)`);
        if (t === '--sports') rule.sourcePorts = list as NumRange[];
        else rule.destinationPorts = list as NumRange[];
        continue;
      }
      case '-m':
      case '--match': {
        const v = value(t);
        if (v === 'limit') return fail(LIMIT_ADVICE(at(v)));
        if (v === null || !['multiport', 'tcp', 'udp', 'icmp', 'icmp6', 'conntrack', 'state', 'length', 'hashlimit', 'comment'].includes(v)) {
          return fail(`${at(v ?? t)}: the match modules supported are multiport, tcp, udp, icmp, conntrack, state, length, hashlimit and comment`);
        }
        if (v === 'hashlimit') hashlimit = {};
        continue;
      }
      case '--syn':
        rule.tcpFlags = { mask: ['syn', 'ack', 'rst', 'fin'], set: ['syn'] };
        i++;
        continue;
      case '--tcp-flags': {
        const mask = tokens[i + 1] === undefined ? null : flags(tokens[i + 1]!);
        const set = tokens[i + 2] === undefined ? null : flags(tokens[i + 2]!);
        if (!mask || !set) return fail(`${at(t)} needs a mask and the flags set in it (SYN,ACK,RST,FIN SYN)`);
        rule.tcpFlags = { mask, set };
        i += 3;
        continue;
      }
      case '-f':
      case '--fragment':
        rule.fragment = true;
        i++;
        continue;
      case '--ctstate':
      case '--state': {
        const v = value(t);
        const list = v?.toLowerCase().split(',');
        if (!list || !list.every((s) => (CT_STATES as readonly string[]).includes(s))) return fail(`${at(t)} takes states among NEW, ESTABLISHED, RELATED, INVALID`);
        rule.state = list as CtState[];
        continue;
      }
      case '--length': {
        const v = value(t);
        const p = v === null ? null : port(v);
        if (p === null) return fail(`${at(t)} needs a length or range in bytes (0:100)`);
        rule.length = p;
        continue;
      }
      case '--icmp-type':
      case '--icmpv6-type': {
        const v = value(t);
        const type = v === null ? undefined : (ICMP_ALIASES[v] ?? ICMP_TYPES.find((x) => x === v));
        if (!type) return fail(`${at(t)} takes a type among ${ICMP_TYPES.join(', ')}`);
        rule.protocol ??= 'icmp';
        rule.icmpTypes = [...(rule.icmpTypes ?? []), type];
        continue;
      }
      case '--hashlimit-above':
      case '--hashlimit-burst':
      case '--hashlimit-mode':
      case '--hashlimit-name': {
        if (!hashlimit) return fail(`${at(t)} needs -m hashlimit before it`);
        const v = value(t);
        if (v === null) return fail(`${at(t)} needs a value`);
        if (t === '--hashlimit-above') {
          const m = /^(\d+)\/(s|sec|second)$/.exec(v);
          if (!m) return fail(`${at(v)}: give the rate in packets per second (100/sec)`);
          hashlimit.above = Number(m[1]);
        } else if (t === '--hashlimit-burst') {
          if (!/^\d+$/.test(v)) return fail(`${at(v)}: the burst is a number of packets`);
          hashlimit.burst = Number(v);
        } else if (t === '--hashlimit-mode') {
          if (v !== 'srcip') return fail(`${at(v)}: the mode supported is srcip (a limit per source address)`);
          hashlimit.perSource = true;
        } // --hashlimit-name: Bulwark names its own tables.
        continue;
      }
      case '--comment': {
        const v = value(t);
        if (v === null) return fail(`${at(t)} needs one word (give a longer title in "title")`);
        rule.title ??= v;
        continue;
      }
      case '-j':
      case '--jump': {
        const v = value(t);
        if (v !== 'DROP' && v !== 'ACCEPT' && v !== 'REJECT') return fail(`${at(v ?? t)}: the targets supported are DROP, ACCEPT and REJECT`);
        rule.action = v === 'DROP' ? 'drop' : v === 'ACCEPT' ? 'accept' : 'reject';
        continue;
      }
      case '--reject-with': {
        const v = value(t);
        if (v !== 'tcp-reset' && v !== 'icmp-port-unreachable') return fail(`${at(v ?? t)}: REJECT answers with tcp-reset (TCP) or icmp-port-unreachable`);
        rejectWith = v;
        continue;
      }
      default:
        if (t === '--limit' || t === '--limit-burst') return fail(LIMIT_ADVICE(at(t)));
        return fail(`${at(t)} is not an option this grammar knows`);
    }
  }
  if (!rule.action) return fail('has no target: end it with -j DROP, -j ACCEPT or -j REJECT');
  if (rejectWith && rule.action !== 'reject') return fail('--reject-with goes with -j REJECT');
  if (rejectWith === 'tcp-reset' && rule.protocol !== 'tcp') return fail('--reject-with tcp-reset needs -p tcp');
  if (hashlimit) {
    if (hashlimit.above === undefined) return fail('-m hashlimit needs --hashlimit-above N/sec');
    if (rule.action !== 'drop') return fail('-m hashlimit --hashlimit-above goes with -j DROP (what exceeds the rate is dropped)');
    rule.action = 'rate_limit';
    rule.ratePps = hashlimit.above;
    if (hashlimit.burst !== undefined) rule.burst = hashlimit.burst;
    if (hashlimit.perSource) rule.perSource = true;
  }
  if (title !== undefined) rule.title = title;
  // The model's own checks (prefixes, families, what a fragment can match) have the last word.
  const v = validateRuleSet({ name: 'custom', rules: [rule as FirewallRule] });
  if (!v.ok) return fail(v.reason.replace(/^rules\[0\]\.?:? ?/, ''));
  return { ok: true, rule: v.set.rules[0]! };
}
