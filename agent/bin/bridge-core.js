// @ts-check
// What every bridge beside a BGP speaker shares (exabgp-bridge, bird-bridge, frr-bridge):
// the intent validation every route passes before its speaker sees it, and the HTTP server
// that carries the power to announce routes. That server:
// - refuses to listen beyond loopback without a bearer token (<PREFIX>_TOKEN);
// - serves TLS when given a certificate and key (<PREFIX>_TLS_CERT, <PREFIX>_TLS_KEY: PEM files);
// - logs every change it makes, and every refused caller, with the caller's address.
// The protocol is one for all bridges (the adapters share activities/adapters/bridge.ts):
//   GET /health, GET /routes -> { ok, routes: [intent] }, POST /announce and /withdraw with
//   an intent (domain/intent.ts) -> 200 { ok } | 400 invalid_intent | 401 | 422 refused by
//   the speaker | 504 the speaker did not answer.
// Needs nothing but Node.js: deploy it with the bridge that requires it (same folder).
'use strict';

const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const crypto = require('node:crypto');
const fs = require('node:fs');

const MAX_BODY = 64 * 1024;

class InvalidIntent extends Error {}
/** The speaker behind the bridge does not answer (health answers 503). */
class SpeakerUnavailable extends Error {}
/** @param {string} msg @returns {never} */
const fail = (msg) => {
  throw new InvalidIntent(msg);
};

/** @param {string} addr @returns {bigint} */
function ipToBigInt(addr) {
  if (net.isIPv4(addr)) return addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  /** @param {string | undefined} s */
  const groups = (s) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** A CIDR with host bits zero. Returns its IP version. @param {unknown} v @param {string} field @returns {4 | 6} */
function cidr(v, field) {
  if (typeof v !== 'string' || v.length > 50) fail(`${field} must be a CIDR string`);
  const parts = /** @type {string} */ (v).split('/');
  if (parts.length !== 2) fail(`${field} "${v}" must be address/length`);
  const [addr, lenText] = /** @type {[string, string]} */ (parts);
  const family = net.isIP(addr);
  // Dotted-quad IPv6 tails and zone ids are legal for net.isIP but never needed here.
  if (family === 0 || addr.includes('%') || (family === 6 && addr.includes('.'))) fail(`${field} "${v}" is not a valid IP prefix`);
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) fail(`${field} "${v}" has an invalid prefix length`);
  const host = (1n << BigInt(bits - Number(lenText))) - 1n;
  if ((ipToBigInt(addr) & host) !== 0n) fail(`${field} "${v}" has host bits set`);
  return /** @type {4 | 6} */ (family);
}

/** @param {unknown} v @param {number} min @param {number} max */
const isInt = (v, min, max) => Number.isInteger(v) && /** @type {number} */ (v) >= min && /** @type {number} */ (v) <= max;

/** @param {unknown} obj @param {string[]} allowed @param {string} where @returns {Record<string, any>} */
function onlyKeys(obj, allowed, where) {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) fail(`${where} must be an object`);
  for (const k of Object.keys(/** @type {object} */ (obj))) if (!allowed.includes(k)) fail(`${where} has unknown field "${k}"`);
  return /** @type {Record<string, any>} */ (obj);
}

/** @param {unknown} list @param {string} field @param {(x: any) => boolean} ok @returns {any[]} */
function listOf(list, field, ok) {
  if (!Array.isArray(list) || list.length === 0 || list.length > 16 || !list.every(ok)) fail(`${field} is not a valid list`);
  return /** @type {any[]} */ (list);
}

const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'];
const FRAGMENTS = ['not-a-fragment', 'dont-fragment', 'is-fragment', 'first-fragment', 'last-fragment'];
/** @param {any} r */
const range = (r) => r && isInt(r.from, 0, 65535) && isInt(r.to, 0, 65535) && r.from <= r.to && Object.keys(r).length === 2;

/**
 * @typedef {{ from: number, to: number }} PortRange
 * @typedef {{ kind: 'blackhole', family: 4 | 6, prefix: string, nextHop: string, communities: Array<[number, number]>, key: string }} Blackhole
 * @typedef {{ protocols?: number[], source?: string, sourcePorts?: PortRange[], destinationPorts?: PortRange[], packetLengths?: PortRange[], tcpFlags?: string[], fragments?: string[] }} FlowMatch
 * @typedef {{ kind: 'flowspec', family: 4 | 6, destination: string, match: FlowMatch, action: { type: 'discard' } | { type: 'rate_limit', bytesPerSecond: number }, key: string }} Flow
 * @typedef {Blackhole | Flow} Route
 */

