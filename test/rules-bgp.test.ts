// Rules end to end: API -> Temporal workflow -> adapter -> real BGP speaker -> the
// router's RIB, in a network namespace lab (ExaBGP with our bridge, GoBGP).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBgpLab, routerRib, waitForRib, type BgpLabInfo, type RibEntry } from './support/bgp-lab.js';
import { replayAndRecord } from './support/histories.js';
import { startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let lab: BgpLabInfo & { stop(): Promise<void> };
let call: Caller;

beforeAll(async () => {
  lab = await startBgpLab();
  stack = await startStack(inject('env'));
  call = (await stack.tenant()).call;
});
afterAll(async () => {
  await stack?.stop();
  await lab?.stop();
});

const has = (prefix: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix === prefix);
const hasFlow = (dest: string) => (rib: RibEntry[]) => rib.some((e) => e.prefix.includes(dest));
const not = (p: (rib: RibEntry[]) => boolean) => (rib: RibEntry[]) => !p(rib);

async function createAdapter(type: 'exabgp' | 'gobgp', extra: Record<string, unknown> = {}): Promise<number> {
  const endpoint = type === 'exabgp' ? lab.exabgpBridge.endpoint : lab.gobgpSpeaker.endpoint;
  const res = await call('POST', '/api/v1/mitigation/adapters', {
    adapter_type: type,
    name: `lab ${type}`,
    endpoint,
    ...(type === 'exabgp' ? { auth_token: lab.exabgpBridge.token } : {}),
    config: { local_as: type === 'exabgp' ? 65001 : 65002, communities: ['65001:666'] },
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.adapter.id;
}

async function createRule(body: Record<string, unknown>) {
  const res = await call('POST', '/api/v1/mitigation/rules', body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.rule.status).toBe('active');
  return res.body.rule as { id: number; expires_at: string | null };
}

async function withdraw(id: number) {
  const res = await call('POST', `/api/v1/mitigation/rules/${id}/withdraw`, { reason: 'test done' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.rule.status).toBe('withdrawn');
}

describe.each(['exabgp', 'gobgp'] as const)('%s adapter', (type) => {
  let adapterId: number;
  // Each adapter gets its own addresses: both speakers feed the same router.
  const n = type === 'exabgp' ? 0 : 100;
  beforeAll(async () => {
    adapterId = await createAdapter(type);
  });

  it('passes the connectivity test', async () => {
    const res = await call('POST', `/api/v1/mitigation/adapters/${adapterId}/test`);
    expect(res.body, JSON.stringify(res.body)).toMatchObject({ ok: true, success: true });
    expect(res.body.latency_ms).toBeGreaterThan(0);
  });

  it('announces an IPv4 blackhole with BLACKHOLE, NO_EXPORT and the adapter community, and withdraws it', async () => {
    const prefix = `203.0.113.${10 + n}/32`;
    const rule = await createRule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId, ttl: 3600 });
    // The API answered "active" only after the speaker acknowledged: the router has it within moments.
    const rib = await waitForRib(lab, 'ipv4', has(prefix), 5000);
    const route = rib.find((e) => e.prefix === prefix)!;
    expect(route.communities).toEqual(expect.arrayContaining(['65535:666', '65535:65281', '65001:666']));
    expect(route.nextHop).toBe('192.0.2.1');
    await withdraw(rule.id);
    await waitForRib(lab, 'ipv4', not(has(prefix)), 5000);
  });

  it('announces an IPv6 blackhole', async () => {
    const prefix = `2001:db8::${(50 + n).toString(16)}/128`;
    const rule = await createRule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId });
    const rib = await waitForRib(lab, 'ipv6', has(prefix), 5000);
    expect(rib.find((e) => e.prefix === prefix)!.communities).toContain('65535:666');
    await withdraw(rule.id);
    await waitForRib(lab, 'ipv6', not(has(prefix)), 5000);
  });

  it('announces a FlowSpec discard and a rate-limit rule', async () => {
    const dest = `203.0.113.${20 + n}`;
    const discard = await createRule({
      target_ip: dest,
      intent_type: 'flowspec',
      adapter_id: adapterId,
      match: { protocol: 'udp', source_port: 53, packet_length: '512-65535' },
    });
    const rib = await waitForRib(lab, 'ipv4-flowspec', hasFlow(`${dest}/32`), 5000);
    const flow = rib.find((e) => e.prefix.includes(`${dest}/32`))!;
    expect(flow.prefix).toMatch(/53/);
    expect(flow.extendedCommunities.join(' ')).toMatch(/rate[^0-9]*0/i);

    const limited = `203.0.113.${21 + n}`;
    const rl = await createRule({
      target_ip: limited,
      intent_type: 'flowspec',
      adapter_id: adapterId,
      match: { protocol: 'tcp', destination_port: [80, 443], tcp_flags: ['syn'] },
      action: { type: 'rate_limit', bytes_per_second: 125000 },
    });
    const rib2 = await waitForRib(lab, 'ipv4-flowspec', hasFlow(`${limited}/32`), 5000);
    expect(rib2.find((e) => e.prefix.includes(`${limited}/32`))!.extendedCommunities.join(' ')).toMatch(/125000/);

    await withdraw(discard.id);
    await withdraw(rl.id);
    await waitForRib(lab, 'ipv4-flowspec', (r) => !hasFlow(`${dest}/32`)(r) && !hasFlow(`${limited}/32`)(r), 5000);
  });

  it('withdraws the route when the TTL expires', async () => {
    const prefix = `203.0.113.${30 + n}/32`;
    const rule = await createRule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId, ttl: 2 });
    await waitForRib(lab, 'ipv4', has(prefix), 5000);
    await waitForRib(lab, 'ipv4', not(has(prefix)), 10_000);
    await expect.poll(async () => (await call('GET', `/api/v1/mitigation/rules/${rule.id}`)).body.rule.status, { timeout: 5000 }).toBe('expired');
  });
});

