// The node's detection configuration as its agent pulls it (GET /agent/config).
import type { AgentConfig } from '../../domain/agent-protocol.js';
import type { EscalationPolicy, Tier } from '../../domain/escalation.js';
import type { NodeRow } from '../../db/nodes.js';

/** What the agent may capture: bounded so a capture can never fill a disk. */
const CAPTURE = { max_packets: 20_000, max_seconds: 5, max_bytes: 16 * 1024 * 1024, snaplen: 256 };

export function agentConfigJson(node: NodeRow, policy: EscalationPolicy, tiers: Tier[], allowlist: string[]): AgentConfig {
  const lowest = tiers[0];
  return {
    node: { uuid: node.uuid, name: node.name, ip: node.ip, interface: node.interface },
    baseline_mode: policy.baselineMode,
    detection: { pps: lowest?.pps ?? null, bps: lowest?.bps ?? null },
    tiers: tiers.map((t) => ({ level: t.level, pps: t.pps, bps: t.bps })),
    capture: CAPTURE,
    allowlist,
  };
}
