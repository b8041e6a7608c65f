// Detection that operators can trust: the classifier on a seed of the labelled corpus
// (test/support/traffic-corpus.ts) with floors on accuracy and recall and no benign sample
// given a dropping rule, and focused cases: HTTPS and flash crowds are benign, every vector
// is named, signatures are narrow, tierMatchFor discards only what it can tell apart.
import { describe, expect, it } from 'vitest';
import type { Classification } from '../domain/attack.js';
import { classify } from '../domain/classify.js';
import { tierMatchFor } from '../domain/escalation.js';
import { parsePcap, TCP, type Packet } from '../domain/pcap.js';
import { ipv4, pcapFile, tcp, tcpSegment } from './support/packets.js';
import { corpus, expectedClass, isCorrect, prng, REPLIES, VICTIM, type Sample } from './support/traffic-corpus.js';

const focused = new Map<string, Packet[]>();
for (const s of corpus({ seed: 5, variants: 1, packets: 1200 })) focused.set(s.id.split('/').slice(0, s.share === null ? 2 : 2).join('/'), s.packets);

/** The corpus' sample of `attack` at `share` (over a random background), or of the benign `background`. */
function sample(background: string, attack: string | null, share = 0.7): Packet[] {
  const p = focused.get(attack ? `${attack}/${share}` : `benign/${background}`);
  if (!p) throw new Error(`no sample ${attack ?? background}`);
  return p;
}

const rule = (c: Classification) => tierMatchFor({ ...c, evidence: 'capture' }, 4, { pps: 100_000, bps: 8e8 });

describe('the corpus', () => {
  const scored = [...corpus({ seed: 11, variants: 1, packets: 1000 })].map((s: Sample) => {
    const c = classify(s.packets, { victim: VICTIM, listeningPorts: s.listeningPorts });
    return { s, c, predicted: c.verdict === 'attack' ? c.family : c.verdict };
  });

  it('is classified above the floor, and no benign sample gets a dropping rule', () => {
    const accuracy = scored.filter((x) => isCorrect(x.s, x.predicted)).length / scored.length;
    expect(accuracy).toBeGreaterThanOrEqual(0.93);
    const dropped = scored.filter((x) => x.s.share === null && rule(x.c).kind !== 'none').map((x) => x.s.id);
    expect(dropped).toEqual([]);
    for (const cls of new Set(scored.map((x) => expectedClass(x.s)))) {
      const xs = scored.filter((x) => expectedClass(x.s) === cls && (x.s.share ?? 1) >= 0.3);
      const recall = xs.filter((x) => x.predicted === cls).length / xs.length;
      // A multi-vector attack at 30 % is two vectors of ~15 % each: named only when one is unambiguous (a reflection).
      expect(recall, cls).toBeGreaterThanOrEqual(cls === 'http_flood' || cls === 'multi_vector' ? 0.5 : 0.8);
    }
    // At 30 % and more, a named family never is the wrong one.
    const wrong = scored.filter((x) => (x.s.share ?? 0) >= 0.3 && !['benign', 'inconclusive', expectedClass(x.s)].includes(x.predicted)).map((x) => x.s.id);
    expect(wrong).toEqual([]);
  });
});

describe('benign traffic', () => {
  it('calls an HTTPS sample benign, with reasons and no rule (the issue\'s ack_flood at 0.9)', () => {
    const c = classify(sample('web', null), { victim: VICTIM, listeningPorts: [80, 443] });
    expect(c).toMatchObject({ verdict: 'benign', family: 'unknown', signature: null });
    expect(c.reasons.join('; ')).toMatch(/\d+ % of inbound TCP belongs to flows the host answers/);
    expect(rule(c)).toMatchObject({ kind: 'none' });
  });

  it('does not call one-way HTTPS (payload to 443, some bare ACKs) an ACK flood', () => {
    const r = prng(3);
    const frames: Buffer[] = [];
    for (let f = 0; f < 150; f++) {
      const src = `198.51.${r.int(0, 255)}.${r.int(1, 254)}`;
      const sp = r.int(1024, 65535);
      for (let k = 0; k < 6; k++) frames.push(ipv4({ src, dst: VICTIM, protocol: 6 }, k % 3 === 2 ? tcp(sp, 443, TCP.ACK) : tcpSegment(sp, 443, TCP.ACK | TCP.PSH, r.int(100, 1200))));
    }
    const c = classify(parsePcap(pcapFile(frames)).packets, { victim: VICTIM });
    expect(c.verdict).not.toBe('attack');
    expect(c.reasons).toContain('the sample holds no packets from the host: its replies could not be checked');
  });

  it.each(['downloads', 'resolver', 'game', 'bulk', 'ssh'])('calls %s benign', (bg) => {
    const c = classify(sample(bg, null), { victim: VICTIM });
    expect(c.verdict).toBe('benign');
    expect(rule(c).kind).toBe('none');
  });
});

