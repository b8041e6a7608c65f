// Radware DefensePro adapter, through Cyber Controller's (formerly Vision's) REST API: a
// session login (POST /mgmt/system/user/login, the JSESSIONID cookie), the device locked for
// the change, a network class holding the target (rsBWMNetworkTable) and a black list
// entry dropping every packet to it (rsNewBlockListTable), the policies updated so
// DefensePro applies them (updatepolicies), unlocked, logged out. Entries Bulwark made are
// named `bwk_<id>`, so listing and removal never touch the user's own. `auth_token` is
// `username:password`; `config.dp_ip` the DefensePro as Cyber Controller knows it;
// `config.tls_ca` the CA of Cyber Controller's (usually self-signed) certificate.
import { createHash } from 'node:crypto';
import type { MitigationIntent } from '../../domain/intent.js';
import { formatPrefix, parsePrefix } from '../../domain/prefix.js';
import type { HttpAnswer } from '../http-client.js';
import { applianceHttp, loginOf, messageOf } from './appliance.js';
import { AdapterError, CredentialsRefused, type AdapterSettings, type MitigationAdapter } from './types.js';

const NAME_PREFIX = 'bwk_';
/** DefensePro names are short: bwk_ and 12 hex characters of the prefix's hash. */
export const entryName = (prefix: string) => `${NAME_PREFIX}${createHash('sha256').update(prefix).digest('hex').slice(0, 12)}`;

/** 24 -> 255.255.255.0 (IPv4 masks are dotted; IPv6 ones the prefix length). */
function mask(family: 4 | 6, length: number): string {
  if (family === 6) return String(length);
  const bits = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.');
}

