// A prefix incident's verdict from its nodes' captures: a prefix-wide dropping rule takes
// the traffic of every host in the prefix, and any one node's key may be stolen, so the
// nodes must agree. Pure.
import type { ReportedClassification } from './agent-protocol.js';

/** What the nodes' captures say together. */
export interface PrefixEvidence {
  /** The classification the prefix incident takes; null when no node captured anything. */
  classification: ReportedClassification | null;
  /** One line per node and the reason for the verdict, for the timeline. */
  reasons: string[];
}

/**
 * The nodes' classifications (null: that node could not capture). An attack verdict needs
 * most of the nodes that captured, and never fewer than two, to name the same family (a
 * prefix incident opens only when two or more nodes carry the attack); the signature is
 * that of the largest of their samples. Benign when as many say benign; otherwise
 * inconclusive.
 */
export function prefixEvidence(prefix: string, perNode: Array<{ node: string; classification: ReportedClassification | null }>): PrefixEvidence {
  const captured = perNode.filter((n): n is { node: string; classification: ReportedClassification } => (n.classification?.packets ?? 0) > 0);
  const reasons = perNode.map((n) =>
    n.classification && (n.classification.packets ?? 0) > 0
      ? `${n.node}: ${n.classification.family}${n.classification.subtype ? ` (${n.classification.subtype})` : ''}, ${n.classification.verdict ?? 'attack'}, ${n.classification.packets} packets`
      : `${n.node}: no capture`,
  );
  if (captured.length === 0) return { classification: null, reasons: [...reasons, `no node of ${prefix} captured any packet`] };
  const needed = Math.max(2, Math.ceil(captured.length / 2));
  const attacks = new Map<string, ReportedClassification[]>();
  for (const { classification: c } of captured) {
    if ((c.verdict ?? 'attack') !== 'attack' || c.family === 'unknown') continue;
    attacks.set(c.family, [...(attacks.get(c.family) ?? []), c]);
  }
  const [family, agreeing] = [...attacks.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [null, []];
  const total = captured.reduce((s, n) => s + (n.classification.packets ?? 0), 0);
  if (family && agreeing.length >= needed) {
    const largest = agreeing.reduce((a, b) => ((b.packets ?? 0) > (a.packets ?? 0) ? b : a));
    const why = `${agreeing.length} of ${captured.length} nodes that captured name ${family}`;
    return {
      classification: { ...largest, evidence: 'capture', verdict: 'attack', packets: total, reasons: [why, ...reasons].slice(0, 12) },
      reasons: [...reasons, why],
    };
  }
  const benign = captured.filter((n) => n.classification.verdict === 'benign').length;
  const verdict = benign >= needed ? 'benign' : 'inconclusive';
  const why = family ? `only ${agreeing.length} of ${captured.length} nodes that captured name ${family} (${needed} needed)` : `${benign} of ${captured.length} nodes that captured see benign traffic`;
  return {
    classification: { family: 'unknown', subtype: null, verdict, evidence: 'capture', packets: total, reasons: [why, ...reasons].slice(0, 12) },
    reasons: [...reasons, why],
  };
}
