// Named rule sets in the typed model, for runbooks' `iptables` step and incident responses:
// one answer per common attack, each rule titled with its reason. Pure.
import { acceptEstablished, allowlistRule, dropBadTcpFlags, dropInvalid, dropReflection, limitPing, limitSshPerSource, limitSynPerSource, limitSynTotal, acceptIcmpErrors, type TitledRule } from './firewall-blocks.js';
import { validateRuleSet, type FirewallRuleSet } from './firewall.js';

export interface CatalogueEntry {
  name: string;
  /** The rule set's name on the node (a chain name: 24 characters at most). */
  ruleset: string;
  title: string;
  description: string;
  rules: TitledRule[];
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    name: 'block_udp_flood',
    ruleset: 'cat_udp_flood',
    title: 'Block UDP floods',
    description: 'Drops every new UDP flow; replies to the host’s own requests (DNS, NTP) still pass. For hosts that serve nothing over UDP, or as a last resort during a flood.',
    rules: [acceptEstablished, { action: 'drop', protocol: 'udp', state: ['new'], title: 'New UDP flows', reason: 'The flood; the host’s own DNS and NTP replies are established and passed above' }],
  },
  {
    name: 'block_syn_flood',
    ruleset: 'cat_syn_flood',
    title: 'Limit SYN floods',
    description: 'Caps new TCP connections per source and in all; established connections are not affected.',
    rules: [limitSynPerSource(20), limitSynTotal(5000)],
  },
  {
    name: 'block_icmp_flood',
    ruleset: 'cat_icmp_flood',
    title: 'Limit ICMP floods',
    description: 'Pings limited per source and in all; ICMP errors and packet-too-big kept for path MTU discovery.',
    rules: [acceptIcmpErrors, ...limitPing(2, 100)],
  },
  {
    name: 'block_fragments',
    ruleset: 'cat_fragments',
    title: 'Drop IP fragments',
    description: 'Drops fragments after the first, before the kernel reassembles them: fragment floods and fragmented amplification. nftables only (iptables sees packets after reassembly).',
    rules: [{ action: 'drop', fragment: true, title: 'Non-first fragments', reason: 'Fragment floods exhaust reassembly; hosts behind a sane path MTU rarely receive fragments' }],
  },
  {
    name: 'block_amplification',
    ruleset: 'cat_amplification',
    title: 'Drop reflection and amplification',
    description: 'Drops UDP from the ports of services abused for reflection (DNS, NTP, memcached, SSDP, CLDAP, …) unless it answers the host’s own request.',
    rules: [acceptEstablished, dropReflection(true)],
  },
  {
    name: 'rate_limit_new_connections',
    ruleset: 'cat_new_connections',
    title: 'Rate-limit new connections',
    description: 'New TCP connections limited per source, SSH more tightly.',
    rules: [limitSshPerSource, limitSynPerSource(10)],
  },
  {
    name: 'block_ack_flood',
    ruleset: 'cat_ack_flood',
    title: 'Drop ACK floods',
    description: 'Drops TCP ACKs that belong to no tracked connection; ACKs of real connections are established and pass. Connections older than the tracking (after a restart of conntrack) are dropped too.',
    rules: [acceptEstablished, { action: 'drop', protocol: 'tcp', state: ['new'], tcpFlags: { mask: ['syn', 'ack', 'rst', 'fin'], set: ['ack'] }, title: 'ACKs without a connection', reason: 'An ACK that opens nothing is a flood or a scan' }],
  },
  {
    name: 'block_tcp_flag_abuse',
    ruleset: 'cat_tcp_flags',
    title: 'Drop malformed TCP',
    description: 'NULL, XMAS, SYN+FIN and SYN+RST segments.',
    rules: dropBadTcpFlags,
  },
  {
    name: 'block_invalid',
    ruleset: 'cat_invalid',
    title: 'Drop invalid packets',
    description: 'Packets connection tracking cannot place in any flow.',
    rules: [dropInvalid],
  },
];

export const catalogueEntry = (name: string) => CATALOGUE.find((c) => c.name === name);

/** The named set as a node installs it, the allowlist accepted before any drop. */
export function catalogueRuleSet(name: string, allowlisted: string[] = []): FirewallRuleSet {
  const c = catalogueEntry(name);
  if (!c) throw new Error(`no catalogue rule set ${name}`);
  const v = validateRuleSet({ name: c.ruleset, rules: [...(allowlisted.length ? [allowlistRule(allowlisted)] : []), ...c.rules] });
  if (!v.ok) throw new Error(`catalogue ${name}: ${v.reason}`);
  return v.set;
}
