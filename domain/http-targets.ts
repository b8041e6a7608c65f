// Where an HTTP integration (webhook adapter now; cloud adapters, channels and runbook
// webhooks later) may connect. A tenant names the URL, so the control plane must not become
// a way into its own network: link-local (169.254.169.254 is every cloud's metadata service)
// is always refused; loopback and private ranges only when the deployment allows them
// (the all-in-one default does; a multi-tenant deployment should not). Pure.
import { mustParsePrefix, parseAddress, prefixesOverlap, type Prefix } from './prefix.js';

export type AddressClass = 'link_local' | 'loopback' | 'private' | 'public';

const RANGES: ReadonlyArray<{ prefix: Prefix; cls: Exclude<AddressClass, 'public'> }> = (
  [
    ['169.254.0.0/16', 'link_local'],
    ['fe80::/10', 'link_local'],
    ['0.0.0.0/8', 'loopback'], // "this host": connects to the local machine
    ['127.0.0.0/8', 'loopback'],
    ['::/128', 'loopback'],
    ['::1/128', 'loopback'],
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'private'],
    ['172.16.0.0/12', 'private'],
    ['192.168.0.0/16', 'private'],
    ['fc00::/7', 'private'],
  ] as const
).map(([cidr, cls]) => ({ prefix: mustParsePrefix(cidr), cls }));

/** The class of an IP address (an IPv4-mapped IPv6 one classed as its IPv4 address); null if `text` is not one. */
export function classifyAddress(text: string): AddressClass | null {
  const parsed = parseAddress(text.replace(/^\[|\]$/g, ''));
  if (!parsed) return null;
  // ::ffff:a.b.c.d, however it is written, reaches a.b.c.d.
  const mapped = parsed.family === 6 && parsed.value >> 32n === 0xffffn;
  const host: Prefix = mapped ? { family: 4, network: parsed.value & 0xffffffffn, length: 32 } : { family: parsed.family, network: parsed.value, length: parsed.family === 4 ? 32 : 128 };
  return RANGES.find((r) => prefixesOverlap(r.prefix, host))?.cls ?? 'public';
}

export interface TargetPolicy {
  /** Loopback and private addresses may be targets (link-local never). */
  allowPrivate: boolean;
}

/** Why an HTTP integration may not connect to `address`, or null when it may. */
export function refuseTargetAddress(address: string, policy: TargetPolicy): string | null {
  const cls = classifyAddress(address);
  if (cls === null || cls === 'public') return null;
  if (cls === 'link_local') return `${address} is link-local (cloud metadata lives there): never a target`;
  if (policy.allowPrivate) return null;
  return `${address} is ${cls === 'loopback' ? 'a loopback' : 'a private'} address, and this deployment allows only public targets (PRIVATE_HTTP_TARGETS=deny)`;
}

/** Why this URL may not be a target before any name is resolved (literal addresses, localhost), or null. */
export function refuseTargetUrl(url: URL, policy: TargetPolicy): string | null {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (/(^|\.)localhost\.?$/i.test(host)) return policy.allowPrivate ? null : `${host} is a loopback name, and this deployment allows only public targets (PRIVATE_HTTP_TARGETS=deny)`;
  return refuseTargetAddress(host, policy);
}
