// A local stand-in for the part of Cloudflare's API v4 that Magic Transit on demand uses:
// Bearer tokens (GET /accounts/{a}/tokens/verify), the account's IP prefixes and their BGP
// prefixes, and PATCH of a BGP prefix's `on_demand.advertised`; answers in the
// {success, errors, messages, result} envelope. Keeps state, can apply changes late, and
// can be told to fail.
import { startStandIn, type ProviderStandIn, type StandInAnswer } from './provider-stand-in.js';

export interface CloudflareApi extends ProviderStandIn {
  accountId: string;
  apiToken: string;
  advertised(cidr: string): boolean;
  set(cidr: string, on: boolean): void;
}

const envelope = (result: unknown): StandInAnswer => ({ status: 200, body: { success: true, errors: [], messages: [], result } });
const error = (status: number, code: number, message: string): StandInAnswer => ({ status, body: { success: false, errors: [{ code, message }], messages: [], result: null } });

/** `cidrs`: the account's onboarded prefixes; integration() onboards a fresh one each call. */
export async function startCloudflareApi(cidrs: string[] = []): Promise<CloudflareApi> {
  const accountId = '0123456789abcdef0123456789abcdef';
  const apiToken = 'cf-test-token-0123456789abcdef';
  const prefixes: Array<{ id: string; cidr: string; bgpId: string; advertised: boolean; pending: null | { value: boolean; reads: number } }> = [];
  const onboard = (cidr: string) => prefixes.push({ id: `pfx${prefixes.length}`, cidr, bgpId: `bgp${prefixes.length}`, advertised: false, pending: null });
  cidrs.forEach(onboard);
  const bgpView = (p: (typeof prefixes)[number]) => ({ id: p.bgpId, cidr: p.cidr, on_demand: { advertised: p.advertised, advertised_modified_at: null, on_demand_enabled: true, on_demand_locked: false } });

  const server = await startStandIn(
    '/client/v4',
    (req) => {
      if (req.headers.authorization !== `Bearer ${apiToken}`) return error(403, 10000, 'Authentication error');
      const acct = `/accounts/${accountId}`;
      if (!req.path.startsWith(acct)) return error(403, 9109, 'Unauthorized to access requested resource');
      const rest = req.path.slice(acct.length);
      if (req.method === 'GET' && rest === '/tokens/verify') return envelope({ id: 'tok', status: 'active' });
      if (req.method === 'GET' && rest === '/addressing/prefixes') return envelope(prefixes.map((p) => ({ id: p.id, cidr: p.cidr, account_id: accountId })));
      const list = /^\/addressing\/prefixes\/([^/]+)\/bgp\/prefixes$/.exec(rest);
      if (req.method === 'GET' && list) {
        const p = prefixes.find((x) => x.id === list[1]);
        return p ? envelope([bgpView(p)]) : error(404, 1000, 'not found');
      }
      const one = /^\/addressing\/prefixes\/([^/]+)\/bgp\/prefixes\/([^/]+)$/.exec(rest);
      const p = one && prefixes.find((x) => x.id === one[1] && x.bgpId === one[2]);
      if (!p) return error(404, 1000, 'not found');
      if (req.method === 'GET') {
        if (p.pending && --p.pending.reads <= 0) {
          p.advertised = p.pending.value;
          p.pending = null;
        }
        return envelope(bgpView(p));
      }
      if (req.method === 'PATCH') {
        if (req.json === undefined) return error(400, 1001, 'invalid JSON');
        const value: unknown = req.json.on_demand?.advertised;
        if (typeof value !== 'boolean') return error(400, 1002, 'on_demand.advertised must be a boolean');
        if (api.applyAfterReads > 0) p.pending = { value, reads: api.applyAfterReads };
        else p.advertised = value;
        return envelope(bgpView(p));
      }
      return error(405, 1003, 'method not allowed');
    },
    (status) => error(status, status === 429 ? 971 : 10000, 'simulated failure').body,
  );

  const advertised = (cidr: string) => prefixes.find((p) => p.cidr === cidr)?.advertised ?? false;
  const api: CloudflareApi = {
    ...server,
    type: 'cloudflare_magic_transit',
    accountId,
    apiToken,
    applyAfterReads: 0,
    advertised,
    set: (cidr, on) => void (prefixes.find((p) => p.cidr === cidr)!.advertised = on),
    integration() {
      // A /24 of its own from 100.64.0.0/10, onboarded now.
      const cidr = `100.${64 + Math.floor(prefixes.length / 256)}.${prefixes.length % 256}.0/24`;
      onboard(cidr);
      return { config: { prefixes: [cidr], account_id: accountId }, credentials: { api_token: apiToken } };
    },
    badCredentials: () => ({ api_token: 'cf-wrong-token-000000000000' }),
    diverting(config) {
      const states = (config.prefixes as string[]).map(advertised);
      return states.every(Boolean) ? 'on' : states.some(Boolean) ? 'partial' : 'off';
    },
    turnOff: (config) => (config.prefixes as string[]).forEach((c) => void (prefixes.find((p) => p.cidr === c)!.advertised = false)),
  };
  return api;
}