describe('durability', () => {
  it('withdraws on time after the worker that announced the rule is gone', async () => {
    const adapterId = await createAdapter('exabgp');
    const prefix = '203.0.113.40/32';
    const rule = await createRule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId, ttl: 6 });
    await waitForRib(lab, 'ipv4', has(prefix), 5000);

    await stack.stopWorker();
    await new Promise((r) => setTimeout(r, 2000));
    expect((await routerRib(lab, 'ipv4')).some((e) => e.prefix === prefix)).toBe(true);
    await stack.startWorker();

    await waitForRib(lab, 'ipv4', not(has(prefix)), 15_000);
    const gone = Date.now();
    const expiresAt = new Date(rule.expires_at!).getTime();
    // Withdrawn at the TTL (timer fired on the new worker), not early and not much later.
    expect(gone).toBeGreaterThanOrEqual(expiresAt - 100);
    expect(gone - expiresAt).toBeLessThan(3000);
    const row = (await call('GET', `/api/v1/mitigation/rules/${rule.id}`)).body.rule;
    expect(row.status).toBe('expired');
  });
});

describe('adapter safety', () => {
  it('deleting an adapter withdraws its routes first', async () => {
    const adapterId = await createAdapter('gobgp');
    const prefix = '203.0.113.41/32';
    await createRule({ target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId });
    await waitForRib(lab, 'ipv4', has(prefix), 5000);
    const del = await call('DELETE', `/api/v1/mitigation/adapters/${adapterId}`);
    expect(del.body).toMatchObject({ ok: true, withdrawn_rules: 1 });
    expect((await routerRib(lab, 'ipv4')).some((e) => e.prefix === prefix)).toBe(false);
  });

  it('a bridge that refuses the token fails the rule at once with the reason', async () => {
    const adapterId = await createAdapter('exabgp', { auth_token: 'wrong-token' });
    const test = await call('POST', `/api/v1/mitigation/adapters/${adapterId}/test`);
    expect(test.body).toMatchObject({ ok: true, success: false });
    const res = await call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.42', intent_type: 'blackhole', adapter_id: adapterId });
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('adapter_error');
    expect(res.body.rule.status).toBe('failed');
    expect(res.body.rule.status_reason).toMatch(/token/);
  });
});

