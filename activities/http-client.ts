// The one HTTP client for integrations whose URL a tenant chose (the webhook adapter now;
// cloud adapters and notification channels later). It connects only to addresses the
// deployment's target policy allows (domain/http-targets.ts), checked on the address it
// actually dials, so a name that resolves (or re-resolves) to a private one cannot slip by.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { refuseTargetAddress, refuseTargetUrl, type TargetPolicy } from '../domain/http-targets.js';

/** The policy refused the target: a configuration problem, never worth a retry. */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

export interface HttpAnswer {
  status: number;
  /** At most the first 64 KiB. */
  body: string;
  /** Set-Cookie lines (a session an appliance hands out at login). */
  cookies: string[];
}

const MAX_ANSWER = 64 * 1024;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup for node:http that hands out only the addresses the policy allows. */
export function guardedLookup(policy: TargetPolicy) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = addresses.filter((a) => refuseTargetAddress(a.address, policy) === null);
      if (allowed.length === 0) {
        const reason = refuseTargetAddress(addresses[0]!.address, policy);
        return callback(Object.assign(new TargetRefused(`${hostname} resolves to ${reason}`), { code: 'ETARGETREFUSED' }), []);
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

export function postJson(url: string, body: string, headers: Record<string, string>, timeoutMs: number, policy: TargetPolicy): Promise<HttpAnswer> {
  return httpCall('POST', url, body, headers, timeoutMs, policy);
}

/**
 * One request to a URL the policy allows; `body` undefined sends none. `ca`: the PEM bundle
 * an https server's certificate must chain to (appliances with their own CA); verification
 * is never turned off.
 */
export async function httpCall(method: string, url: string, body: string | undefined, headers: Record<string, string>, timeoutMs: number, policy: TargetPolicy, ca?: string): Promise<HttpAnswer> {
  const target = new URL(url);
  const refused = refuseTargetUrl(target, policy);
  if (refused) throw new TargetRefused(refused);
  const options: RequestOptions = {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) },
    lookup: guardedLookup(policy) as RequestOptions['lookup'],
    signal: AbortSignal.timeout(timeoutMs),
    ...(ca ? { ca } : {}),
  };
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = send(target, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ANSWER) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER), cookies: res.headers['set-cookie'] ?? [] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
