// Applies and removes named firewall rule sets (domain/firewall.ts) with nftables or
// iptables, in a table/chain of Bulwark's own: applying twice is applying once, and
// removing touches nothing but what Bulwark installed.
//   nftables: table inet bulwark, base chain `input` (hook input, priority -10) jumping to
//             one chain per rule set, rs_<name>; each change is one atomic `nft -f -`.
//   iptables: chain BULWARK jumped to from INPUT, one chain BW-<name> per rule set, in
//             iptables (IPv4) and ip6tables (IPv6) alike.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { validateRuleSet, type FirewallRule, type FirewallRuleSet, type FirewallSuite } from '../domain/firewall.js';
import type { NumRange } from '../domain/intent.js';

const run = promisify(execFile);

export interface Firewall {
  apply(set: FirewallRuleSet): Promise<void>;
  remove(name: string): Promise<void>;
  /** Names of the rule sets installed now. */
  list(): Promise<string[]>;
}

export interface FirewallOptions {
  /** argv prefix for the tools, e.g. ["ip", "netns", "exec", "ns1"] (tests). */
  prefix?: string[];
}

export function createFirewall(suite: FirewallSuite, opts: FirewallOptions = {}): Firewall {
  const exec = async (cmd: string, args: string[], input?: string) => {
    const argv = [...(opts.prefix ?? []), cmd, ...args];
    const child = run(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    if (input !== undefined) {
      child.child.stdin!.end(input);
    }
    try {
      return (await child).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`);
    }
  };
  const checked = (set: FirewallRuleSet) => {
    const v = validateRuleSet(set);
    if (!v.ok) throw new Error(`invalid rule set: ${v.reason}`);
    return v.set;
  };
  if (suite === 'nftables') return nftables(exec, checked);
  if (suite === 'iptables') return iptables(exec, checked);
  throw new Error(`firewall suite ${suite} is not supported by this agent yet`);
}

type Exec = (cmd: string, args: string[], input?: string) => Promise<string>;
type Check = (set: FirewallRuleSet) => FirewallRuleSet;

// ---------- nftables ----------

const TABLE = 'inet bulwark';

function nftables(exec: Exec, checked: Check): Firewall {
  async function installed(): Promise<string[]> {
    let out: string;
    try {
      out = await exec('nft', ['-j', 'list', 'table', 'inet', 'bulwark']);
    } catch {
      return []; // no table yet
    }
    const items = (JSON.parse(out) as { nftables: Array<{ chain?: { name: string } }> }).nftables;
    return items.flatMap((i) => (i.chain && i.chain.name.startsWith('rs_') ? [i.chain.name.slice(3)] : [])).sort();
  }

  /** The base chain, rebuilt to jump to exactly `names`. */
  function base(names: string[]): string[] {
    return [
      `add table ${TABLE}`,
      `add chain ${TABLE} input { type filter hook input priority -10; policy accept; }`,
      `flush chain ${TABLE} input`,
      ...names.map((n) => `add rule ${TABLE} input jump rs_${n}`),
    ];
  }

  return {
    list: installed,
    async apply(input) {
      const set = checked(input);
      const names = [...new Set([...(await installed()), set.name])].sort();
      const script = [
        `add table ${TABLE}`,
        `add chain ${TABLE} rs_${set.name}`,
        `flush chain ${TABLE} rs_${set.name}`,
        ...set.rules.flatMap((r) => nftRules(r).map((rule) => `add rule ${TABLE} rs_${set.name} ${rule}`)),
        ...base(names),
      ];
      await exec('nft', ['-f', '-'], script.join('\n') + '\n');
    },
    async remove(name) {
      const names = await installed();
      if (!names.includes(name)) return;
      const rest = names.filter((n) => n !== name);
      const script = rest.length > 0 ? [...base(rest), `delete chain ${TABLE} rs_${name}`] : [`delete table ${TABLE}`];
      await exec('nft', ['-f', '-'], script.join('\n') + '\n');
    },
  };
}

const nftPorts = (ranges: NumRange[]) => {
  const items = ranges.map((p) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`));
  return items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`;
};

/** One rule, or one per address family when it lists many sources (an anonymous interval set each). */
function nftRules(r: FirewallRule): string[] {
  if (!r.sources) return [nftRule(r, r.source ? `${r.source.includes(':') ? 'ip6' : 'ip'} saddr ${r.source}` : null)];
  const v4 = r.sources.filter((s) => !s.includes(':'));
  const v6 = r.sources.filter((s) => s.includes(':'));
  return [
    ...(v4.length ? [nftRule(r, `ip saddr { ${v4.join(', ')} }`)] : []),
    ...(v6.length ? [nftRule(r, `ip6 saddr { ${v6.join(', ')} }`)] : []),
  ];
}

function nftRule(r: FirewallRule, sourceMatch: string | null): string {
  const parts: string[] = [];
  if (sourceMatch) parts.push(sourceMatch);
  if (r.protocol === 'icmp') parts.push('meta l4proto { icmp, ipv6-icmp }');
  else if (r.protocol) {
    if (!r.sourcePorts?.length && !r.destinationPorts?.length) parts.push(`meta l4proto ${r.protocol}`);
    if (r.sourcePorts?.length) parts.push(`${r.protocol} sport ${nftPorts(r.sourcePorts)}`);
    if (r.destinationPorts?.length) parts.push(`${r.protocol} dport ${nftPorts(r.destinationPorts)}`);
  }
  parts.push('counter');
  if (r.action === 'rate_limit') parts.push(`limit rate over ${r.ratePps}/second drop`);
  else parts.push(r.action);
  return parts.join(' ');
}

// ---------- iptables ----------

const MAIN = 'BULWARK';

function iptables(exec: Exec, checked: Check): Firewall {
  const tools = ['iptables', 'ip6tables'] as const;
  const ipt = (tool: string, args: string[]) => exec(tool, ['-w', ...args]);
  const exists = (tool: string, args: string[]) => ipt(tool, args).then(
    () => true,
    () => false,
  );

  async function installed(tool = 'iptables'): Promise<string[]> {
    const out = await ipt(tool, ['-S']).catch(() => '');
    return [...out.matchAll(/^-N BW-([a-z0-9_]+)$/gm)].map((m) => m[1]!).sort();
  }

  return {
    list: () => installed(),
    async apply(input) {
      const set = checked(input);
      const chain = `BW-${set.name}`;
      for (const tool of tools) {
        const v6 = tool === 'ip6tables';
        if (!(await exists(tool, ['-S', MAIN]))) await ipt(tool, ['-N', MAIN]);
        if (!(await exists(tool, ['-C', 'INPUT', '-j', MAIN]))) await ipt(tool, ['-I', 'INPUT', '1', '-j', MAIN]);
        if (!(await exists(tool, ['-S', chain]))) await ipt(tool, ['-N', chain]);
        // Flush and refill in one iptables-restore transaction: thousands of rules (a
        // country's prefixes) in one call, and no moment with the chain half filled.
        const lines = set.rules.flatMap((r) => iptRules(r, v6)).map((args) => ['-A', chain, ...args].join(' '));
        await exec(`${tool}-restore`, ['-w', '--noflush'], ['*filter', `-F ${chain}`, ...lines, 'COMMIT', ''].join('\n'));
        if (!(await exists(tool, ['-C', MAIN, '-j', chain]))) await ipt(tool, ['-A', MAIN, '-j', chain]);
      }
    },
    async remove(name) {
      const chain = `BW-${name}`;
      for (const tool of tools) {
        if (!(await exists(tool, ['-S', chain]))) continue;
        while (await exists(tool, ['-C', MAIN, '-j', chain])) await ipt(tool, ['-D', MAIN, '-j', chain]);
        await ipt(tool, ['-F', chain]);
        await ipt(tool, ['-X', chain]);
        if ((await installed(tool)).length === 0) {
          while (await exists(tool, ['-C', 'INPUT', '-j', MAIN])) await ipt(tool, ['-D', 'INPUT', '-j', MAIN]);
          await ipt(tool, ['-F', MAIN]);
          await ipt(tool, ['-X', MAIN]);
        }
      }
    },
  };
}

const iptPorts = (ranges: NumRange[]) => ranges.map((p) => (p.from === p.to ? String(p.from) : `${p.from}:${p.to}`)).join(',');

/** A rule as iptables argument lists for one family's table: one per source it lists (none
 *  when its sources are all of the other family). */
function iptRules(r: FirewallRule, v6: boolean): string[][] {
  const sources = r.sources ?? (r.source ? [r.source] : [undefined]);
  return sources.filter((s) => s === undefined || s.includes(':') === v6).flatMap((s) => iptRule(r, s, v6));
}

/** One rule as iptables arguments; rate_limit is two: what fits the limit returns, the rest drops. */
function iptRule(r: FirewallRule, source: string | undefined, v6: boolean): string[][] {
  const match: string[] = [];
  if (source) match.push('-s', source);
  if (r.protocol) match.push('-p', r.protocol === 'icmp' ? (v6 ? 'ipv6-icmp' : 'icmp') : r.protocol);
  if (r.sourcePorts?.length) match.push('-m', 'multiport', '--sports', iptPorts(r.sourcePorts));
  if (r.destinationPorts?.length) match.push('-m', 'multiport', '--dports', iptPorts(r.destinationPorts));
  if (r.action === 'rate_limit') {
    const rate = String(r.ratePps);
    return [
      [...match, '-m', 'limit', '--limit', `${rate}/second`, '--limit-burst', rate, '-j', 'RETURN'],
      [...match, '-j', 'DROP'],
    ];
  }
  return [[...match, '-j', r.action === 'drop' ? 'DROP' : 'ACCEPT']];
}