describe('the allowlist wins over rules already announced', () => {
  it('adding an entry withdraws the rules that cover it, target or FlowSpec source, and says so', async () => {
    const adapterId = await createAdapter('gobgp');
    const covering = await createRule({ target_ip: '203.0.113.48/32', intent_type: 'blackhole', adapter_id: adapterId });
    const bySource = await createRule({ target_ip: '203.0.113.49', intent_type: 'flowspec', adapter_id: adapterId, match: { source: '198.51.100.64/26' } });
    const other = await createRule({ target_ip: '203.0.113.47/32', intent_type: 'blackhole', adapter_id: adapterId });
    await waitForRib(lab, 'ipv4', (rib) => has('203.0.113.48/32')(rib) && has('203.0.113.47/32')(rib), 5000);
    await waitForRib(lab, 'ipv4-flowspec', hasFlow('203.0.113.49/32'), 5000);

    const target = await call('POST', '/api/v1/allowlist', { ip_address: '203.0.113.48', label: 'customer edge' });
    expect(target.status, JSON.stringify(target.body)).toBe(200);
    expect(target.body.withdrawn_rules).toEqual([covering.id]);
    // The answer comes once the route is gone.
    expect((await routerRib(lab, 'ipv4')).some((e) => e.prefix === '203.0.113.48/32')).toBe(false);
    const source = await call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.70', label: 'monitoring' });
    expect(source.body.withdrawn_rules).toEqual([bySource.id]);
    expect((await routerRib(lab, 'ipv4-flowspec')).some((e) => e.prefix.includes('203.0.113.49/32'))).toBe(false);

    for (const [id, why] of [[covering.id, 'customer edge'], [bySource.id, 'monitoring']] as const) {
      const rule = (await call('GET', `/api/v1/mitigation/rules/${id}`)).body.rule;
      expect(rule.status).toBe('withdrawn');
      expect(rule.status_reason).toContain('allowlisted');
      expect(rule.status_reason).toContain(why);
    }
    // The rule that covers nothing allowlisted stays announced.
    expect((await call('GET', `/api/v1/mitigation/rules/${other.id}`)).body.rule.status).toBe('active');
    expect((await routerRib(lab, 'ipv4')).some((e) => e.prefix === '203.0.113.47/32')).toBe(true);
    await withdraw(other.id);
  });
});

