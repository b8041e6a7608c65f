// Cloudflare's API v4 as the Cloudflare providers (Magic Transit, WAF) call it: a Bearer
// token, and answers in the {success, errors, result} envelope, of which the result is
// returned. https://developers.cloudflare.com/fundamentals/api/
import { providerApi } from './provider-api.js';
import { ProviderError, type ProviderSettings } from './types.js';

const errorText = (body: { errors?: Array<{ code?: number; message?: string }> }) =>
  (body.errors ?? []).map((e) => `${e.code ?? ''} ${e.message ?? ''}`.trim()).join('; ') || undefined;

export function cloudflareApi(s: ProviderSettings<unknown, unknown>, token: string) {
  const api = providerApi({ name: 'Cloudflare', ...s, headers: () => ({ authorization: `Bearer ${token}` }), errorText });
  /** The result; with `accept`, null for those error statuses (a lookup's 404). */
  function call<T>(method: string, path: string, json?: unknown): Promise<T>;
  function call<T>(method: string, path: string, json: unknown, accept: number[]): Promise<T | null>;
  async function call<T>(method: string, path: string, json?: unknown, accept?: number[]): Promise<T | null> {
    const { status, body } = await api(method, path, { json, ...(accept ? { accept } : {}) });
    if (accept?.includes(status)) return null;
    // A 2xx that says it failed all the same.
    if (body.success === false) throw new ProviderError(`Cloudflare ${method} ${path}: HTTP ${status} (${errorText(body) ?? 'success: false'})`, false);
    return body.result as T;
  }
  return call;
}
