// The escalation policy and per-host thresholds through HTTP: round trips, validation,
// subscription gate and tenant isolation.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { expectError } from './support/expect-error.js';

let stack: Stack;
let a: { call: Caller };
let b: { call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'));
  a = await stack.tenant();
  b = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
});

describe('escalation policy', () => {
  it('answers the default policy before one is saved', async () => {
    const res = await a.call('GET', '/api/v1/mitigation/escalation');
    expect(res.status).toBe(200);
    expect(res.body.policy).toMatchObject({
      thresholds: {},
      actions: { tier1: 'flowspec', tier2: 'blackhole', tier3: 'scrubbing' },
      baseline_mode: 'static',
      dry_run: false,
      adapter_id: null,
      scrubbing_id: null,
      updated_at: null,
    });
  });

  it('saves tiers, TTLs, actions and flags, and merges later partial saves', async () => {
    const adapter = await a.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'w', endpoint: 'http://127.0.0.1:9/x' });
    const saved = await a.call('POST', '/api/v1/mitigation/escalation', {
      thresholds: { tier1_pps: 100_000, tier2_bps: 2_000_000_000, tier2_pps: 500_000 },
      ttl: { tier1: 600, tier2: 1800 },
      adapter_id: adapter.body.adapter.id,
      baseline_mode: 'dynamic',
      geo_lockdown: { enabled: true, countries: ['CN', 'RU'], action: 'flowspec' },
      dry_run: true,
    });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(saved.body.policy).toMatchObject({
      thresholds: { tier1_pps: 100_000, tier2_bps: 2_000_000_000, tier2_pps: 500_000 },
      ttl: { tier1: 600, tier2: 1800, tier3: 3600 },
      adapter_id: adapter.body.adapter.id,
      baseline_mode: 'dynamic',
      geo_lockdown: { enabled: true, countries: ['CN', 'RU'], action: 'flowspec', suite: 'nftables' },
      dry_run: true,
    });
    expect(saved.body.policy.updated_at).not.toBeNull();

    const partial = await a.call('POST', '/api/v1/mitigation/escalation', { dry_run: false, actions: { tier1: 'blackhole' } });
    expect(partial.body.policy).toMatchObject({ dry_run: false, baseline_mode: 'dynamic', actions: { tier1: 'blackhole' }, ttl: { tier1: 600 } });
    expect(partial.body.policy.thresholds).toEqual({ tier1_pps: 100_000, tier2_bps: 2_000_000_000, tier2_pps: 500_000 });
    expect((await a.call('GET', '/api/v1/mitigation/escalation')).body.policy).toEqual(partial.body.policy);
  });

  it('refuses bad input with the field named', async () => {
    const cases: Array<[unknown, string]> = [
      [{ thresholds: { tier1_bps: -5 } }, 'tier1_bps'],
      [{ thresholds: { tier1_bps: 10, tier2_bps: 5 } }, 'tier2_bps'],
      [{ thresholds: { tier4_bps: 10 } }, 'tier4_bps'],
      [{ thresholds: { tier1_pps: 1.5 } }, 'tier1_pps'],
      [{ ttl: 5 }, 'ttl'],
      [{ ttl: { tier1: 10 ** 9 } }, 'ttl'],
      [{ actions: { tier1: 'nuke' } }, 'actions.tier1'],
      [{ baseline_mode: 'magic' }, 'baseline_mode'],
      [{ geo_lockdown: { enabled: true, countries: [] } }, 'countries'],
      [{ geo_lockdown: { enabled: true, countries: ['china'] } }, 'countries'],
      [{ geo_lockdown: { enabled: true, countries: ['CN', 'QQ'] } }, 'QQ'],
      [{ geo_lockdown: { enabled: true, countries: ['CN'], action: 'firewall', suite: 'pf' } }, 'suite'],
      [{ dry_run: 'yes' }, 'dry_run'],
      [{ hold_down_seconds: -1 }, 'hold_down_seconds'],
      [{ surprise: 1 }, 'surprise'],
    ];
    for (const [body, field] of cases) {
      expectError(await a.call('POST', '/api/v1/mitigation/escalation', body), 400, 'invalid_parameter', field);
    }
    expectError(await a.call('POST', '/api/v1/mitigation/escalation', { adapter_id: 999_999 }), 404, 'not_found', 'adapter_id');
    expectError(await a.call('POST', '/api/v1/mitigation/escalation', { scrubbing_id: 999_999 }), 404, 'not_found', 'scrubbing_id');
  });

  it('keeps workspaces apart', async () => {
    const theirs = await b.call('GET', '/api/v1/mitigation/escalation');
    expect(theirs.body.policy.updated_at).toBeNull();
    // b cannot point its policy at a's adapter.
    const adapters = await a.call('GET', '/api/v1/mitigation/adapters');
    expectError(await b.call('POST', '/api/v1/mitigation/escalation', { adapter_id: adapters.body.adapters[0].id }), 404, 'not_found');
  });

  it('needs an active subscription to save, not to read', async () => {
    const inactive = await stack.tenant({ active: false });
    expect((await inactive.call('GET', '/api/v1/mitigation/escalation')).status).toBe(200);
    expectError(await inactive.call('POST', '/api/v1/mitigation/escalation', { dry_run: true }), 402, 'subscription_required');
    expectError(await inactive.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '203.0.113.1', thresholds: { tier1_bps: 1 } }), 402, 'subscription_required');
  });
});