describe('many targets in one request (carpet bombing)', () => {
  const N = 200;
  const targets = Array.from({ length: N }, (_, i) => `2001:db8:b0::${(i + 1).toString(16)}/128`);
  let adapterId: number;
  beforeAll(async () => {
    adapterId = await createAdapter('gobgp', { name: 'bulk gobgp' });
  });

  it('announces one rule per target, answered when all are at the speaker, and names the targets others hold', async () => {
    const held = await createRule({ target_ip: targets[7], intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
    // One target asked twice (the second spelled without /128) is one rule, and no conflict.
    const asked = [...targets, targets[3]!.replace('/128', '')];
    const res = await call('POST', '/api/v1/mitigation/rules', { target_ips: asked, intent_type: 'blackhole', adapter_id: adapterId, ttl: 600, reason: 'carpet' });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.rules).toHaveLength(N - 1);
    expect(res.body.conflicts).toEqual([{ target_ip: targets[7], rule_id: held.id }]);
    expect(new Set(res.body.rules.map((r: { status: string }) => r.status))).toEqual(new Set(['active']));
    // Each its own rule and TTL, held by one workflow: the request's rule batch.
    const batches = new Set(res.body.rules.map((r: { workflow_id: string }) => r.workflow_id));
    expect(batches.size).toBe(1);
    expect([...batches][0]).toMatch(/^rules:[0-9a-f-]{36}$/);
    expect(res.body.rules.every((r: { ttl: number; reason: string }) => r.ttl === 600 && r.reason === 'carpet')).toBe(true);
    // Answered active only once the speaker acknowledged: all of them reach the router.
    const announced = await routerRib(lab, 'ipv6');
    expect(targets.filter((t) => !has(t)(announced))).toEqual([]);

    // Withdrawing one rule of the batch takes away its route alone.
    const [first, ...rest] = res.body.rules as Array<{ id: number; target_ip: string }>;
    await withdraw(first!.id);
    const after = await routerRib(lab, 'ipv6');
    expect(has(first!.target_ip)(after)).toBe(false);
    expect(rest.filter((r) => !has(r.target_ip)(after))).toEqual([]);
    const live = await call('GET', '/api/v1/mitigation/rules?limit=1000');
    expect(live.body.rules.filter((r: { workflow_id: string }) => batches.has(r.workflow_id))).toHaveLength(N - 2);

    for (const r of [...rest, held]) await withdraw(r.id);
    await waitForRib(lab, 'ipv6', (rib) => !targets.some((t) => has(t)(rib)), 10_000);
    // The batch ends with its last rule.
    const batch = stack.temporal.workflow.getHandle([...batches][0] as string);
    await expect.poll(async () => (await batch.describe()).status.name, { timeout: 10_000 }).toBe('COMPLETED');
  }, 120_000);

  it('expires each rule of a batch on its TTL, after the worker that announced them is gone, and the batch replays', async () => {
    const few = Array.from({ length: 20 }, (_, i) => `2001:db8:b2::${(i + 1).toString(16)}/128`);
    const res = await call('POST', '/api/v1/mitigation/rules', { target_ips: few, intent_type: 'blackhole', adapter_id: adapterId, ttl: 5 });
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    const missing = async () => {
      const rib = await routerRib(lab, 'ipv6');
      return few.filter((t) => !has(t)(rib));
    };
    expect(await missing()).toEqual([]);

    await stack.stopWorker();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await missing()).toEqual([]);
    await stack.startWorker();

    await waitForRib(lab, 'ipv6', (rib) => !few.some((t) => has(t)(rib)), 15_000);
    const expiresAt = Math.max(...res.body.rules.map((r: { expires_at: string }) => new Date(r.expires_at).getTime()));
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 100);
    for (const r of res.body.rules as Array<{ id: number }>) {
      const rule = await call('GET', `/api/v1/mitigation/rules/${r.id}`);
      expect(rule.body.rule).toMatchObject({ status: 'expired', status_reason: 'ttl expired' });
    }
    await replayAndRecord(stack.temporal, inject('env').workflowBundlePath, res.body.rules[0].workflow_id, 'rule-batch-expired');
  }, 60_000);

  it('refuses the whole request for one unsafe target, naming it, and announces nothing', async () => {
    const res = await call('POST', '/api/v1/mitigation/rules', { target_ips: ['2001:db8:b1::1/128', '2001:db8::/32'], intent_type: 'blackhole', adapter_id: adapterId });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_parameter');
    expect(res.body.error.message).toMatch(/^target_ips: .*2001:db8::\/32/);
    const live = await call('GET', '/api/v1/mitigation/rules?limit=1000');
    expect(live.body.rules.some((r: { target_ip: string }) => r.target_ip === '2001:db8:b1::1/128')).toBe(false);
  });

  it('answers 400 naming the field for a malformed request', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ target_ip: '203.0.113.60', target_ips: ['203.0.113.61'], intent_type: 'blackhole', adapter_id: adapterId }, /target_ips/],
      [{ intent_type: 'blackhole', adapter_id: adapterId }, /target_ip/],
      [{ target_ips: [], intent_type: 'blackhole', adapter_id: adapterId }, /target_ips/],
      [{ target_ips: Array.from({ length: 1025 }, (_, i) => `10.${i >> 8}.${i & 255}.1`), intent_type: 'blackhole', adapter_id: adapterId }, /target_ips/],
      [{ target_ips: ['203.0.113.62', 'not-an-ip'], intent_type: 'blackhole', adapter_id: adapterId }, /target_ips/],
      [{ target_ips: ['203.0.113.63'], intent_type: 'scrubbing', scrubbing_id: 1 }, /target_ips/],
    ];
    for (const [body, field] of cases) {
      const res = await call('POST', '/api/v1/mitigation/rules', body);
      expect(res.status, JSON.stringify(body).slice(0, 200)).toBe(400);
      expect(res.body.error.message).toMatch(field);
    }
  });
});
