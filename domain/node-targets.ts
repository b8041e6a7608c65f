// What a node's agent may report attacks on: the node's own address and the prefixes the
// user assigned to it, nothing else. A node key lives on a host exposed to the internet;
// if it could name any target, stealing one would let anyone have any address blackholed.
import { mustParsePrefix, parsePrefix, prefixContains } from './prefix.js';

/** How broad an assigned prefix may be: a node protects hosts, not a continent. */
export const NODE_PREFIX_MIN_LENGTH = { 4: 8, 6: 16 } as const;
export const MAX_NODE_PREFIXES = 64;

/** Why `target` is not the node's to report, or null when it is. */
export function refuseNodeTarget(target: string, node: { ip: string; prefixes: readonly string[] }): string | null {
  const t = parsePrefix(target);
  if (!t.ok) return t.reason;
  const own = [node.ip, ...node.prefixes].map(mustParsePrefix);
  if (own.some((p) => prefixContains(p, t.prefix))) return null;
  return `${target} is neither this node's address (${node.ip}) nor within the prefixes assigned to it${node.prefixes.length ? ` (${node.prefixes.join(', ')})` : ''}`;
}

/** Why an assigned prefix is refused, or null. */
export function refuseNodePrefix(text: string): string | null {
  const p = parsePrefix(text);
  if (!p.ok) return p.reason;
  const min = NODE_PREFIX_MIN_LENGTH[p.prefix.family];
  return p.prefix.length < min ? `is broader than /${min}, the broadest a node may be assigned for IPv${p.prefix.family}` : null;
}
