// Benchmark: the classifier on the labelled corpus (test/support/traffic-corpus.ts):
// per-class precision and recall, the confusion matrix, accuracy by attack share, the
// benign samples that would get a dropping rule (must be 0), and classify's speed.
//   npm run bench:detection [-- --seed 1 --variants 8 --packets 2000]
import { parseArgs } from 'node:util';
import { classify } from '../domain/classify.js';
import { tierMatchFor } from '../domain/escalation.js';
import { corpus, expectedClass, isCorrect, VICTIM, type Sample } from '../test/support/traffic-corpus.js';
import { parsePcap } from '../domain/pcap.js';
import { ipv4, pcapFile, udp } from '../test/support/packets.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, variants: { type: 'string', default: '8' }, packets: { type: 'string', default: '2000' }, verbose: { type: 'boolean', default: false } } });

export interface Scored {
  sample: Sample;
  predicted: string;
  subtypeOk: boolean;
  rule: 'discard' | 'rate_limit' | 'none';
  ms: number;
}

function score(s: Sample): Scored {
  const t0 = performance.now();
  const c = classify(s.packets, { victim: VICTIM, listeningPorts: s.listeningPorts });
  const ms = performance.now() - t0;
  const predicted = c.verdict === 'attack' ? c.family : c.verdict;
  const span = Math.max(1, s.packets[s.packets.length - 1]!.tsMs - s.packets[0]!.tsMs) / 1000;
  const m = tierMatchFor({ ...c, evidence: 'capture' }, 4, { pps: c.packets / span, bps: (c.bytes * 8) / span });
  return { sample: s, predicted, subtypeOk: s.label.subtype === null || c.subtype === s.label.subtype, rule: m.kind === 'none' ? 'none' : m.action.type, ms };
}

function main() {
  const scored: Scored[] = [];
  const started = performance.now();
  for (const s of corpus({ seed: Number(values.seed), variants: Number(values.variants), packets: Number(values.packets) })) {
    const r = score(s);
    scored.push(r);
    if (values.verbose && !isCorrect(s, r.predicted)) console.log(`  miss ${s.id}: ${r.predicted}`);
    if (scored.length % 100 === 0) process.stderr.write(`  ${scored.length} samples, ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const classes = [...new Set(scored.map((x) => expectedClass(x.sample)))].sort();
  const columns = [...classes, 'inconclusive'];
  const cells = new Map<string, number>();
  for (const x of scored) cells.set(`${expectedClass(x.sample)}|${x.predicted}`, (cells.get(`${expectedClass(x.sample)}|${x.predicted}`) ?? 0) + 1);
  for (const x of scored) if (!columns.includes(x.predicted)) columns.push(x.predicted);

  console.log(`detection: seed ${values.seed}, ${values.variants} variants, ${scored.length} samples (${scored.filter((x) => x.sample.share === null).length} benign), ~${values.packets} packets to the host each\n`);
  console.log('per class (strict: only the expected class counts; accepted: inconclusive at a 10 % share counts too)');
  console.log(`${'class'.padEnd(16)} ${'n'.padStart(4)}  precision  recall  accepted`);
  for (const k of classes) {
    const n = scored.filter((x) => expectedClass(x.sample) === k).length;
    const tp = cells.get(`${k}|${k}`) ?? 0;
    const predicted = scored.filter((x) => x.predicted === k).length;
    const accepted = scored.filter((x) => expectedClass(x.sample) === k && isCorrect(x.sample, x.predicted)).length;
    const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '  -  ').padStart(9);
    console.log(`${k.padEnd(16)} ${String(n).padStart(4)}  ${f(tp / predicted)} ${f(tp / n).slice(1)} ${f(accepted / n).slice(0)}`);
  }
  console.log('\nconfusion matrix (rows: expected, columns: predicted)');
  const short = (c: string) => c.replace('_flood', '').replace('multi_vector', 'multi').replace('inconclusive', 'inconcl').slice(0, 8);
  console.log(`${''.padEnd(16)}${columns.map((c) => short(c).padStart(9)).join('')}`);
  for (const k of classes) console.log(`${k.padEnd(16)}${columns.map((c) => String(cells.get(`${k}|${c}`) ?? 0).padStart(9)).join('')}`);

  console.log('\nby attack share');
  for (const share of [0.1, 0.3, 0.7]) {
    const xs = scored.filter((x) => x.sample.share === share);
    const fam = xs.filter((x) => x.predicted === expectedClass(x.sample));
    console.log(`  ${String(share * 100).padStart(3)} %: family right ${fam.length}/${xs.length}, subtype right ${fam.filter((x) => x.subtypeOk).length}/${fam.length}, inconclusive ${xs.filter((x) => x.predicted === 'inconclusive').length}, called benign ${xs.filter((x) => x.predicted === 'benign').length}, wrong family ${xs.filter((x) => !['inconclusive', 'benign', expectedClass(x.sample)].includes(x.predicted)).length}`);
  }
  const benign = scored.filter((x) => x.sample.share === null);
  const dropped = benign.filter((x) => x.rule !== 'none');
  console.log(`\nbenign samples given a dropping rule (discard or rate limit): ${dropped.length} of ${benign.length}${dropped.length ? `: ${dropped.map((x) => x.sample.id).join(', ')}` : ''}`);
  const attacks = scored.filter((x) => x.sample.share !== null && x.predicted === expectedClass(x.sample));
  console.log(`attack samples named right: ${attacks.filter((x) => x.rule === 'discard').length} discard, ${attacks.filter((x) => x.rule === 'rate_limit').length} rate limit, ${attacks.filter((x) => x.rule === 'none').length} no rule`);
  const accuracy = scored.filter((x) => isCorrect(x.sample, x.predicted)).length / scored.length;
  console.log(`accuracy (accepted): ${accuracy.toFixed(3)}\n`);
  console.log(latencyLine(`classify, ${values.packets}-packet samples`, scored.map((x) => x.ms)));
  // A flood-sized sample: 10,000 DNS replies from as many sources.
  const frames = Array.from({ length: 10_000 }, (_, i) => ipv4({ src: `198.51.${(i >> 8) & 255}.${(i & 255) + 1}`, dst: VICTIM, protocol: 17 }, udp(53, 1024 + (i % 60000), Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 1, 2]))));
  const big = parsePcap(pcapFile(frames)).packets;
  const times = Array.from({ length: 30 }, () => {
    const t0 = performance.now();
    classify(big, { victim: VICTIM });
    return performance.now() - t0;
  });
  console.log(latencyLine('classify, 10,000-packet sample', times.slice(5)));
}

main();
