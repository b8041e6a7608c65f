// The one way a scrubbing provider talks HTTP: every request through the deployment's
// target policy (activities/http-client.ts), each answer sorted into what a retry can mend
// (unreachable, 429, 5xx) and what it cannot (a refused target, bad credentials, a request
// the provider rejects): the latter are never retried, as some providers lock out a
// caller after a few bad logins. Each provider adds its own authentication and reads its
// own error format.
import type { TargetPolicy } from '../../domain/http-targets.js';
import { httpCall, TargetRefused } from '../http-client.js';
import { ProviderError } from './types.js';

export interface ProviderRequest {
  method: string;
  /** The full URL, query included. */
  url: string;
  body: string | undefined;
}

export interface ProviderApiOptions {
  /** The provider's name, for messages ("Vultr"). */
  name: string;
  baseUrl: string;
  timeoutMs: number;
  targets: TargetPolicy;
  /** The request's headers: authentication (which may sign the request) and content type. */
  headers(req: ProviderRequest): Record<string, string> | Promise<Record<string, string>>;
  /** The provider's own words out of an error answer's parsed body, if it has any. */
  errorText?(body: any): string | undefined;
}

export interface ProviderAnswer {
  status: number;
  /** The parsed JSON body ({} when empty or not JSON). */
  body: any;
}

export interface ProviderCallOptions {
  /** A JSON body. */
  json?: unknown;
  /** A form-encoded body (application/x-www-form-urlencoded), as ordered pairs. */
  form?: Array<[string, string]>;
  /** Error statuses the caller handles itself (a 404 on a lookup): answered, not thrown. */
  accept?: number[];
}

export type ProviderCall = (method: string, path: string, options?: ProviderCallOptions) => Promise<ProviderAnswer>;

export function providerApi(o: ProviderApiOptions): ProviderCall {
  const base = o.baseUrl.replace(/\/+$/, '');
  return async (method, path, options = {}) => {
    const url = base + path;
    const body = options.form ? new URLSearchParams(options.form).toString() : options.json === undefined ? undefined : JSON.stringify(options.json);
    const contentType = options.form ? 'application/x-www-form-urlencoded' : 'application/json';
    const headers = { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': contentType }), ...(await o.headers({ method, url, body })) };
    let answer;
    try {
      answer = await httpCall(method, url, body, headers, o.timeoutMs, o.targets);
    } catch (err) {
      if (err instanceof TargetRefused || (err as { code?: string }).code === 'ETARGETREFUSED') throw new ProviderError(`${o.name} API refused: ${(err as Error).message}`, false);
      throw new ProviderError(`${o.name} API unreachable: ${(err as Error).message}`);
    }
    let parsed: any = {};
    try {
      parsed = answer.body ? JSON.parse(answer.body) : {};
    } catch {
      // A proxy's error page: judged by the status alone.
    }
    if ((answer.status >= 200 && answer.status < 300) || options.accept?.includes(answer.status)) return { status: answer.status, body: parsed };
    const said = o.errorText?.(parsed);
    const what = `${o.name} ${method} ${path}: HTTP ${answer.status}${said ? ` (${said})` : ''}`;
    // 401/403: the credentials are wrong or lack rights; other 4xx: the request is. Retrying cannot help.
    throw new ProviderError(what, answer.status === 429 || answer.status >= 500);
  };
}
