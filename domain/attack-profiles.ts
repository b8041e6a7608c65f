// The curated attack profiles: for each kind of network, the rules an experienced operator
// of it would run on a host's input, line by line, each with its reason. A profile is
// installed as one rule set, `profile_<id>`, evaluated after every other rule set (blocks
// first). Pure.
//
// Every profile's rule set starts the same way: the workspace's allowlist accepted, then
// the profile's `early` rules (limits that must see every packet, established or not: a
// game server's per-player limits), then established and related traffic accepted and
// invalid packets dropped, then the user's own rules, then the profile's. The agent adds
// an accept for its own API server before all of it, so no profile can cut a node off.
// `accept` ends Bulwark's evaluation only: the host's own firewall still applies.
import { acceptEstablished, accept, allowlistRule, acceptIcmpErrors, acceptNeighbourDiscovery, dropBadTcpFlags, dropInvalid, dropReflection, limitPing, limitSshPerSource, limitSynPerSource, limitSynTotal, limitUdpPerSource, ports, type TitledRule } from './firewall-blocks.js';
import { PROFILE_RULESET_PREFIX, validateRuleSet, type FirewallRule, type FirewallRuleSet } from './firewall.js';

export const PROFILE_IDS = ['game_server', 'hosting_provider', 'isp', 'saas', 'ecommerce', 'fintech', 'small_operator', 'msp', 'edge_node', 'router', 'game_studio'] as const;
export type ProfileId = (typeof PROFILE_IDS)[number];

export interface AttackProfile {
  id: ProfileId;
  name: string;
  /** The reference's words for whom it is for. */
  optimizedFor: string;
  description: string;
  /** Rules before established traffic is accepted: they see every packet. */
  early: TitledRule[];
  rules: TitledRule[];
  /** The profile admits some services only from the allowlist (management, BGP peers): applying it with an empty allowlist would lock administrators out. */
  needsAllowlist?: string;
}

const WEB = ports(80, 443);
const web = accept('tcp', WEB, 'HTTP and HTTPS', 'The service itself');
const quic = accept('udp', ports(443), 'HTTP/3 (QUIC)', 'Browsers use QUIC on UDP 443 when the site offers it');
const dropNewFromOthers = (what: string, p: ReturnType<typeof ports>): TitledRule => ({
  action: 'drop',
  protocol: 'tcp',
  destinationPorts: p,
  state: ['new'],
  title: `${what} from anywhere else`,
  reason: `${what} is reachable from the allowlist only (accepted first)`,
});
const dropAllElse: TitledRule = { action: 'drop', state: ['new'], title: 'Everything else', reason: 'Strict ingress: a connection to anything not listed above is dropped' };
const dropUdpElse: TitledRule = { action: 'drop', protocol: 'udp', state: ['new'], title: 'Other UDP', reason: 'No UDP service is expected here: UDP floods end at this line' };

const GAME: Array<{ what: string; p: ReturnType<typeof ports>; pps: number }> = [
  { what: 'Source / CS2 (27015-27030)', p: ports([27015, 27030]), pps: 300 },
  { what: 'Rust (28015-28016)', p: ports([28015, 28016]), pps: 300 },
  { what: 'FiveM (30120)', p: ports(30120), pps: 300 },
  { what: 'Minecraft Bedrock (19132-19133)', p: ports([19132, 19133]), pps: 200 },
];
const gameLimits = GAME.map((g) => limitUdpPerSource(g.p, g.pps, g.what));
const gameAccepts: TitledRule[] = [
  ...GAME.map((g) => accept('udp', g.p, g.what, 'The game itself, within the per-player limit above')),
  accept('tcp', ports(25565, 30120), 'Minecraft Java (25565), FiveM (30120) over TCP', 'Game connections, within the per-source SYN limit above'),
];

