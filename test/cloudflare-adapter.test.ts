// The cloudflare adapter through the whole stack against local stand-ins of Cloudflare's
// API: magic_firewall mode turns blackhole and FlowSpec rules into Magic Firewall block
// rules (and removes only its own); ip_access_rules mode blocks a FlowSpec rule's source
// from a zone and refuses what it cannot express, a blackhole before the rule is asked (its
// capabilities say FlowSpec only); a refused token is reported, not retried; an overloaded
// or rate-limiting API is retried until the rule lands.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expression } from '../activities/adapters/cloudflare.js';
import { mitigationAdapters } from '../db/schema.js';
import { startCloudflareRulesetsApi, type CloudflareRulesetsApi } from './support/cloudflare-rulesets-api.js';
import { startCloudflareWafApi, type CloudflareWafApi } from './support/cloudflare-waf-api.js';
import { expectError } from './support/expect-error.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let call: Caller;
let magic: CloudflareRulesetsApi;
let waf: CloudflareWafApi;

beforeAll(async () => {
  magic = await startCloudflareRulesetsApi();
  waf = await startCloudflareWafApi();
  stack = await startStack(inject('env'));
  ({ call } = await stack.tenant());
});
afterAll(async () => {
  await stack?.stop();
  await magic?.close();
  await waf?.close();
});

async function adapter(body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'cloudflare', name: 'cloudflare', ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.adapter.id as number;
}

async function rule(body: Record<string, unknown>) {
  return call('POST', '/api/v1/mitigation/rules', body);
}

describe('cloudflare: magic_firewall', () => {
  it('blocks a blackhole’s and a FlowSpec rule’s traffic at Cloudflare’s edge, and removes only its own rules', async () => {
    magic.addUserRule('ip.src in {192.0.2.0/24}');
    const id = await adapter({ endpoint: magic.baseUrl, auth_token: magic.token, config: { mode: 'magic_firewall', account_id: magic.accountId } });
    const tested = await call('POST', `/api/v1/mitigation/adapters/${id}/test`);
    expect(tested.body, JSON.stringify(tested.body)).toMatchObject({ ok: true, success: true });

    const blackhole = await rule({ adapter_id: id, target_ip: '203.0.113.95', intent_type: 'blackhole' });
    expect(blackhole.status, JSON.stringify(blackhole.body)).toBe(200);
    const flow = await rule({ adapter_id: id, target_ip: '203.0.113.96', intent_type: 'flowspec', match: { protocol: 'udp', source_port: 53, destination_port: '1000-2000' } });
    expect(flow.status, JSON.stringify(flow.body)).toBe(200);
    expect(magic.rules()!.map((r) => [r.action, r.expression])).toEqual([
      ['block', 'ip.src in {192.0.2.0/24}'],
      ['block', 'ip.dst in {203.0.113.95/32}'],
      ['block', 'ip.dst in {203.0.113.96/32} and ip.proto in {17} and udp.srcport in {53} and udp.dstport in {1000..2000}'],
    ]);
    for (const r of [blackhole, flow]) await call('POST', `/api/v1/mitigation/rules/${r.body.rule.id}/withdraw`);
    expect(magic.rules()!.map((r) => r.expression)).toEqual(['ip.src in {192.0.2.0/24}']);
  });

  it('retries what a retry can mend: Cloudflare overloaded, then rate-limiting, for a moment', async () => {
    const id = await adapter({ endpoint: magic.baseUrl, auth_token: magic.token, config: { mode: 'magic_firewall', account_id: magic.accountId } });
    for (const status of [503, 429]) {
      magic.failNext(2, status);
      const r = await rule({ adapter_id: id, target_ip: '203.0.113.97', intent_type: 'blackhole' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.rule.status).toBe('active');
      expect(magic.rules()!.map((x) => x.expression)).toContain('ip.dst in {203.0.113.97/32}');
      magic.failNext(1, status);
      await call('POST', `/api/v1/mitigation/rules/${r.body.rule.id}/withdraw`);
      await expect.poll(() => magic.rules()!.map((x) => x.expression), { timeout: 10_000 }).not.toContain('ip.dst in {203.0.113.97/32}');
    }
  });

  it('writes FlowSpec matches in Cloudflare’s rules language', () => {
    expect(
      expression({
        kind: 'flowspec',
        destination: '203.0.113.9/32',
        match: {
          source: '198.51.100.0/24',
          destinationPorts: [
            { from: 80, to: 80 },
            { from: 443, to: 443 },
          ],
          tcpFlags: ['syn', 'ack'],
          packetLengths: [{ from: 0, to: 64 }],
        },
        action: { type: 'discard' },
      }),
    ).toBe(
      'ip.dst in {203.0.113.9/32} and ip.src in {198.51.100.0/24} and (tcp.dstport in {80 443} or udp.dstport in {80 443}) and ip.len in {0..64} and (tcp.flags.syn or tcp.flags.ack)',
    );
    expect(() => expression({ kind: 'flowspec', destination: '203.0.113.9/32', match: { fragments: ['is-fragment'] }, action: { type: 'discard' } })).toThrow(/fragments/);
    expect(() => expression({ kind: 'flowspec', destination: '203.0.113.9/32', match: {}, action: { type: 'rate_limit', bytesPerSecond: 1000 } })).toThrow(/rate limits/);
  });

  it('reports a refused token, without retrying, and wants its account named', async () => {
    const id = await adapter({ endpoint: magic.baseUrl, auth_token: 'cf-wrong-token-000000000000000000', config: { mode: 'magic_firewall', account_id: magic.accountId } });
    const tested = await call('POST', `/api/v1/mitigation/adapters/${id}/test`);
    expect(tested.body).toMatchObject({ ok: true, success: false });
    expect(JSON.stringify(tested.body)).toContain('HTTP 403');
    const refused = await rule({ adapter_id: id, target_ip: '203.0.113.97', intent_type: 'blackhole' });
    expect(refused.status).toBe(502);
    expectError(
      await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'cloudflare', name: 'x', endpoint: magic.baseUrl, auth_token: 't', config: { mode: 'magic_firewall' } }),
      400,
      'invalid_parameter',
      'config.account_id',
    );
    expectError(
      await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'cloudflare', name: 'x', endpoint: magic.baseUrl, auth_token: 't' }),
      400,
      'invalid_parameter',
      'config is required',
    );
  });
});

