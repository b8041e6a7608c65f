// Operations the control plane asks an agent to perform on its host: typed, validated
// arguments, never shell strings.
import type { FirewallRuleSet } from './firewall.js';

export type NodeCommand =
  | { type: 'apply_ruleset'; suite: 'nftables' | 'iptables'; ruleset: FirewallRuleSet }
  | { type: 'remove_ruleset'; suite: 'nftables' | 'iptables'; name: string }
  | { type: 'block_source'; suite: 'nftables' | 'iptables'; source: string }
  | { type: 'unblock_source'; suite: 'nftables' | 'iptables'; source: string }
  /** With `incident_ref` (the agent's ref of one of its incidents), the capture is uploaded to it. */
  | { type: 'capture'; seconds: number; max_packets: number; incident_ref?: string }
  /** Ends the captures that capture commands are running (each still reports what it caught). */
  | { type: 'stop_capture' }
  /** Drop traffic from these countries (ISO 3166-1 alpha-2); the control plane hands the agent
   *  an apply_ruleset named `geo_lockdown` with the countries' prefixes, allowlist cut out. */
  | { type: 'geo_lockdown'; suite: 'nftables' | 'iptables'; countries: string[] };

/** The rule set geo lockdown installs on a node. */
export const GEO_LOCKDOWN_RULESET = 'geo_lockdown';

export type NodeCommandType = NodeCommand['type'];
export const NODE_COMMAND_TYPES: readonly NodeCommandType[] = ['apply_ruleset', 'remove_ruleset', 'block_source', 'unblock_source', 'capture', 'stop_capture', 'geo_lockdown'];

/** What the agent reports back. */
export type NodeCommandResult = { ok: true; detail?: Record<string, unknown> } | { ok: false; error: string };
