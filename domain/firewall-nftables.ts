// Rule sets as nftables scripts (pure; the agent runs them with `nft -f -`, and the API
// shows them in previews): table inet bulwark, base chain `input` (hook input, priority
// -10) jumping to one chain per rule set, rs_<name>, in ruleSetOrder; each change is one
// atomic script.
//
// Fragments: the input hook sees packets after the kernel reassembled them, so a rule set's
// fragment rules go to a chain of their own, fr_<name>, jumped to from `pre_defrag` (hook
// prerouting, priority -450: before defragmentation), with the set's plain address accepts
// (the allowlist) before them.
//
// Rate limits are stateful objects named after their rule set and ruleId (l_<name>_<id>: a
// named limit, shared by the rule's per-family variants; m_<name>_<id>_4/_6: a per-source
// meter per family): re-applying the same rules keeps their state, and objects no rule
// uses any more are deleted in the same transaction.
import { icmpTypesIn, ruleFamily, ruleId, ruleSetOrder, type FirewallRule, type FirewallRuleSet, type IcmpType } from './firewall.js';
import type { NumRange } from './intent.js';

const TABLE = 'inet bulwark';

/** nftables' ICMPv6 spelling where it is not the model's. */
const ICMP6_NAMES: Partial<Record<IcmpType, string>> = {
  'router-solicitation': 'nd-router-solicit',
  'router-advertisement': 'nd-router-advert',
  'neighbor-solicitation': 'nd-neighbor-solicit',
  'neighbor-advertisement': 'nd-neighbor-advert',
  redirect: 'nd-redirect',
};

/** What Bulwark's table holds now. */
export interface NftInstalled {
  sets: string[];
  /** Rule sets with a fragment chain. */
  frag: Set<string>;
  /** The stateful objects (limits, meters) in the table. */
  objects: Array<{ kind: 'set' | 'limit'; name: string }>;
}

export const NFT_EMPTY: NftInstalled = { sets: [], frag: new Set(), objects: [] };

/** The table as `nft -j list table inet bulwark` prints it. */
export function parseNftInstalled(json: string): NftInstalled {
  const items = (JSON.parse(json) as { nftables: Array<{ chain?: { name: string }; set?: { name: string }; limit?: { name: string } }> }).nftables;
  const chains = items.flatMap((i) => (i.chain ? [i.chain.name] : []));
  return {
    sets: chains.flatMap((c) => (c.startsWith('rs_') ? [c.slice(3)] : [])).sort(),
    frag: new Set(chains.flatMap((c) => (c.startsWith('fr_') ? [c.slice(3)] : []))),
    objects: items.flatMap((i): NftInstalled['objects'] => (i.set ? [{ kind: 'set', name: i.set.name }] : i.limit ? [{ kind: 'limit', name: i.limit.name }] : [])),
  };
}

/** The base chains, rebuilt to jump to exactly these rule sets. */
function base(names: string[], frag: Set<string>, hadFrag: boolean): string[] {
  const order = ruleSetOrder(names);
  const withFrag = order.filter((n) => frag.has(n));
  return [
    `add chain ${TABLE} input { type filter hook input priority -10; policy accept; }`,
    `flush chain ${TABLE} input`,
    ...order.map((n) => `add rule ${TABLE} input jump rs_${n}`),
    ...(withFrag.length > 0
      ? [`add chain ${TABLE} pre_defrag { type filter hook prerouting priority -450; policy accept; }`, `flush chain ${TABLE} pre_defrag`, ...withFrag.map((n) => `add rule ${TABLE} pre_defrag jump fr_${n}`)]
      : hadFrag
        ? [`delete chain ${TABLE} pre_defrag`]
        : []),
  ];
}

const ownedBy = (name: string, objectName: string) => new RegExp(`^[lm]_${name}_[0-9a-f]{16}(_[46])?$`).test(objectName);
const deleteObjects = (objects: NftInstalled['objects'], keep: Set<string>, name: string) =>
  objects.filter((o) => ownedBy(name, o.name) && !keep.has(o.name)).map((o) => `delete ${o.kind} ${TABLE} ${o.name}`);