describe('cloudflare: ip_access_rules', () => {
  it('blocks a FlowSpec rule’s source from the zone, and refuses what would block more than asked', async () => {
    const zone = waf.addZone();
    const id = await adapter({ endpoint: waf.baseUrl, auth_token: waf.apiToken, config: { mode: 'ip_access_rules', zone_id: zone } });
    const flow = await rule({ adapter_id: id, target_ip: '203.0.113.98', intent_type: 'flowspec', match: { source: '198.51.100.23' } });
    expect(flow.status, JSON.stringify(flow.body)).toBe(200);
    expect(waf.rules(zone).map((r) => [r.mode, r.configuration])).toEqual([['block', { target: 'ip', value: '198.51.100.23' }]]);
    await call('POST', `/api/v1/mitigation/rules/${flow.body.rule.id}/withdraw`);
    expect(waf.rules(zone)).toEqual([]);

    const wide = await rule({ adapter_id: id, target_ip: '203.0.113.99', intent_type: 'flowspec', match: { source: '198.51.100.24', protocol: 'udp' } });
    expect(wide.status).toBe(502);
    expect(wide.body.error.message).toContain('would block more than asked');
  });

  it('says before any rule is asked that it blocks FlowSpec sources only, never a blackhole target', async () => {
    const zone = waf.addZone();
    const config = { mode: 'ip_access_rules', zone_id: zone };
    const saved = await call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'cloudflare', name: 'zone', endpoint: waf.baseUrl, auth_token: waf.apiToken, config });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.adapter.capabilities).toEqual(['flowspec']);
    const id = saved.body.adapter.id as number;
    // Refused at the request (400, before any call to Cloudflare), not at announce time (502).
    expectError(await rule({ adapter_id: id, target_ip: '203.0.113.99', intent_type: 'blackhole' }), 400, 'invalid_parameter', 'not blackhole');
    expectError(
      await call('POST', '/api/v1/mitigation/adapters', {
        adapter_type: 'cloudflare',
        name: 'x',
        endpoint: waf.baseUrl,
        auth_token: waf.apiToken,
        config,
        capabilities: ['blackhole', 'flowspec'],
      }),
      400,
      'invalid_parameter',
      'capabilities',
    );
    expectError(
      await call('POST', '/api/v1/mitigation/adapters', { id, adapter_type: 'cloudflare', name: 'zone', endpoint: waf.baseUrl, config, capabilities: ['blackhole'] }),
      400,
      'invalid_parameter',
      'capabilities',
    );
    // magic_firewall blocks targets: blackhole stays among its defaults and may be asked for.
    expect(
      (
        await call('POST', '/api/v1/mitigation/adapters', {
          adapter_type: 'cloudflare',
          name: 'mf',
          endpoint: magic.baseUrl,
          auth_token: magic.token,
          config: { mode: 'magic_firewall', account_id: magic.accountId },
        })
      ).body.adapter.capabilities,
    ).toEqual(['blackhole', 'flowspec']);

    // An adapter stored before its capabilities were checked against its mode still lists blackhole: refused at the request all the same.
    await stack.db.db
      .update(mitigationAdapters)
      .set({ capabilities: ['blackhole', 'flowspec'] })
      .where(eq(mitigationAdapters.id, id));
    expectError(await rule({ adapter_id: id, target_ip: '203.0.113.99', intent_type: 'blackhole' }), 400, 'invalid_parameter', 'ip_access_rules');
    expect(waf.rules(zone)).toEqual([]);
  });
});