export const PROFILES: readonly AttackProfile[] = [
  {
    id: 'game_server',
    name: 'Game server',
    optimizedFor: 'Game servers (Minecraft, FiveM, Rust, CS2, etc.)',
    description:
      'Keeps the usual game ports open (Source/CS2 27015-27030, Rust 28015-28016, FiveM 30120, Minecraft 25565 and Bedrock 19132) under per-player packet limits that see every packet, ' +
      'drops unsolicited UDP from reflection ports and malformed TCP, and limits new connections, SSH and ping per source. Other services are left to the host’s firewall.',
    early: gameLimits,
    rules: [dropReflection(true), ...dropBadTcpFlags, limitSynPerSource(20), limitSshPerSource, ...limitPing(5, 200), acceptIcmpErrors, ...gameAccepts],
  },
  {
    id: 'hosting_provider',
    name: 'Hosting provider',
    optimizedFor: 'Shared/reseller hosting providers',
    description:
      'For shared hosting: web, mail, FTP and DNS stay open to everyone (DNS on port 53 is served, so unsolicited port-53 UDP is not dropped), connections are limited per source so one abusive ' +
      'client cannot take a host down for every site on it, and reflection and malformed TCP are dropped.',
    early: [],
    rules: [
      dropReflection(false),
      ...dropBadTcpFlags,
      limitSynPerSource(50),
      limitSynTotal(20_000),
      limitSshPerSource,
      ...limitPing(5, 500),
      acceptIcmpErrors,
      web,
      quic,
      accept('tcp', ports(25, 465, 587, 993, 995, 110, 143), 'Mail', 'SMTP, submission, IMAP and POP for hosted domains'),
      accept('tcp', ports(21, 53), 'FTP control and DNS over TCP', 'Customers upload by FTP; DNS answers over TCP when UDP truncates'),
      accept('udp', ports(53), 'DNS', 'Authoritative DNS for hosted domains'),
    ],
  },
  {
    id: 'isp',
    name: 'ISP / transit',
    optimizedFor: 'Internet service providers and transit networks',
    description:
      'For an ISP’s own hosts (resolvers, portals, looking glasses): traffic to customers is forwarded, not touched (Bulwark filters what enters the host). DNS keeps port 53 open with per-source ' +
      'limits, reflection and malformed TCP are dropped, new connections are limited per source and in all. ICMP is kept working: an ISP host must answer traceroutes and path MTU discovery.',
    early: [limitUdpPerSource(ports(53), 500, 'DNS queries')],
    rules: [dropReflection(false), ...dropBadTcpFlags, limitSynPerSource(100), limitSynTotal(50_000), limitSshPerSource, ...limitPing(20, 2000), acceptIcmpErrors, acceptNeighbourDiscovery, accept('udp', ports(53), 'DNS', 'The resolvers serve the customers')],
  },
  {
    id: 'saas',
    name: 'SaaS',
    optimizedFor: 'SaaS applications (web-heavy TCP traffic)',
    description:
      'For web applications: HTTPS, HTTP and HTTP/3 open, new connections limited per source and in all, no UDP expected except QUIC (other UDP is dropped: UDP floods end there), ' +
      'reflection and malformed TCP dropped.',
    early: [],
    rules: [dropReflection(true), ...dropBadTcpFlags, limitSynPerSource(50), limitSynTotal(20_000), limitSshPerSource, ...limitPing(5, 200), acceptIcmpErrors, acceptNeighbourDiscovery, web, quic, dropUdpElse],
  },
  {
    id: 'ecommerce',
    name: 'E-commerce',
    optimizedFor: 'E-commerce platforms (payment flow protection)',
    description:
      'Like SaaS, with tighter per-source connection limits (checkout abuse and credential stuffing come from few addresses) and the admin and database ports closed to everyone but the allowlist.',
    early: [],
    rules: [
      dropReflection(true),
      ...dropBadTcpFlags,
      limitSynPerSource(30),
      limitSynTotal(20_000),
      limitSshPerSource,
      ...limitPing(5, 200),
      acceptIcmpErrors,
      acceptNeighbourDiscovery,
      web,
      quic,
      dropNewFromOthers('Databases and caches (MySQL, PostgreSQL, Redis, Elasticsearch)', ports(3306, 5432, 6379, 9200)),
      dropUdpElse,
    ],
  },
  {
    id: 'fintech',
    name: 'Fintech',
    optimizedFor: 'Financial services (strict ingress filtering)',
    description:
      'Strict ingress: only HTTPS (and HTTP for redirects) is open to everyone, SSH comes from the allowlist only, and every other new connection is dropped. Needs management addresses in the allowlist.',
    early: [],
    rules: [
      dropReflection(true),
      ...dropBadTcpFlags,
      limitSynPerSource(30),
      limitSynTotal(10_000),
      ...limitPing(2, 100),
      acceptIcmpErrors,
      acceptNeighbourDiscovery,
      web,
      dropAllElse,
    ],
    needsAllowlist: 'fintech admits SSH and everything but the web from the allowlist only',
  },
  {
    id: 'small_operator',
    name: 'Small operator / VPS',
    optimizedFor: 'Small operators and VPS providers',
    description: 'A safe baseline for any VPS: reflection and malformed TCP dropped, new connections, SSH and ping limited per source. Opens and closes no service.',
    early: [],
    rules: [dropReflection(true), ...dropBadTcpFlags, limitSynPerSource(50), limitSshPerSource, ...limitPing(5, 200)],
  },
  {
    id: 'msp',
    name: 'Managed service provider',
    optimizedFor: 'Managed service providers',
    description:
      'For hosts an MSP manages for customers: remote management (SSH, RDP, WinRM, monitoring agents) from the allowlist only, the web open, reflection and malformed TCP dropped, connections limited per source.',
    early: [],
    rules: [
      dropReflection(true),
      ...dropBadTcpFlags,
      limitSynPerSource(50),
      ...limitPing(5, 200),
      acceptIcmpErrors,
      web,
      dropNewFromOthers('Remote management (SSH, RDP, WinRM, Zabbix agent)', ports(22, 3389, 5985, 5986, 10050)),
    ],
    needsAllowlist: 'msp admits remote management from the allowlist only',
  },
  {
    id: 'edge_node',
    name: 'Edge / CDN node',
    optimizedFor: 'Edge/CDN nodes and reverse proxies',
    description:
      'For reverse proxies and CDN edges that take a lot of legitimate connections: generous per-source limits (many users behind one NAT), a high total SYN limit, HTTP, HTTPS and QUIC open with QUIC limited per source, other UDP dropped.',
    early: [limitUdpPerSource(ports(443), 2000, 'QUIC')],
    rules: [dropReflection(true), ...dropBadTcpFlags, limitSynPerSource(200, 400), limitSynTotal(100_000), limitSshPerSource, ...limitPing(10, 1000), acceptIcmpErrors, acceptNeighbourDiscovery, web, quic, dropUdpElse],
  },
  {
    id: 'router',
    name: 'Software router / gateway',
    optimizedFor: 'Software routers and gateways',
    description:
      'Protects the router’s control plane and forwards traffic untouched (Bulwark filters what enters the router itself, never what it routes): BGP and SSH from the allowlist only ' +
      '(put the BGP peers and management networks there), ICMP kept working for traceroute and path MTU discovery, reflection and malformed TCP dropped.',
    early: [],
    rules: [
      dropReflection(true),
      ...dropBadTcpFlags,
      ...limitPing(20, 1000),
      acceptIcmpErrors,
      acceptNeighbourDiscovery,
      dropNewFromOthers('BGP, SSH and router management (179, 22, 830 NETCONF, 2601-2605 routing daemons)', ports(179, 22, 830, [2601, 2605])),
      { action: 'drop', protocol: 'udp', destinationPorts: ports(161, 3784, 4784), state: ['new'], title: 'SNMP and BFD from anywhere else', reason: 'Monitoring and BFD come from the allowlist only (accepted first)' },
    ],
    needsAllowlist: 'router admits BGP and SSH from the allowlist only (its peers and management networks)',
  },
  {
    id: 'game_studio',
    name: 'Game studio',
    optimizedFor: 'Game studios (development + production servers)',
    description:
      'For a studio’s mixed hosts: production game ports open under per-player limits as in game_server, build and version-control services (Perforce, Git over SSH, CI) reachable from the allowlist only, reflection and malformed TCP dropped.',
    early: gameLimits,
    rules: [
      dropReflection(true),
      ...dropBadTcpFlags,
      limitSynPerSource(20),
      ...limitPing(5, 200),
      acceptIcmpErrors,
      ...gameAccepts,
      web,
      dropNewFromOthers('Development services (SSH, Perforce 1666, Jenkins 8080, databases)', ports(22, 1666, 8080, 3306, 5432)),
    ],
    needsAllowlist: 'game_studio admits development services from the allowlist only',
  },
];