/** The script that installs (or replaces) a validated rule set. */
export function nftApplyScript(now: NftInstalled, set: FirewallRuleSet): string {
  const plan = nftPlan(set);
  const names = [...new Set([...now.sets, set.name])];
  const frag = new Set(now.frag);
  if (plan.frag.length > 0) frag.add(set.name);
  else frag.delete(set.name);
  return [
    `add table ${TABLE}`,
    `add chain ${TABLE} rs_${set.name}`,
    `flush chain ${TABLE} rs_${set.name}`,
    ...(now.frag.has(set.name) ? [`flush chain ${TABLE} fr_${set.name}`] : []),
    ...plan.objects.map((o) => o.add),
    ...plan.rules.map((rule) => `add rule ${TABLE} rs_${set.name} ${rule}`),
    ...(plan.frag.length > 0 ? [`add chain ${TABLE} fr_${set.name}`, ...plan.frag.map((rule) => `add rule ${TABLE} fr_${set.name} ${rule}`)] : []),
    ...base(names, frag, now.frag.size > 0),
    ...(now.frag.has(set.name) && plan.frag.length === 0 ? [`delete chain ${TABLE} fr_${set.name}`] : []),
    ...deleteObjects(now.objects, new Set(plan.objects.map((o) => o.name)), set.name),
    '',
  ].join('\n');
}

/** The script that removes a rule set (the whole table with the last one), or null when it is not installed. */
export function nftRemoveScript(now: NftInstalled, name: string): string | null {
  if (!now.sets.includes(name)) return null;
  const rest = now.sets.filter((n) => n !== name);
  if (rest.length === 0) return `delete table ${TABLE}\n`;
  const frag = new Set([...now.frag].filter((n) => n !== name));
  return [
    ...base(rest, frag, now.frag.size > 0),
    `delete chain ${TABLE} rs_${name}`,
    ...(now.frag.has(name) ? [`delete chain ${TABLE} fr_${name}`] : []),
    ...deleteObjects(now.objects, new Set(), name),
    '',
  ].join('\n');
}

interface NftObject {
  name: string;
  add: string;
}

/** The statements a rule set becomes: its objects, its input rules, its fragment rules. */
export function nftPlan(set: FirewallRuleSet): { objects: NftObject[]; rules: string[]; frag: string[] } {
  const objects = new Map<string, NftObject>();
  const rules: string[] = [];
  const frag: string[] = [];
  let fragDrops = false;
  for (const [i, r] of set.rules.entries()) {
    for (const v of variants(r)) {
      if (r.fragment) {
        frag.push(fragmentRule(r, v));
        fragDrops = true;
        continue;
      }
      const match = nftMatch(r, v);
      if (match === null) continue; // e.g. ICMPv6-only types in the IPv4 variant
      rules.push(`${match} counter ${verdict(set.name, i, r, v, objects)}${comment(r)}`);
      // Plain address accepts (the allowlist) hold for fragments too.
      if (r.action === 'accept' && isAddressOnly(r)) frag.push(`${match} accept${comment(r)}`);
    }
  }
  // The fragment chain needs its accepts only when it drops something.
  return { objects: [...objects.values()], rules, frag: fragDrops ? frag : [] };
}

type Variant = { family: 4 | 6 | null; sources: string[] | null };

/** The rule as one inet rule, or one per family where the families need different matches. */
function variants(r: FirewallRule): Variant[] {
  if (r.sources) {
    const v4 = r.sources.filter((s) => !s.includes(':'));
    const v6 = r.sources.filter((s) => s.includes(':'));
    return [...(v4.length ? [{ family: 4 as const, sources: v4 }] : []), ...(v6.length ? [{ family: 6 as const, sources: v6 }] : [])];
  }
  const family = ruleFamily(r);
  const sources = r.source ? [r.source] : null;
  if (family !== null) return [{ family, sources }];
  const perFamily = (r.action === 'rate_limit' && r.perSource) || r.icmpTypes !== undefined || r.fragment;
  return perFamily ? [{ family: 4, sources }, { family: 6, sources }] : [{ family: null, sources }];
}

const isAddressOnly = (r: FirewallRule) =>
  !r.protocol && !r.state && !r.length && !r.sourcePorts && !r.destinationPorts && !r.tcpFlags && !r.icmpTypes && !r.fragment;

