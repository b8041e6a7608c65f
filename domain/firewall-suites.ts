// What each firewall suite can take, and what it would be given: the API's previews and
// refusals, from the same renderers the agent runs. Pure.
import { iptablesRefusal, iptApplyRestore } from './firewall-iptables.js';
import { NFT_EMPTY, nftApplyScript } from './firewall-nftables.js';
import { ufwSetLines } from './firewall-ufw.js';
import type { FirewallRuleSet, FirewallSuite } from './firewall.js';

/** Suites the agent applies today; firewalld is named by the reference and refused until built. */
export const AGENT_SUITES: readonly FirewallSuite[] = ['nftables', 'iptables', 'ufw'];

/** Why the agent cannot apply the rule set with this suite as the model means it, or null. */
export function suiteRefusal(suite: FirewallSuite, set: FirewallRuleSet): string | null {
  if (!AGENT_SUITES.includes(suite)) return `the agent does not apply ${suite} rules yet; use nftables, iptables or ufw`;
  return suite === 'iptables' || suite === 'ufw' ? iptablesRefusal(set) : null;
}

/** What the suite's tool is given, as the agent gives it (the agent's own API-server accept aside): one script per tool. */
export function suitePreview(suite: FirewallSuite, set: FirewallRuleSet): Record<string, string> | null {
  if (suiteRefusal(suite, set)) return null;
  if (suite === 'nftables') return { 'nft -f -': nftApplyScript(NFT_EMPTY, set) };
  if (suite === 'ufw') return { '/etc/ufw/before.rules': ufwSetLines(set, false).join('\n'), '/etc/ufw/before6.rules': ufwSetLines(set, true).join('\n') };
  return { 'iptables-restore --noflush': iptApplyRestore([], set, false), 'ip6tables-restore --noflush': iptApplyRestore([], set, true) };
}