describe('attack vectors', () => {
  const named = (attack: string, share = 0.7) => classify(sample('', attack, share), { victim: VICTIM });

  it('names a flood of later fragments fragment_flood, matched with the fragment component', () => {
    const c = named('fragments_later');
    expect(c).toMatchObject({ verdict: 'attack', family: 'fragment_flood', subtype: 'udp' });
    expect(c.signature!.match.fragments).toEqual(['is-fragment']);
    expect(c.signature!.coverage).toBeGreaterThanOrEqual(0.9);
    expect(rule(c)).toMatchObject({ kind: 'flowspec', action: { type: 'discard' }, match: { fragments: ['is-fragment'] } });
    // IPv6 has no fragment component: the rule says so, or is not announced.
    const v6 = tierMatchFor({ ...c, evidence: 'capture' }, 6, { pps: 1, bps: 8e8 });
    expect(v6.kind === 'none' || !('fragments' in v6.match)).toBe(true);
  });

  it.each(Object.keys(REPLIES))('names %s amplification, matched by its reflectors\' source port', (vector) => {
    const c = named(`${vector}_amplification`);
    expect(c).toMatchObject({ verdict: 'attack', family: 'udp_flood', subtype: `${vector}_amplification` });
    expect(c.signature!.match.sourcePorts).toEqual([{ from: REPLIES[vector]!.port, to: REPLIES[vector]!.port }]);
    expect(c.signature!.collateral).toBeLessThanOrEqual(0.02);
    expect(rule(c)).toMatchObject({ kind: 'flowspec', action: { type: 'discard' } });
  });

  it.each([
    ['syn_ack_reflection', 'tcp_flood', 'syn_ack_reflection'],
    ['rst_reflection', 'tcp_flood', 'rst_reflection'],
    ['gre', 'protocol_flood', 'gre'],
    ['esp', 'protocol_flood', 'esp'],
    ['proto_253', 'protocol_flood', 'proto_253'],
    ['random_subdomain', 'dns_flood', 'random_subdomain'],
    ['game', 'udp_flood', 'game'],
    ['http', 'http_flood', null],
    ['ack', 'tcp_flood', 'ack'],
    ['syn', 'syn_flood', null],
    ['icmp', 'icmp_flood', null],
  ] as const)('names %s', (attack, family, subtype) => {
    expect(named(attack)).toMatchObject({ verdict: 'attack', family, subtype });
  });

  it('does not mistake a water torture\'s resolvers, which the host answers, for service traffic', () => {
    const c = named('random_subdomain', 0.3);
    expect(c.reasons[0]).toMatch(/different names under/);
  });
});

describe('tierMatchFor', () => {
  const floodOf = (flags: number, len = 0) => {
    const frames = Array.from({ length: 600 }, (_, i) => ipv4({ src: `198.51.${i >> 8}.${(i & 255) + 1}`, dst: VICTIM, protocol: 6 }, len ? tcpSegment(1024 + i, 443, flags, len) : tcp(1024 + i, 443, flags)));
    return classify(parsePcap(pcapFile(frames)).packets, { victim: VICTIM });
  };

  it('rate-limits a SYN flood of ordinary SYNs, with the rate and why', () => {
    const m = rule(floodOf(TCP.SYN));
    expect(m).toMatchObject({ kind: 'flowspec', match: { protocols: [6], tcpFlags: ['syn'] }, action: { type: 'rate_limit' } });
    if (m.kind !== 'flowspec' || m.action.type !== 'rate_limit') throw new Error('unreachable');
    expect(m.action.bytesPerSecond).toBe(1_000_000); // 1 % of 800 Mbit/s
    expect(m.why).toMatch(/cannot be told from the service's clients'/);
  });

  it('discards SYNs no client sends (1000-byte SYNs), and rate-limits an ACK flood', () => {
    expect(rule(floodOf(TCP.SYN, 1000))).toMatchObject({ kind: 'flowspec', action: { type: 'discard' }, match: { packetLengths: [{ from: 1052, to: 1052 }] } });
    expect(rule(floodOf(TCP.ACK))).toMatchObject({ kind: 'flowspec', action: { type: 'rate_limit' } });
  });

  it('drives no rule from the counters\' guess, a benign or inconclusive verdict, or a match without coverage', () => {
    const c = floodOf(TCP.SYN);
    expect(tierMatchFor({ ...c, evidence: 'counters' }, 4, { pps: 1, bps: 1 })).toMatchObject({ kind: 'none', why: expect.stringContaining('guess') });
    expect(tierMatchFor({ ...c, verdict: 'benign', evidence: 'capture' }, 4, { pps: 1, bps: 1 })).toMatchObject({ kind: 'none', why: expect.stringContaining('benign') });
    expect(tierMatchFor({ ...c, signature: { ...c.signature!, coverage: 0.4 }, evidence: 'capture' }, 4, { pps: 1, bps: 1 })).toMatchObject({ kind: 'none', why: expect.stringContaining('40 %') });
    expect(tierMatchFor({ ...c, signature: null, evidence: 'capture' }, 4, { pps: 1, bps: 1 }).kind).toBe('none');
  });
});