describe('per-host thresholds', () => {
  it('creates, updates by target, lists and deletes', async () => {
    const created = await a.call('POST', '/api/v1/mitigation/thresholds', {
      target_ip: '203.0.113.10',
      label: 'game server',
      thresholds: { tier1_bps: 1_000_000, tier2_bps: 5_000_000 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.threshold).toMatchObject({ target_ip: '203.0.113.10/32', label: 'game server', thresholds: { tier1_bps: 1_000_000, tier2_bps: 5_000_000 } });

    const updated = await a.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '203.0.113.10/32', thresholds: { tier1_pps: 20_000 } });
    expect(updated.body.threshold.id).toBe(created.body.threshold.id);
    expect(updated.body.threshold).toMatchObject({ label: 'game server', thresholds: { tier1_pps: 20_000 } });

    const v6 = await a.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '2001:db8:10::/48', thresholds: { tier2_pps: 1000 } });
    expect(v6.body.threshold.target_ip).toBe('2001:db8:10::/48');

    const list = await a.call('GET', '/api/v1/mitigation/thresholds');
    expect(list.body.thresholds.map((t: any) => t.target_ip)).toEqual(['203.0.113.10/32', '2001:db8:10::/48']);
    expect((await b.call('GET', '/api/v1/mitigation/thresholds')).body.thresholds).toEqual([]);

    expectError(await b.call('DELETE', `/api/v1/mitigation/thresholds/${v6.body.threshold.id}`), 404, 'not_found');
    expect((await a.call('DELETE', `/api/v1/mitigation/thresholds/${v6.body.threshold.id}`)).body).toEqual({ ok: true, deleted: v6.body.threshold.id });
    expectError(await a.call('DELETE', `/api/v1/mitigation/thresholds/${v6.body.threshold.id}`), 404, 'not_found');
  });

  it('refuses bad input with the field named', async () => {
    const cases: Array<[unknown, string]> = [
      [{ thresholds: { tier1_bps: 1 } }, 'target_ip'],
      [{ target_ip: '203.0.113.300', thresholds: { tier1_bps: 1 } }, 'target_ip'],
      [{ target_ip: '203.0.113.0/33', thresholds: { tier1_bps: 1 } }, 'target_ip'],
      [{ target_ip: '203.0.113.1' }, 'thresholds'],
      [{ target_ip: '203.0.113.1', thresholds: {} }, 'thresholds'],
      [{ target_ip: '203.0.113.1', thresholds: { tier1_bps: 0 } }, 'tier1_bps'],
      [{ target_ip: '203.0.113.1', thresholds: { tier2_pps: 5, tier3_pps: 5 } }, 'tier3_pps'],
      [{ target_ip: '203.0.113.1', thresholds: { tier1_bps: 1 }, extra: true }, 'extra'],
      [{ target_ip: '203.0.113.1', thresholds: { tier1_bps: 1 }, aggregate: true }, 'aggregate: a single address has no nodes to sum'],
      [{ target_ip: '203.0.113.0/24', thresholds: { tier1_bps: 1 }, aggregate: 'yes' }, 'aggregate'],
    ];
    for (const [body, field] of cases) {
      expectError(await a.call('POST', '/api/v1/mitigation/thresholds', body), 400, 'invalid_parameter', field);
    }
    expectError(await a.call('DELETE', '/api/v1/mitigation/thresholds/abc'), 400, 'invalid_parameter');
  });

  it('keeps a prefix’s aggregate threshold apart from the per-host one of the same prefix', async () => {
    const perHost = await a.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '198.51.100.0/24', thresholds: { tier1_pps: 5000 } });
    const whole = await a.call('POST', '/api/v1/mitigation/thresholds', { target_ip: '198.51.100.0/24', thresholds: { tier1_pps: 50_000 }, aggregate: true });
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    expect(perHost.body.threshold).toMatchObject({ aggregate: false, thresholds: { tier1_pps: 5000 } });
    expect(whole.body.threshold).toMatchObject({ aggregate: true, thresholds: { tier1_pps: 50_000 } });
    expect(whole.body.threshold.id).not.toBe(perHost.body.threshold.id);
    // A host within takes the per-host figures only: the aggregate is the prefix's, never a host's.
    await a.call('DELETE', `/api/v1/mitigation/thresholds/${perHost.body.threshold.id}`);
    expect((await a.call('POST', '/api/v1/mitigation/escalation', { thresholds: { tier1_pps: 10_000 } })).status).toBe(200);
    const node = await a.call('POST', '/api/v1/nodes', { name: 'in-aggregate', ip: '198.51.100.7' });
    const config = await request(stack.baseUrl, 'GET', '/api/v1/agent/config', undefined, { authorization: `Bearer ${node.body.api_key}` });
    expect(config.body.config.detection.pps).toBe(10_000);
    await a.call('DELETE', `/api/v1/mitigation/thresholds/${whole.body.threshold.id}`);
  });
});
