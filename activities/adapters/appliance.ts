// What the adapters for appliances reached over their own REST API share (F5 BIG-IP,
// Radware Cyber Controller): one JSON request through the target policy with the
// appliance's CA, transport failures sorted into what a retry can mend, the
// `username:password` they log in with, and the message of an error answer.
import type { HttpAnswer } from '../http-client.js';
import { httpCall, TargetRefused } from '../http-client.js';
import { AdapterError, type AdapterSettings } from './types.js';

/** An error no retry mends: the certificate does not chain to the configured CA. */
export function certificateError(err: unknown): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/i.test((err as { code?: string }).code ?? '');
}

/** A failed connection as an AdapterError: retryable unless the policy or the certificate said no. */
export function transportError(where: string, err: unknown): AdapterError {
  const e = err as Error & { code?: string };
  if (err instanceof TargetRefused || e.code === 'ETARGETREFUSED') return new AdapterError(`${where}: ${e.message}`, false);
  if (certificateError(err)) return new AdapterError(`${where}: its TLS certificate does not verify (${e.message}); set config.tls_ca to the CA that signed it`, false);
  return new AdapterError(`${where} unreachable: ${e.message}`);
}

/** JSON requests to the appliance at `settings.endpoint`, its certificate checked against `config.tls_ca`. */
export function applianceHttp(product: string, settings: AdapterSettings) {
  const base = settings.endpoint.replace(/\/+$/, '');
  const ca = typeof settings.config?.tls_ca === 'string' ? settings.config.tls_ca : undefined;
  return async (method: string, path: string, body: unknown, headers: Record<string, string>): Promise<HttpAnswer> => {
    try {
      return await httpCall(method, `${base}${path}`, body === undefined ? undefined : JSON.stringify(body), { 'content-type': 'application/json', ...headers }, settings.timeoutMs, settings.targets, ca);
    } catch (err) {
      throw transportError(`${product} at ${base}`, err);
    }
  };
}

/** `auth_token` as `username:password`. */
export function loginOf(product: string, settings: AdapterSettings): { username: string; password: string } {
  const token = settings.authToken ?? '';
  const colon = token.indexOf(':');
  if (colon <= 0) throw new AdapterError(`${product}: auth_token must be username:password`, false);
  return { username: token.slice(0, colon), password: token.slice(colon + 1) };
}

/** The appliance's own words in an error answer ({"message"}), else the start of the body. */
export function messageOf(a: HttpAnswer): string {
  try {
    return (JSON.parse(a.body) as { message?: string }).message ?? a.body.slice(0, 200);
  } catch {
    return a.body.slice(0, 200);
  }
}
