// Pure domain rules: prefix parsing and the safety rails every path relies on.
import { describe, expect, it } from 'vitest';
import { conditionHolds, familiesOf, unmetConditions } from '../domain/runbook.js';
import { syntheticContext } from '../domain/runbook-context.js';
import { render, renderJson, unknownPlaceholders } from '../domain/runbook-placeholders.js';
import { buildIntent } from '../domain/build-intent.js';
import { DEFAULT_POLICY, effectiveTiers, tierFor, type EscalationPolicy } from '../domain/escalation.js';
import { mergeRanges, rangesToPrefixes, subtractPrefixes, type AddrRange } from '../domain/ip-ranges.js';
import { formatPrefix, mustParsePrefix, parsePrefix, prefixesOverlap } from '../domain/prefix.js';
import { DEFAULT_PREFIX_LIMITS, refuseTarget } from '../domain/safety.js';
import { prefixEvidence } from '../domain/prefix-evidence.js';

describe('prefixes', () => {
  it.each([
    ['203.0.113.50', '203.0.113.50/32'],
    ['203.0.113.0/24', '203.0.113.0/24'],
    ['2001:DB8::1', '2001:db8::1/128'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'],
    ['2001:0db8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32'],
    ['::ffff:192.0.2.1', '::ffff:c000:201/128'],
    ['::', '::/128'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8/128'],
  ])('parses %s as %s', (input, canonical) => {
    const r = parsePrefix(input);
    expect(r.ok && formatPrefix(r.prefix)).toBe(canonical);
  });

  it.each(['256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4/33', '1.2.3.4/-1', '2001:db8::1::2', '2001:db8::/129', 'g::1', '1:2:3:4:5:6:7:8:9', '', '1.2.3.4/24/1', '203.0.113.5/24'])(
    'refuses %j',
    (input) => {
      expect(parsePrefix(input).ok).toBe(false);
    },
  );

  it('tells overlap both ways', () => {
    expect(prefixesOverlap(mustParsePrefix('203.0.113.0/24'), mustParsePrefix('203.0.113.7'))).toBe(true);
    expect(prefixesOverlap(mustParsePrefix('203.0.113.7'), mustParsePrefix('203.0.113.0/24'))).toBe(true);
    expect(prefixesOverlap(mustParsePrefix('203.0.113.0/25'), mustParsePrefix('203.0.113.128/25'))).toBe(false);
    expect(prefixesOverlap(mustParsePrefix('2001:db8::/32'), mustParsePrefix('203.0.113.0/24'))).toBe(false);
  });
});

describe('safety rails', () => {
  const allow = [{ prefix: mustParsePrefix('198.51.100.10'), label: 'Monitoring' }];
  it.each([
    ['198.51.100.10', 'allowlisted'],
    ['198.51.100.0/24', 'allowlisted'],
    ['203.0.112.0/23', 'broader'],
    ['192.168.1.1', 'private-use'],
    ['100.64.0.1', 'shared address space'],
    ['fc00::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::/47', 'broader'],
  ])('refuses %s (%s)', (target, why) => {
    expect(refuseTarget(mustParsePrefix(target), DEFAULT_PREFIX_LIMITS, allow)).toContain(why);
  });

  it.each(['203.0.113.50', '203.0.113.0/24', '2001:db8::/48', '2001:db8::50', '8.8.8.8'])('allows %s', (target) => {
    expect(refuseTarget(mustParsePrefix(target), DEFAULT_PREFIX_LIMITS, allow)).toBeNull();
  });

  it('honours a stricter adapter limit', () => {
    expect(refuseTarget(mustParsePrefix('203.0.113.0/24'), { maxV4: 32, maxV6: 128 }, [])).toContain('/32 or longer');
  });
});

describe('intents', () => {
  it('builds a blackhole with BLACKHOLE, NO_EXPORT, then the adapter communities once each', () => {
    const r = buildIntent({ kind: 'blackhole', target: '2001:db8::50' }, { communities: ['65001:666', '65535:666'], next_hop_v6: '2001:db8::99' }, []);
    expect(r).toEqual({
      ok: true,
      target: mustParsePrefix('2001:db8::50'),
      intent: { kind: 'blackhole', prefix: '2001:db8::50/128', nextHop: '2001:db8::99', communities: ['65535:666', '65535:65281', '65001:666'] },
    });
  });

  it('normalises a FlowSpec match so equal rules have equal route keys', () => {
    const r = buildIntent(
      { kind: 'flowspec', target: '203.0.113.9', match: { protocols: [17, 6, 17], source: '198.51.100.0/24', tcpFlags: ['syn', 'syn'] }, action: { type: 'discard' } },
      {},
      [],
    );
    expect(r.ok && r.intent).toEqual({
      kind: 'flowspec',
      destination: '203.0.113.9/32',
      match: { protocols: [6, 17], source: '198.51.100.0/24', tcpFlags: ['syn'] },
      action: { type: 'discard' },
    });
  });
});

describe('escalation tiers', () => {
  const policy: EscalationPolicy = {
    ...DEFAULT_POLICY,
    tiers: [
      { level: 1, bps: 1_000_000_000, pps: 100_000, action: 'flowspec', ttlSeconds: 600 },
      { level: 2, bps: 5_000_000_000, pps: null, action: 'blackhole', ttlSeconds: 1800 },
    ],
  };

  it('picks the highest tier either figure reaches', () => {
    expect(tierFor(policy.tiers, { bps: 10, pps: 10 })).toBe(0);
    expect(tierFor(policy.tiers, { bps: 10, pps: 100_000 })).toBe(1);
    expect(tierFor(policy.tiers, { bps: 1_000_000_000, pps: 0 })).toBe(1);
    expect(tierFor(policy.tiers, { bps: 6_000_000_000, pps: 0 })).toBe(2);
    // A tier with no pps threshold never triggers on pps.
    expect(tierFor(policy.tiers, { bps: 0, pps: 10 ** 12 })).toBe(1);
  });

  it('lets the most specific per-host override replace the thresholds, not the actions', () => {
    const overrides = [
      { target: '203.0.113.0/24', thresholds: { 1: { bps: 500, pps: null } } },
      { target: '203.0.113.10/32', thresholds: { 1: { bps: 100, pps: null }, 2: { bps: 1000, pps: null } } },
      { target: '2001:db8::/32', thresholds: { 2: { bps: 1, pps: 1 } } },
    ];
    const host = effectiveTiers(policy, overrides, '203.0.113.10');
    expect(host).toEqual([
      { level: 1, bps: 100, pps: null, action: 'flowspec', ttlSeconds: 600 },
      { level: 2, bps: 1000, pps: null, action: 'blackhole', ttlSeconds: 1800 },
    ]);
    expect(effectiveTiers(policy, overrides, '203.0.113.11')[0]).toMatchObject({ bps: 500, pps: null });
    expect(effectiveTiers(policy, overrides, '198.51.100.1')).toBe(policy.tiers);
    expect(tierFor(effectiveTiers(policy, overrides, '203.0.113.10'), { bps: 1500, pps: 0 })).toBe(2);
  });
});

describe('address ranges (geo lockdown)', () => {
  const r = (first: string, last: string): AddrRange => {
    const a = mustParsePrefix(first);
    const b = mustParsePrefix(last);
    return { family: a.family, first: a.network, last: b.network };
  };
  const cidrs = (ranges: AddrRange[]) => rangesToPrefixes(ranges).map(formatPrefix);

  it('covers a range with the fewest aligned prefixes', () => {
    expect(cidrs([r('10.0.0.0', '10.0.0.255')])).toEqual(['10.0.0.0/24']);
    expect(cidrs([r('10.0.0.1', '10.0.0.6')])).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(cidrs([r('0.0.0.0', '255.255.255.255')])).toEqual(['0.0.0.0/0']);
    expect(cidrs([r('2001:db8::', '2001:db8::ffff:ffff:ffff:ffff:ffff')])).toEqual(['2001:db8::/48']);
  });

  it('merges adjacent and overlapping ranges first', () => {
    expect(cidrs([r('10.0.1.0', '10.0.1.255'), r('10.0.0.0', '10.0.0.255'), r('10.0.0.128', '10.0.1.10')])).toEqual(['10.0.0.0/23']);
    expect(mergeRanges([r('10.0.0.0', '10.0.0.9'), r('2001:db8::', '2001:db8::9'), r('10.0.0.10', '10.0.0.20')])).toHaveLength(2);
  });

  it('cuts allowlisted prefixes out, so no allowlisted source is ever dropped', () => {
    const left = subtractPrefixes([r('10.0.0.0', '10.0.0.255')], [mustParsePrefix('10.0.0.7'), mustParsePrefix('10.0.0.128/25'), mustParsePrefix('2001:db8::1')]);
    const out = cidrs(left);
    expect(out).toEqual(['10.0.0.0/30', '10.0.0.4/31', '10.0.0.6/32', '10.0.0.8/29', '10.0.0.16/28', '10.0.0.32/27', '10.0.0.64/26']);
    for (const c of out) {
      expect(prefixesOverlap(mustParsePrefix(c), mustParsePrefix('10.0.0.7'))).toBe(false);
      expect(prefixesOverlap(mustParsePrefix(c), mustParsePrefix('10.0.0.128/25'))).toBe(false);
    }
    // Everything else is still covered: 256 - 1 - 128 addresses.
    expect(rangesToPrefixes(left).reduce((n, p) => n + 2 ** (32 - p.length), 0)).toBe(127);
  });

  it('refuses a FlowSpec source that overlaps the allowlist', () => {
    const allow = [{ prefix: mustParsePrefix('198.51.100.10'), label: 'monitoring' }];
    const built = buildIntent({ kind: 'flowspec', target: '203.0.113.9', match: { source: '198.51.100.0/24' }, action: { type: 'discard' } }, {}, allow);
    expect(built).toMatchObject({ ok: false, field: 'match.source' });
    expect(!built.ok && built.reason).toContain('allowlisted');
  });
});

describe('runbook triggers and conditions', () => {
  const ctx = { ...syntheticContext(new Date('2026-01-01T00:00:00Z')), family: 'udp_flood' as const, subtype: 'ntp_amplification', pps: 600_000, bps: 4e9, tier: 2, severity: 'high' as const, nodeUuid: '5b0c3f47-0d5e-4d7a-9a51-7f1f0c2c9e11', target: '203.0.113.9' };
  it('counts each part of a multi-vector attack, and reads the names of executions recorded before the reference’s vocabulary', () => {
    expect([...familiesOf('udp_flood', 'dns_amplification')]).toEqual(['udp_flood']);
    expect([...familiesOf('multi_vector', 'udp_flood+syn_flood')]).toEqual(['multi_vector', 'udp_flood', 'syn_flood']);
    expect([...familiesOf('amplification' as never, 'dns')]).toEqual(['udp_flood']);
    expect([...familiesOf('multi_vector', 'ack_flood+udp_flood')]).toEqual(['multi_vector', 'tcp_flood', 'udp_flood']);
  });
  it('names every trigger condition the context fails', () => {
    expect(unmetConditions({ family: 'udp_flood', severity: 'high', min_pps: 500_000, tier: 2, nodes: [ctx.nodeUuid], target_prefix: '203.0.113.0/24' }, ctx)).toEqual([]);
    expect(unmetConditions({ family: ['syn_flood'], severity: 'critical', min_pps: 700_000, min_bps: 5e9, tier: 3, nodes: ['00000000-0000-4000-8000-000000000000'], target_prefix: '198.51.100.0/24' }, ctx)).toEqual([
      'family',
      'severity',
      'min_pps',
      'min_bps',
      'tier',
      'nodes',
      'target_prefix',
    ]);
  });
  it('decides condition steps, and fills placeholders', () => {
    expect(conditionHolds({ field: 'severity', op: 'gte', value: 'medium' }, ctx)).toBe(true);
    expect(conditionHolds({ field: 'family', op: 'ne', value: 'udp_flood' }, ctx)).toBe(false);
    expect(conditionHolds({ field: 'bps', op: 'lt', value: 1e9 }, ctx)).toBe(false);
    expect(conditionHolds({ field: 'target', op: 'within', value: '203.0.113.0/28' }, ctx)).toBe(true);
    expect(conditionHolds({ field: 'node', op: 'in', value: [ctx.nodeUuid] }, ctx)).toBe(true);
    const run = { runbookId: 3, runbookName: 'rb', executionId: 9 };
    expect(render('{{incident.family}}/{{ incident.subtype }} {{incident.pps}} on {{incident.target}} #{{execution.id}}', ctx, run)).toBe('udp_flood/ntp_amplification 600000 on 203.0.113.9 #9');
    expect(renderJson({ '{{runbook.name}}': ['{{incident.tier}}', 1, null] }, ctx, run)).toEqual({ rb: ['2', 1, null] });
    expect(unknownPlaceholders('{{incident.id}} {{incident.owner}} {{secret}}')).toEqual(['incident.owner', 'secret']);
  });
});

describe('a prefix incident’s evidence from its nodes’ captures', () => {
  const attack = { family: 'udp_flood' as const, verdict: 'attack' as const, evidence: 'capture' as const, packets: 900, signature: { match: { protocols: [17] }, coverage: 1, collateral: 0, why: 'all UDP' } };
  const benign = { family: 'unknown' as const, verdict: 'benign' as const, evidence: 'capture' as const, packets: 800 };
  const nodes = (...cs: Array<typeof attack | typeof benign | null>) => cs.map((classification, i) => ({ node: `n${i}`, classification }));
  it('takes an attack only when two or more nodes, and most of those that captured, name it', () => {
    expect(prefixEvidence('203.0.113.0/28', nodes(attack, attack, benign)).classification).toMatchObject({ family: 'udp_flood', verdict: 'attack', packets: 2600, signature: attack.signature });
    // One node alone (its key may be stolen, or the others are silent) never suffices.
    expect(prefixEvidence('203.0.113.0/28', nodes(attack, null, null)).classification).toMatchObject({ family: 'unknown', verdict: 'inconclusive' });
    expect(prefixEvidence('203.0.113.0/28', nodes(attack, benign, benign)).classification).toMatchObject({ verdict: 'benign' });
    expect(prefixEvidence('203.0.113.0/28', nodes(attack, attack, benign, benign, benign)).classification).toMatchObject({ verdict: 'benign' });
    expect(prefixEvidence('203.0.113.0/28', nodes(null, null)).classification).toBeNull();
  });
});