/**
 * Validates an intent (domain/intent.ts) strictly: an unknown field, a wrong type or a
 * broken prefix is refused before any speaker sees it. `key` names the route (one per
 * prefix for a blackhole, one per match for a flow).
 * @param {unknown} body @returns {Route}
 */
function validateIntent(body) {
  const intent = onlyKeys(body, ['kind', 'prefix', 'nextHop', 'communities', 'destination', 'match', 'action'], 'intent');
  if (intent.kind === 'blackhole') {
    onlyKeys(intent, ['kind', 'prefix', 'nextHop', 'communities'], 'blackhole intent');
    const family = cidr(intent.prefix, 'prefix');
    if (net.isIP(intent.nextHop) !== family) fail(`nextHop must be an IPv${family} address`);
    const communities = listOf(intent.communities, 'communities', (c) => {
      const m = /^(\d{1,5}):(\d{1,5})$/.exec(String(c));
      return !!m && Number(m[1]) <= 65535 && Number(m[2]) <= 65535;
    }).map((c) => /** @type {[number, number]} */ (String(c).split(':').map(Number)));
    return { kind: 'blackhole', family, prefix: intent.prefix, nextHop: intent.nextHop, communities, key: `route ${intent.prefix}` };
  }
  if (intent.kind !== 'flowspec') fail('kind must be "blackhole" or "flowspec"');
  onlyKeys(intent, ['kind', 'destination', 'match', 'action'], 'flowspec intent');
  const family = cidr(intent.destination, 'destination');
  const m = onlyKeys(intent.match, ['protocols', 'source', 'sourcePorts', 'destinationPorts', 'packetLengths', 'tcpFlags', 'fragments'], 'match');
  /** @type {FlowMatch} */
  const match = {};
  if (m.source !== undefined) {
    if (cidr(m.source, 'match.source') !== family) fail('match.source must be the same IP version as the destination');
    match.source = m.source;
  }
  if (m.protocols !== undefined) match.protocols = listOf(m.protocols, 'match.protocols', (p) => isInt(p, 0, 255));
  if (m.sourcePorts !== undefined) match.sourcePorts = listOf(m.sourcePorts, 'match.sourcePorts', range);
  if (m.destinationPorts !== undefined) match.destinationPorts = listOf(m.destinationPorts, 'match.destinationPorts', range);
  if (m.packetLengths !== undefined) match.packetLengths = listOf(m.packetLengths, 'match.packetLengths', range);
  if (m.tcpFlags !== undefined) match.tcpFlags = listOf(m.tcpFlags, 'match.tcpFlags', (f) => TCP_FLAGS.includes(f));
  if (m.fragments !== undefined) match.fragments = listOf(m.fragments, 'match.fragments', (f) => FRAGMENTS.includes(f));
  const a = onlyKeys(intent.action, ['type', 'bytesPerSecond'], 'action');
  /** @type {Flow['action']} */
  let action;
  if (a.type === 'discard' && a.bytesPerSecond === undefined) action = { type: 'discard' };
  else if (a.type === 'rate_limit' && typeof a.bytesPerSecond === 'number' && a.bytesPerSecond >= 0 && a.bytesPerSecond <= 3.4e38) action = { type: 'rate_limit', bytesPerSecond: a.bytesPerSecond };
  else fail('action must be {type:"discard"} or {type:"rate_limit", bytesPerSecond}');
  return { kind: 'flowspec', family, destination: intent.destination, match, action, key: `flow ${intent.destination} ${JSON.stringify(match)}` };
}

// ---------------------------------------------------------------- the HTTP server

/** @param {string} name */
function logger(name) {
  /** @param {string} msg */
  return (msg) => process.stderr.write(`${name}: ${msg}\n`);
}

