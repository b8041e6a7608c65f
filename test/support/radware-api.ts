// A local stand-in for the part of Radware Cyber Controller's REST API the radware adapter
// uses, over HTTPS with a self-signed certificate: session login (JSESSIONID cookie) and
// logout, the device lock, network classes (rsBWMNetworkTable) and black list entries
// (rsNewBlockListTable) with Cyber Controller's "already exists" (M_00386) answers, and
// updatepolicies, which applies the black list only while the device is locked.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { failureSwitch, selfSignedCert } from './tls.js';

export interface RadwareApi {
  baseUrl: string;
  ca: string;
  credentials: string;
  dpIp: string;
  /** What DefensePro enforces: black list entries applied by updatepolicies, with their destination networks. */
  applied(): Array<{ name: string; destination: string }>;
  /** Logins refused for wrong credentials. */
  refusedLogins: number;
  /** Sessions still open (logged in, not logged out). */
  openSessions(): number;
  /** Whether the device is locked now. */
  locked(): boolean;
  /** The next `n` requests answer `status` (the appliance busy or restarting). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

export async function startRadwareApi(): Promise<RadwareApi> {
  const { cert, key } = selfSignedCert();
  const user = 'radware';
  const password = 'cc-pass-456';
  const dpIp = '10.105.192.33';
  const sessions = new Set<string>();
  const networks = new Map<string, { address: string; mask: string }>();
  const blockList = new Map<string, { dst: string; src: string }>();
  let applied: Array<{ name: string; destination: string }> = [];
  let lockedBy: string | null = null;
  const state = { refusedLogins: 0 };

  const failing = failureSwitch();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing.answered(res)) return;
      const url = new URL(req.url ?? '/', 'https://x');
      const path = url.pathname;
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      const failed = (status: number, message: string) => answer(status, { status: 'error', message });
      let body: any;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        return failed(400, 'M_00001: malformed JSON');
      }
      if (req.method === 'POST' && path === '/mgmt/system/user/login') {
        if (body?.username !== user || body?.password !== password) {
          state.refusedLogins++;
          return answer(200, { status: 'error', message: 'Incorrect user name or password' });
        }
        const id = randomBytes(16).toString('hex').toUpperCase();
        sessions.add(id);
        return answer(200, { status: 'ok', jsessionid: id }, { 'set-cookie': `JSESSIONID=${id}; Path=/; Secure; HttpOnly` });
      }
      const session = /JSESSIONID=([0-9A-F]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
      if (!session || !sessions.has(session)) return failed(403, 'M_00023: session expired or not logged in');
      if (req.method === 'POST' && path === '/mgmt/system/user/logout') {
        sessions.delete(session);
        return answer(200, { status: 'ok' });
      }
      const lock = /^\/mgmt\/system\/config\/tree\/device\/byip\/([^/]+)\/(lock|unlock)$/.exec(path);
      if (req.method === 'POST' && lock) {
        if (lock[1] !== dpIp) return failed(404, `M_00101: no device ${lock[1]}`);
        if (lock[2] === 'lock') {
          if (lockedBy && lockedBy !== session) return failed(409, 'M_00300: the device is locked by another user');
          lockedBy = session;
        } else if (lockedBy === session) lockedBy = null;
        return answer(200, { status: 'ok' });
      }
      const cfg = /^\/mgmt\/device\/byip\/([^/]+)\/config\/(.*)$/.exec(path);
      if (!cfg || cfg[1] !== dpIp) return failed(404, 'M_00101: no such device or path');
      const rest = cfg[2]!;
      const change = req.method !== 'GET';
      if (change && lockedBy !== session) return failed(403, 'M_00303: lock the device before changing its configuration');
      let m: RegExpExecArray | null;
      if ((m = /^rsBWMNetworkTable\/([^/]+)\/(\d+)$/.exec(rest))) {
        const name = m[1]!;
        if (req.method === 'POST') {
          if (networks.has(name)) return failed(500, `M_00386: Network ${name} already exists`);
          if (typeof body?.rsBWMNetworkAddress !== 'string' || typeof body.rsBWMNetworkMask !== 'string') return failed(400, 'M_00122: address and mask are required');
          networks.set(name, { address: body.rsBWMNetworkAddress, mask: body.rsBWMNetworkMask });
          return answer(200, { status: 'ok' });
        }
        if (req.method === 'DELETE') {
          if ([...blockList.values()].some((b) => b.dst === name)) return failed(500, `M_00387: network ${name} is in use by a black list entry`);
          return networks.delete(name) ? answer(200, { status: 'ok' }) : failed(404, `M_00388: Network ${name} not found`);
        }
      }
      if ((m = /^rsBWMNetworkTable\/([^/]+)$/.exec(rest)) && req.method === 'GET') {
        const n = networks.get(m[1]!);
        return answer(200, { rsBWMNetworkTable: n ? [{ rsBWMNetworkName: m[1], rsBWMNetworkSubIndex: '0', rsBWMNetworkAddress: n.address, rsBWMNetworkMask: n.mask, rsBWMNetworkMode: '1' }] : [] });
      }
      if ((m = /^rsNewBlockListTable\/([^/]+)\/?$/.exec(rest))) {
        const name = m[1]!;
        if (req.method === 'POST') {
          if (blockList.has(name)) return failed(500, `M_00386: Black list ${name} already exists`);
          if (!networks.has(body?.rsNewBlockListDstNetwork)) return failed(400, `M_00130: unknown network ${String(body?.rsNewBlockListDstNetwork)}`);
          blockList.set(name, { dst: body.rsNewBlockListDstNetwork, src: body.rsNewBlockListSrcNetwork ?? 'any' });
          return answer(200, { status: 'ok' });
        }
        if (req.method === 'DELETE') return blockList.delete(name) ? answer(200, { status: 'ok' }) : failed(404, `M_00388: Black list ${name} not found`);
      }
      if (rest === 'rsNewBlockListTable' && req.method === 'GET') {
        return answer(200, { rsNewBlockListTable: [...blockList.entries()].map(([name, b]) => ({ rsNewBlockListName: name, rsNewBlockListDstNetwork: b.dst, rsNewBlockListSrcNetwork: b.src })) });
      }
      if (rest === 'updatepolicies' && req.method === 'POST') {
        applied = [...blockList.entries()].map(([name, b]) => {
          const n = networks.get(b.dst)!;
          return { name, destination: `${n.address}/${n.mask}` };
        });
        return answer(200, { status: 'ok' });
      }
      return failed(404, `M_00101: no such path ${rest}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: cert,
    credentials: `${user}:${password}`,
    dpIp,
    applied: () => structuredClone(applied),
    get refusedLogins() {
      return state.refusedLogins;
    },
    openSessions: () => sessions.size,
    locked: () => lockedBy !== null,
    failNext: failing.failNext,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
