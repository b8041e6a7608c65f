// Rules that profiles and the catalogue share, each titled and with its reason: one
// definition of what "drop reflection" or "limit SYNs per source" means. Pure.
import type { FirewallRule, IcmpType, TcpFlag } from './firewall.js';
import type { NumRange } from './intent.js';

/** A rule a person reads in a preview: what it does and why. */
export type TitledRule = FirewallRule & { title: string; reason: string };

export const ports = (...items: Array<number | [number, number]>): NumRange[] => items.map((p) => (Array.isArray(p) ? { from: p[0], to: p[1] } : { from: p, to: p }));

const SYN: { mask: TcpFlag[]; set: TcpFlag[] } = { mask: ['syn', 'ack', 'rst', 'fin'], set: ['syn'] };
const ALL_FLAGS: TcpFlag[] = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'];

/**
 * UDP source ports of services abused for reflection (chargen, QOTD, NTP, SNMP, CLDAP,
 * SSDP, WS-Discovery, memcached, Ubiquiti discovery, DVR/NetBIOS, ARD, CoAP, RIP, portmap).
 * Dropped only for packets that are not replies to the host's own requests: those are
 * accepted earlier as established.
 */
const REFLECTION = ports(17, 19, 111, 123, 137, 161, 389, 520, 1900, 3283, 3702, 5683, 10001, 11211, 37810);

export const acceptEstablished: TitledRule = {
  action: 'accept',
  state: ['established', 'related'],
  title: 'Established and related traffic',
  reason: 'Replies to connections the host made or accepted (its own API calls, DNS, updates) pass before any limit or drop',
};
export const dropInvalid: TitledRule = { action: 'drop', state: ['invalid'], title: 'Invalid packets', reason: 'Packets connection tracking cannot place in any flow are never legitimate (ACK and RST floods, broken scans)' };

export const dropReflection = (withDns: boolean): TitledRule => ({
  action: 'drop',
  protocol: 'udp',
  state: ['new'],
  sourcePorts: withDns ? [...REFLECTION, ...ports(53)] : REFLECTION,
  title: withDns ? 'Unsolicited UDP from reflection and DNS ports' : 'Unsolicited UDP from reflection ports',
  reason: withDns
    ? 'Amplified replies the host never asked for; replies to its own queries are established and already passed'
    : 'Amplified replies the host never asked for (port 53 kept: other resolvers query an authoritative server from it)',
});

export const dropBadTcpFlags: TitledRule[] = [
  { action: 'drop', protocol: 'tcp', tcpFlags: { mask: ALL_FLAGS, set: [] }, title: 'TCP NULL scans', reason: 'A segment with no flag set is never part of a connection' },
  { action: 'drop', protocol: 'tcp', tcpFlags: { mask: ALL_FLAGS, set: ['fin', 'psh', 'urg'] }, title: 'TCP XMAS scans', reason: 'FIN, PSH and URG together are a scan, never traffic' },
  { action: 'drop', protocol: 'tcp', tcpFlags: { mask: ['syn', 'fin'], set: ['syn', 'fin'] }, title: 'TCP SYN+FIN', reason: 'Opening and closing at once is invalid and used to evade filters' },
  { action: 'drop', protocol: 'tcp', tcpFlags: { mask: ['syn', 'rst'], set: ['syn', 'rst'] }, title: 'TCP SYN+RST', reason: 'Invalid flag combination used in floods and scans' },
];

export const limitSynPerSource = (pps: number, burst = pps * 2): TitledRule => ({
  action: 'rate_limit',
  protocol: 'tcp',
  tcpFlags: SYN,
  ratePps: pps,
  burst,
  perSource: true,
  title: `New TCP connections, ${pps}/s per source`,
  reason: 'A SYN flood from few sources is cut at the source; real clients open a handful of connections a second',
});

export const limitSynTotal = (pps: number): TitledRule => ({
  action: 'rate_limit',
  protocol: 'tcp',
  tcpFlags: SYN,
  ratePps: pps,
  burst: pps,
  title: `New TCP connections, ${pps}/s in all`,
  reason: 'A spoofed SYN flood from everywhere is capped; established connections are not affected',
});

export const limitPing = (perSource: number, total: number): TitledRule[] => [
  { action: 'rate_limit', protocol: 'icmp', icmpTypes: ['echo-request'], ratePps: perSource, perSource: true, title: `Ping, ${perSource}/s per source`, reason: 'Monitoring pings a few times a second at most' },
  { action: 'rate_limit', protocol: 'icmp', icmpTypes: ['echo-request'], ratePps: total, title: `Ping, ${total}/s in all`, reason: 'An ICMP flood from many sources cannot fill the uplink with replies' },
];

/** ICMP the network needs: path MTU discovery and errors (most are also `related`). */
export const acceptIcmpErrors: TitledRule = {
  action: 'accept',
  protocol: 'icmp',
  icmpTypes: ['destination-unreachable', 'packet-too-big', 'time-exceeded', 'parameter-problem'],
  title: 'ICMP errors and packet-too-big',
  reason: 'Path MTU discovery and error reporting break without them',
};
export const acceptNeighbourDiscovery: TitledRule = {
  action: 'accept',
  protocol: 'icmp',
  icmpTypes: ['neighbor-solicitation', 'neighbor-advertisement', 'router-advertisement'],
  title: 'IPv6 neighbour discovery',
  reason: 'IPv6 stops working without it',
};

export const limitSshPerSource: TitledRule = {
  action: 'rate_limit',
  protocol: 'tcp',
  destinationPorts: ports(22),
  state: ['new'],
  ratePps: 2,
  burst: 5,
  perSource: true,
  title: 'SSH, 2 new connections/s per source',
  reason: 'Password guessing slows to a crawl; an administrator never notices',
};

export const accept = (protocol: 'tcp' | 'udp', p: ReturnType<typeof ports>, title: string, reason: string): TitledRule => ({ action: 'accept', protocol, destinationPorts: p, title, reason });

export const limitUdpPerSource = (p: ReturnType<typeof ports>, pps: number, what: string): TitledRule => ({
  action: 'rate_limit',
  protocol: 'udp',
  destinationPorts: p,
  ratePps: pps,
  burst: pps * 2,
  perSource: true,
  title: `${what}, ${pps} packets/s per source`,
  reason: 'A player or client sends well under this; a flood from one address is cut without touching the others',
});

export const dropIcmpType = (types: IcmpType[], title: string, reason: string): TitledRule => ({ action: 'drop', protocol: 'icmp', icmpTypes: types, title, reason });

/** First in every set Bulwark installs: allowlisted addresses are never limited or dropped. */
export const allowlistRule = (sources: string[]): TitledRule => ({ action: 'accept', sources, title: 'Workspace allowlist', reason: 'Allowlisted addresses are never limited or dropped by Bulwark' });