export function createRadwareAdapter(settings: AdapterSettings): MitigationAdapter {
  const dp = typeof settings.config?.dp_ip === 'string' ? settings.config.dp_ip : '';
  const cfg = `/mgmt/device/byip/${dp}/config`;
  const http = applianceHttp('Radware Cyber Controller', settings);
  const raw = (method: string, path: string, body: unknown, cookie: string | null) => http(method, path, body, cookie ? { cookie } : {});

  /**
   * One session, with the device locked when it changes configuration: logged in, run, and
   * unlocked and logged out whatever happened (Cyber Controller holds sessions and locks).
   */
  async function session<T>(change: boolean, fn: (call: (method: string, path: string, body?: unknown) => Promise<HttpAnswer>) => Promise<T>): Promise<T> {
    const credentials = loginOf('Radware', settings);
    if (!dp) throw new AdapterError('Radware: config.dp_ip (the DefensePro as Cyber Controller knows it) is required', false);
    const login = await raw('POST', '/mgmt/system/user/login', credentials, null);
    // A refused login is never retried: repeated failures lock the account.
    if (login.status === 401 || login.status === 403 || (login.status === 200 && !/"status"\s*:\s*"ok"/.test(login.body))) throw new CredentialsRefused(`Radware refused the login: ${messageOf(login)}`);
    if (login.status !== 200) throw new AdapterError(`Radware login: HTTP ${login.status} ${messageOf(login)}`, login.status >= 500 || login.status === 429);
    const cookie = login.cookies.map((c) => c.split(';')[0]).join('; ');
    const call = (method: string, path: string, body?: unknown) => raw(method, path, body, cookie);
    try {
      if (change) {
        const locked = await call('POST', `/mgmt/system/config/tree/device/byip/${dp}/lock`);
        if (locked.status !== 200) throw new AdapterError(`Radware: cannot lock DefensePro ${dp}: HTTP ${locked.status} ${messageOf(locked)}`, locked.status >= 500 || locked.status === 409);
      }
      try {
        return await fn(call);
      } finally {
        if (change) await call('POST', `/mgmt/system/config/tree/device/byip/${dp}/unlock`).catch(() => undefined);
      }
    } finally {
      await call('POST', '/mgmt/system/user/logout').catch(() => undefined);
    }
  }

  /** 200, or an "already exists"/"not found" the caller counts as done. */
  function check(what: string, a: HttpAnswer, done: RegExp): void {
    if (a.status === 200 || done.test(a.body)) return;
    throw new AdapterError(`Radware ${what}: HTTP ${a.status} ${messageOf(a)}`, a.status >= 500 && !/M_00386/.test(a.body));
  }

  function blackholeOnly(intent: MitigationIntent) {
    if (intent.kind !== 'blackhole') throw new AdapterError('the radware adapter blocks blackhole targets only; use a BGP speaker for FlowSpec', false);
    const p = parsePrefix(intent.prefix);
    if (!p.ok) throw new AdapterError(`Radware: ${p.reason}`, false);
    return { prefix: intent.prefix, family: p.prefix.family, length: p.prefix.length, address: intent.prefix.split('/')[0]!, name: entryName(intent.prefix) };
  }

  async function update(call: (method: string, path: string, body?: unknown) => Promise<HttpAnswer>) {
    const updated = await call('POST', `${cfg}/updatepolicies`);
    check('policy update', updated, /^$/);
  }

  return {
    announce: (intent) => {
      const t = blackholeOnly(intent);
      return session(true, async (call) => {
        const network = await call('POST', `${cfg}/rsBWMNetworkTable/${t.name}/0`, { rsBWMNetworkName: t.name, rsBWMNetworkSubIndex: 0, rsBWMNetworkAddress: t.address, rsBWMNetworkMask: mask(t.family, t.length), rsBWMNetworkMode: '1' });
        check(`network class for ${t.prefix}`, network, /already exists/i);
        const entry = await call('POST', `${cfg}/rsNewBlockListTable/${t.name}/`, {
          rsNewBlockListName: t.name,
          rsNewBlockListState: '1',
          rsNewBlockListAction: '1',
          rsNewBlockListSrcNetwork: 'any',
          rsNewBlockListDstNetwork: t.name,
          rsNewBlockListDescription: `Bulwark blackhole ${t.prefix}`,
        });
        check(`black list entry for ${t.prefix}`, entry, /already exists/i);
        await update(call);
      });
    },
    withdraw: (intent) => {
      const t = blackholeOnly(intent);
      return session(true, async (call) => {
        check(`black list entry for ${t.prefix}`, await call('DELETE', `${cfg}/rsNewBlockListTable/${t.name}/`), /not found|does not exist/i);
        check(`network class for ${t.prefix}`, await call('DELETE', `${cfg}/rsBWMNetworkTable/${t.name}/0`), /not found|does not exist/i);
        await update(call);
      });
    },
    test: () =>
      session(false, async (call) => {
        const t0 = performance.now();
        const listed = await call('GET', `${cfg}/rsNewBlockListTable?count=1`);
        check(`DefensePro ${dp}`, listed, /^$/);
        return { latencyMs: performance.now() - t0, detail: `logged in to Cyber Controller; DefensePro ${dp} answers` };
      }),
    list: () =>
      session(false, async (call) => {
        const listed = await call('GET', `${cfg}/rsNewBlockListTable?count=1024&props=rsNewBlockListName,rsNewBlockListDstNetwork`);
        check('black list', listed, /^$/);
        const names = ((JSON.parse(listed.body) as { rsNewBlockListTable?: Array<{ rsNewBlockListName: string }> }).rsNewBlockListTable ?? []).map((e) => e.rsNewBlockListName).filter((n) => n.startsWith(NAME_PREFIX));
        const out: MitigationIntent[] = [];
        for (const name of names) {
          const nets = await call('GET', `${cfg}/rsBWMNetworkTable/${name}`);
          const row = ((JSON.parse(nets.body) as { rsBWMNetworkTable?: Array<{ rsBWMNetworkAddress: string; rsBWMNetworkMask: string }> }).rsBWMNetworkTable ?? [])[0];
          if (!row) continue;
          const length = row.rsBWMNetworkMask.includes('.') ? row.rsBWMNetworkMask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0) : Number(row.rsBWMNetworkMask);
          const p = parsePrefix(`${row.rsBWMNetworkAddress}/${length}`);
          if (p.ok) out.push({ kind: 'blackhole', prefix: formatPrefix(p.prefix), nextHop: p.prefix.family === 4 ? '192.0.2.1' : '2001:db8::1', communities: ['65535:666'] });
        }
        return out;
      }),
    close: async () => {},
  };
}
