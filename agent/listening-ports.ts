// The ports this host serves, read from /proc/net/{tcp,tcp6,udp,udp6} in the agent's
// network namespace: TCP sockets in LISTEN (state 0A) and unconnected bound UDP sockets
// (state 07), loopback-only ones left out (nothing outside can reach them). The classifier
// takes them to tell service traffic from a flood; a few small reads, cheap enough at
// every classification.
import { readFileSync } from 'node:fs';

const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

/** A /proc/net/{tcp,udp}[6] local address ("0100007F:1F90", 32 hex digits for IPv6) on loopback. */
function loopback(hexAddress: string): boolean {
  if (hexAddress.length === 8) return hexAddress.endsWith('7F'); // IPv4 in host (little-endian) order: 127.x.x.x
  // IPv6 as four host-order words: ::1, and ::ffff:127.x.x.x.
  return hexAddress === '00000000000000000000000001000000' || (hexAddress.startsWith('0000000000000000FFFF0000') && hexAddress.endsWith('7F'));
}

/** Local ports of the sockets in `state` in one /proc/net table (none when it cannot be read: IPv6 disabled). */
function portsIn(path: string, state: string, into: Set<number>) {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return;
  }
  for (const line of text.split('\n').slice(1)) {
    // "  sl  local_address rem_address   st ..."
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[3] !== state) continue;
    const [address, port] = fields[1]!.split(':');
    if (!address || !port || loopback(address)) continue;
    into.add(parseInt(port, 16));
  }
}

/** TCP and UDP ports the host serves, ascending. `procNet` points elsewhere for tests (/proc/<pid>/net: another namespace). */
export function listeningPorts(procNet = '/proc/net'): number[] {
  const ports = new Set<number>();
  portsIn(`${procNet}/tcp`, TCP_LISTEN, ports);
  portsIn(`${procNet}/tcp6`, TCP_LISTEN, ports);
  portsIn(`${procNet}/udp`, UDP_UNCONNECTED, ports);
  portsIn(`${procNet}/udp6`, UDP_UNCONNECTED, ports);
  return [...ports].sort((a, b) => a - b);
}