export const profileById = (id: string): AttackProfile | undefined => PROFILES.find((p) => p.id === id);
export const profileRuleSetName = (id: ProfileId) => `${PROFILE_RULESET_PREFIX}${id}`;


/** Why the profile cannot be installed with this allowlist, or null. */
export function profileRefusal(id: ProfileId, allowlisted: string[]): string | null {
  const p = profileById(id)!;
  return p.needsAllowlist && allowlisted.length === 0 ? `${p.needsAllowlist}, and the allowlist is empty: applying it would lock administrators out; add their addresses to the allowlist first` : null;
}

/** The rule set a node installs for the profile: allowlist, early rules, established, invalid, the user's rules, the profile's. */
export function profileRuleSet(id: ProfileId, ctx: { allowlisted: string[]; custom?: FirewallRule[] }): FirewallRuleSet {
  const p = profileById(id);
  if (!p) throw new Error(`no profile ${id}`);
  const rules: FirewallRule[] = [...(ctx.allowlisted.length ? [allowlistRule(ctx.allowlisted)] : []), ...p.early, acceptEstablished, dropInvalid, ...(ctx.custom ?? []), ...p.rules];
  const v = validateRuleSet({ name: profileRuleSetName(id), rules });
  if (!v.ok) throw new Error(`profile ${id}: ${v.reason}`);
  return v.set;
}
