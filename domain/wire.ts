// The pieces both wire protocols (the REST API and the agent protocol) build from, and the
// one rule for each kind of input:
// - JSON bodies carry JSON types: a number is a JSON number, never a numeric string.
// - Path and query numbers are decimal digits only (no sign, exponent, hex or blanks).
// - A message is a predicate of its field ("must be ...", "is required ..."), or a reason
//   after a colon; the field is named once, by the API's error renderer.
import { z } from 'zod';
import { parseAddress, parsePrefix } from './prefix.js';

/** An IPv4 or IPv6 address (never a prefix). */
export const Address = z
  .string()
  .max(64)
  .refine((v) => parseAddress(v) !== null, 'must be an IPv4 or IPv6 address')
  .meta({ example: '203.0.113.10' });

/** An address or CIDR prefix. */
export const CidrOrIp = z
  .string()
  .max(64)
  .superRefine((v, ctx) => {
    const r = parsePrefix(v);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason });
  });

export const IfName = z.string().regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'must be 1-15 letters, digits or _.:@-');

const DIGITS = /^[0-9]+$/;

/** A whole number in a query string, `min`-`max`, written in decimal digits. */
export function queryInt(min: number, max: number, unit = '') {
  const range = `must be ${min}-${max}${unit}`;
  return z
    .string()
    .regex(DIGITS, `${range}, in decimal digits`)
    .transform(Number)
    .pipe(z.number().min(min, range).max(max, range));
}

/** An http(s) URL a tenant names; never with credentials in it (it is stored and shown): `secretHint` says where they go. */
export const httpUrl = (secretHint: string) =>
  z
    .string()
    .max(2000)
    .superRefine((v, ctx) => {
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        return void ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
      else if (u.username || u.password) ctx.addIssue({ code: 'custom', message: `must not carry credentials (user:password@); ${secretHint}` });
    });