/** @param {http.ServerResponse} res @param {number} status @param {unknown} body */
function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** @param {http.IncomingMessage} req @returns {Promise<string>} */
function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new InvalidIntent(`body exceeds ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** @param {string} host */
const isLoopback = (host) => host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));

/**
 * @typedef {{ status: number, body: Record<string, unknown> }} Answer
 * @typedef {{
 *   name: string,
 *   envPrefix: string,
 *   defaultListen: string,
 *   health: () => Record<string, unknown> | Promise<Record<string, unknown>>,
 *   routes: () => unknown[] | Promise<unknown[]>,
 *   change: (op: 'announce' | 'withdraw', route: Route, intent: unknown) => Promise<Answer>,
 * }} BridgeSpec
 */

/**
 * Reads the bridge's listen address, token and TLS files from the environment and serves
 * the bridge protocol; exits with a message when the settings are unsafe or broken.
 * @param {BridgeSpec} spec
 */
function serveBridge(spec) {
  const log = logger(spec.name);
  const env = (/** @type {string} */ k) => process.env[`${spec.envPrefix}_${k}`] || '';
  const token = env('TOKEN');
  const listen = env('LISTEN') || spec.defaultListen;
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(listen);
  const die = (/** @type {string} */ msg) => {
    log(msg);
    process.exit(2);
  };
  if (!m) return die(`${spec.envPrefix}_LISTEN "${listen}" must be host:port`);
  const host = /** @type {string} */ (m[1]);
  // Whoever reaches this port can blackhole any address: beyond loopback, only with a token.
  if (!token && !isLoopback(host)) return die(`refusing to listen on ${listen} without ${spec.envPrefix}_TOKEN: whoever reaches it could announce routes`);
  const certFile = env('TLS_CERT');
  const keyFile = env('TLS_KEY');
  if (Boolean(certFile) !== Boolean(keyFile)) return die(`${spec.envPrefix}_TLS_CERT and ${spec.envPrefix}_TLS_KEY go together`);

  /** @param {http.IncomingMessage} req */
  const caller = (req) => `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  /** @param {http.IncomingMessage} req */
  const authorized = (req) => {
    if (!token) return true;
    const given = Buffer.from(String(req.headers.authorization || ''));
    const want = Buffer.from(`Bearer ${token}`);
    return given.length === want.length && crypto.timingSafeEqual(given, want);
  };

  /** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
  async function handle(req, res) {
    const path = (req.url || '').split('?')[0];
    if (!authorized(req)) {
      log(`refused ${req.method} ${path} from ${caller(req)}: bad or missing bearer token`);
      return reply(res, 401, { ok: false, error: { code: 'unauthorized', message: 'bad or missing bearer token' } });
    }
    if (req.method === 'GET' && (path === '/health' || path === '/routes')) {
      try {
        return reply(res, 200, path === '/health' ? { ok: true, ...(await spec.health()) } : { ok: true, routes: await spec.routes() });
      } catch (err) {
        if (!(err instanceof SpeakerUnavailable)) throw err;
        return reply(res, 503, { ok: false, error: { code: 'speaker_unavailable', message: err.message } });
      }
    }
    if (req.method === 'POST' && (path === '/announce' || path === '/withdraw')) {
      const op = path === '/announce' ? 'announce' : 'withdraw';
      /** @type {unknown} */
      let intent;
      /** @type {Route} */
      let route;
      try {
        const text = await readBody(req);
        try {
          intent = JSON.parse(text);
        } catch {
          throw new InvalidIntent('body is not valid JSON');
        }
        route = validateIntent(intent);
      } catch (err) {
        if (!(err instanceof InvalidIntent)) throw err;
        log(`refused ${op} from ${caller(req)}: ${err.message}`);
        return reply(res, 400, { ok: false, error: { code: 'invalid_intent', message: err.message } });
      }
      const t0 = process.hrtime.bigint();
      const answer = await spec.change(op, route, intent);
      const ms = Math.round(Number(process.hrtime.bigint() - t0) / 1e4) / 100;
      const outcome = answer.status === 200 ? 'done' : `failed (${answer.status}: ${/** @type {any} */ (answer.body.error)?.message ?? ''})`;
      log(`${op} ${route.key} by ${caller(req)}: ${outcome} in ${ms} ms`);
      return reply(res, answer.status, answer.status === 200 ? { ...answer.body, latency_ms: ms } : answer.body);
    }
    return reply(res, 404, { ok: false, error: { code: 'not_found', message: `no endpoint ${req.method} ${path}` } });
  }

  /** @type {http.RequestListener} */
  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      log(`error: ${err && err.stack}`);
      if (!res.headersSent) reply(res, 500, { ok: false, error: { code: 'internal_error', message: 'bridge error' } });
    });
  };
  let server;
  try {
    server = certFile ? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, onRequest) : http.createServer(onRequest);
  } catch (err) {
    return die(`cannot read the TLS certificate or key: ${/** @type {Error} */ (err).message}`);
  }
  server.keepAliveTimeout = 65_000;
  server.listen(Number(m[2]), host, () => log(`listening on ${certFile ? 'https' : 'http'}://${listen}${token ? ' (token required)' : ' (loopback, no token)'}`));
  server.on('error', (err) => {
    log(`cannot listen on ${listen}: ${err.message}`);
    process.exit(1);
  });
  return server;
}

module.exports = { InvalidIntent, SpeakerUnavailable, validateIntent, serveBridge, logger };
