// Rule sets for ufw (pure; the agent writes the files and reloads ufw): ufw takes custom
// rules in its before.rules and before6.rules (iptables-restore syntax, loaded on every
// `ufw reload`), so Bulwark keeps one marked block of its own there, right after ufw's
// required chain declarations: chain bwu-input, jumped to first from ufw-before-input (ufw6- in before6.rules), and
// one chain bwu-<name> per rule set, rendered as for iptables (domain/firewall-iptables.ts:
// the same matches, limits and accept-ends-Bulwark's-evaluation), so ufw's own and the
// user's rules still apply after Bulwark's. Nothing outside the block is ever changed.
import { ACCEPTED, iptRules, restoreLine } from './firewall-iptables.js';
import { ruleSetOrder, type FirewallRuleSet } from './firewall.js';

const BEGIN = '# BEGIN bulwark: rule sets of the Bulwark agent (rewritten by it; edits here are lost)';
const END = '# END bulwark';
/** ufw's marker after its required chain declarations in before.rules and before6.rules. */
const REQUIRED_END = '# End required lines';

/** The rule sets in a before(6).rules file's Bulwark block: name -> its `-A bwu-<name> …` lines. */
export function parseUfwBlock(text: string): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  const start = text.indexOf(BEGIN);
  if (start < 0) return sets;
  const block = text.slice(start, text.indexOf(END, start));
  for (const m of block.matchAll(/^:bwu-([a-z0-9_]+) /gm)) if (m[1] !== 'input') sets.set(m[1]!, []);
  for (const line of block.split('\n')) {
    const m = /^-A bwu-([a-z0-9_]+) /.exec(line);
    if (m && m[1] !== 'input') sets.get(m[1]!)?.push(line);
  }
  return sets;
}

/** The `-A` lines of a rule set in one family's file. */
export function ufwSetLines(set: FirewallRuleSet, v6: boolean): string[] {
  return iptRules(set, v6).map((args) => restoreLine(['-A', `bwu-${set.name}`, ...args]));
}

/** The file (before6.rules: `v6`) with its Bulwark block holding exactly these rule sets (none: no block). */
export function withUfwBlock(text: string, sets: Map<string, string[]>, v6: boolean): string {
  let rest = text;
  const start = text.indexOf(BEGIN);
  if (start >= 0) {
    const end = text.indexOf(END, start);
    if (end < 0) throw new Error(`ufw rules file: "${BEGIN}" without "${END}"; fix the file by hand`);
    rest = text.slice(0, start) + text.slice(end + END.length + 1);
  }
  if (sets.size === 0) return rest;
  const at = rest.indexOf(REQUIRED_END);
  if (at < 0) throw new Error(`ufw rules file: no "${REQUIRED_END}" line after ufw's chain declarations; is this ufw's before.rules?`);
  const insertAt = rest.indexOf('\n', at) + 1;
  const names = ruleSetOrder([...sets.keys()]);
  const block = [
    BEGIN,
    ':bwu-input - [0:0]',
    ...names.map((n) => `:bwu-${n} - [0:0]`),
    `-A ${v6 ? 'ufw6' : 'ufw'}-before-input -j bwu-input`,
    ...names.flatMap((n) => [`-A bwu-input -j bwu-${n}`, `-A bwu-input -m mark --mark ${ACCEPTED}/${ACCEPTED} -j RETURN`]),
    ...names.flatMap((n) => sets.get(n)!),
    END,
    '',
  ];
  return rest.slice(0, insertAt) + block.join('\n') + rest.slice(insertAt);
}
