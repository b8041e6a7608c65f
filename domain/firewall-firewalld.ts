// Rule sets for firewalld (pure; the agent makes the changes, agent/firewalld-client.ts): firewalld's zones,
// policies and rich rules cannot express the model (connection state, TCP flags, per-source
// limits, packet length), so Bulwark uses the interface firewalld documents for rules they
// cannot: its direct interface, whose rules are iptables rules that firewalld owns, keeps in
// its permanent configuration (direct.xml) and restores on every reload. The rules are the
// iptables renderer's (domain/firewall-iptables.ts: the same matches, limits and
// accept-ends-Bulwark's-evaluation), in direct chains of Bulwark's own: BULWARK, jumped to
// first from INPUT, and one chain per rule set. Direct rules run before firewalld's zones
// (its nftables table hooks in after iptables' filter table), so a Bulwark accept still
// leaves the packet to the zones, as on the other suites.
//
// firewalld orders a chain's direct rules by priority alone, and changes one rule at a time;
// so each rule gets a priority of its own, and a rule set is replaced without a half-filled
// moment: its new rules fill a fresh chain of the other generation (BWa-<name> / BWb-<name>)
// before BULWARK's jump moves to it.
import { IF_ACCEPTED, iptRules } from './firewall-iptables.js';
import { ruleSetOrder, type FirewallRuleSet } from './firewall.js';

export type DirectFamily = 'ipv4' | 'ipv6';
export const DIRECT_FAMILIES: readonly DirectFamily[] = ['ipv4', 'ipv6'];
/** A chain's generation: a replacement fills the other one. */
export type Generation = 'a' | 'b';

/** One direct rule, as firewall-cmd takes it after `--add-rule` (the table is always filter). */
export interface DirectRule {
  family: DirectFamily;
  chain: string;
  priority: number;
  args: string[];
}

export const DIRECT_MAIN = 'BULWARK';
/** INPUT's jump to BULWARK comes before any other direct rule there (the user's included). */
const INPUT_PRIORITY = -32768;

export const setChain = (name: string, gen: Generation) => `BW${gen}-${name}`;
export const otherGeneration = (gen: Generation | undefined): Generation => (gen === 'a' ? 'b' : 'a');

/** The rule set's rules in its chain of generation `gen`, both families. */
export function directSetRules(set: FirewallRuleSet, gen: Generation): DirectRule[] {
  const chain = setChain(set.name, gen);
  return DIRECT_FAMILIES.flatMap((family) => iptRules(set, family === 'ipv6').map((args, priority) => ({ family, chain, priority, args })));
}

/**
 * BULWARK's jumps to the installed sets' chains (name -> generation) in ruleSetOrder, each
 * followed by the return of what a set accepted, and INPUT's jump to BULWARK; none when no
 * set is installed.
 */
export function directJumps(installed: Map<string, Generation>): DirectRule[] {
  if (installed.size === 0) return [];
  return DIRECT_FAMILIES.flatMap((family) => [
    { family, chain: 'INPUT', priority: INPUT_PRIORITY, args: ['-j', DIRECT_MAIN] },
    ...ruleSetOrder([...installed.keys()]).flatMap((name, i) => [
      { family, chain: DIRECT_MAIN, priority: 2 * i, args: ['-j', setChain(name, installed.get(name)!)] },
      { family, chain: DIRECT_MAIN, priority: 2 * i + 1, args: IF_ACCEPTED },
    ]),
  ]);
}

/** Bulwark's set chains in `firewall-cmd [--permanent] --direct --get-all-chains` output: name -> generations present (both after a crash mid-replacement). */
export function parseDirectChains(text: string): Map<string, Generation[]> {
  const sets = new Map<string, Generation[]>();
  for (const m of text.matchAll(/^ipv4 filter BW([ab])-([a-z0-9_]+)$/gm)) sets.set(m[2]!, [...(sets.get(m[2]!) ?? []), m[1] as Generation]);
  return sets;
}

/** The rule's words as `--get-all-rules` prints them (jumps hold no quoting). */
export const directRuleKey = (r: DirectRule) => `${r.family} filter ${r.chain} ${r.priority} ${r.args.join(' ')}`;

/** Bulwark's jump rules (in INPUT and BULWARK) in `--get-all-rules` output, by directRuleKey. */
export function parseDirectJumps(text: string): DirectRule[] {
  const out: DirectRule[] = [];
  for (const m of text.matchAll(/^(ipv[46]) filter (INPUT|BULWARK) (-?\d+) (.+)$/gm)) {
    const args = m[4]!.split(' ');
    if (m[2] === 'INPUT' && args.join(' ') !== `-j ${DIRECT_MAIN}`) continue; // the user's own
    out.push({ family: m[1] as DirectFamily, chain: m[2]!, priority: Number(m[3]), args });
  }
  return out;
}

/** What the agent does for a rule set first installed, as the firewall-cmd command lines that do the same (each again with --permanent). */
export function firewalldPreview(set: FirewallRuleSet): string {
  const q = (a: string) => (/^[\w.,:/+=%!-]+$/.test(a) ? a : `'${a}'`);
  const chains = DIRECT_FAMILIES.flatMap((f) => [DIRECT_MAIN, setChain(set.name, 'a')].map((c) => `firewall-cmd --direct --add-chain ${f} filter ${c}`));
  const rules = [...directSetRules(set, 'a'), ...directJumps(new Map([[set.name, 'a']]))].map((r) => `firewall-cmd --direct --add-rule ${r.family} filter ${r.chain} ${r.priority} ${r.args.map(q).join(' ')}`);
  return [...chains, ...rules].join('\n');
}