const ipKw = (family: 4 | 6) => (family === 4 ? 'ip' : 'ip6');
const list = (items: string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`);
const range = (p: NumRange) => (p.from === p.to ? String(p.from) : `${p.from}-${p.to}`);

function addressMatch(r: FirewallRule, v: Variant): string[] {
  const parts: string[] = [];
  if (v.family === null) return parts;
  if (v.sources) parts.push(`${ipKw(v.family)} saddr ${list(v.sources)}`);
  if (r.destination) parts.push(`${ipKw(v.family)} daddr ${r.destination}`);
  if (parts.length === 0) parts.push(`meta nfproto ${v.family === 4 ? 'ipv4' : 'ipv6'}`);
  return parts;
}

/** The match part of a rule, or null when this family has nothing to match. */
function nftMatch(r: FirewallRule, v: Variant): string | null {
  const parts = addressMatch(r, v);
  if (r.protocol === 'icmp') {
    if (r.icmpTypes) {
      const names = icmpTypesIn(r.icmpTypes, v.family!).map((t) => (v.family === 6 ? (ICMP6_NAMES[t] ?? t) : t));
      if (names.length === 0) return null;
      parts.push(`${v.family === 4 ? 'icmp' : 'icmpv6'} type ${list(names)}`);
    } else parts.push(`meta l4proto ${v.family === 4 ? 'icmp' : v.family === 6 ? 'ipv6-icmp' : '{ icmp, ipv6-icmp }'}`);
  } else if (r.protocol) {
    const p = r.protocol;
    if (!r.sourcePorts && !r.destinationPorts && !r.tcpFlags) parts.push(`meta l4proto ${p}`);
    if (r.sourcePorts) parts.push(`${p} sport ${list(r.sourcePorts.map(range))}`);
    if (r.destinationPorts) parts.push(`${p} dport ${list(r.destinationPorts.map(range))}`);
    if (r.tcpFlags) parts.push(`tcp flags & (${r.tcpFlags.mask.join(' | ')}) == ${r.tcpFlags.set.length ? r.tcpFlags.set.join(' | ') : '0x0'}`);
  }
  if (r.state) parts.push(`ct state ${list(r.state)}`);
  // meta length: the packet from its IP header on, as the model counts it.
  if (r.length) parts.push(`meta length ${range(r.length)}`);
  return parts.join(' ');
}

function fragmentRule(r: FirewallRule, v: Variant): string {
  const parts = addressMatch(r, v);
  if (r.protocol) parts.push(`meta l4proto ${r.protocol === 'icmp' ? (v.family === 4 ? 'icmp' : 'ipv6-icmp') : r.protocol}`);
  if (r.length) parts.push(`meta length ${range(r.length)}`);
  // Non-first fragments: a fragment offset (IPv4's low 13 bits; IPv6's fragment header).
  parts.push(v.family === 4 ? 'ip frag-off & 0x1fff != 0' : 'frag frag-off != 0');
  return `${parts.join(' ')} counter drop${comment(r)}`;
}

function verdict(setName: string, index: number, r: FirewallRule, v: Variant, objects: Map<string, NftObject>): string {
  switch (r.action) {
    case 'accept':
    case 'drop':
      return r.action;
    case 'reject':
      return r.protocol === 'tcp' ? 'reject with tcp reset' : 'reject';
    case 'rate_limit': {
      const rate = `rate over ${r.ratePps}/second burst ${r.burst ?? r.ratePps} packets`;
      const id = ruleId(setName, index, r);
      if (r.perSource) {
        const family = v.family!;
        const name = `m_${setName}_${id}_${family}`;
        objects.set(name, { name, add: `add set ${TABLE} ${name} { type ${family === 4 ? 'ipv4_addr' : 'ipv6_addr'}; size 65536; flags dynamic,timeout; timeout 1m; }` });
        return `update @${name} { ${ipKw(family)} saddr limit ${rate} } drop`;
      }
      const name = `l_${setName}_${id}`;
      objects.set(name, { name, add: `add limit ${TABLE} ${name} { ${rate} }` });
      return `limit name "${name}" drop`;
    }
  }
}

/** nftables comments: at most 128 bytes, printable ASCII, no quotes. */
function comment(r: FirewallRule): string {
  if (!r.title) return '';
  return ` comment "${r.title.replace(/[^\x20-\x7e]|"/g, '?').slice(0, 127)}"`;
}
