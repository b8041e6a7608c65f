// What several scrubbing types' configs share: the prefixes a diversion covers, and the
// filter rules that firewall-type providers (Hetzner, Linode, OVH, DigitalOcean) apply
// while a diversion runs. Pure.
import { z } from 'zod';
import { CidrOrIp } from '../wire.js';

/** The addresses an integration's diversion covers: its rules' targets must lie within; none may be allowlisted. */
export const Prefixes = z.array(CidrOrIp).min(1, 'must name at least one prefix the diversion covers').max(64, 'must hold at most 64 prefixes');

export const FILTER_PROTOCOLS = ['tcp', 'udp', 'icmp', 'any'] as const;

/** A destination port or range, "27015" or "27000-27050". */
export const PortRange = z
  .string()
  .regex(/^\d{1,5}(-\d{1,5})?$/, 'must be a port or a range "low-high"')
  .refine((v) => {
    const [lo, hi = lo] = v.split('-').map(Number) as [number, number?];
    return lo >= 1 && hi! <= 65535 && lo <= hi!;
  }, 'must be ports 1-65535, low before high');

/**
 * Traffic a firewall-type provider drops while the diversion runs (or, for DigitalOcean,
 * the allow rule it closes): a protocol, optionally from some sources (absent: from
 * anywhere) to some destination ports (tcp and udp only).
 */
export const FilterRule = z
  .strictObject({
    protocol: z.enum(FILTER_PROTOCOLS),
    sources: z.array(CidrOrIp).min(1).max(16, 'must hold at most 16 sources').optional(),
    ports: PortRange.optional(),
  })
  .refine((r) => r.ports === undefined || r.protocol === 'tcp' || r.protocol === 'udp', { message: 'ports apply to tcp and udp only', path: ['ports'] });
export type FilterRule = z.infer<typeof FilterRule>;

export const FilterRules = (max: number) => z.array(FilterRule).min(1, 'must hold at least one rule').max(max, `must hold at most ${max} rules`);

export const BearerToken = (what: string) => z.string().min(8, `must be the ${what}`).max(500);
