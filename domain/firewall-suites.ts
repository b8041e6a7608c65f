// What each firewall suite can take, and what it would be given: the API's previews and
// refusals, from the same renderers the agent runs. Pure.
import { firewalldPreview } from './firewall-firewalld.js';
import { iptablesRefusal, iptApplyRestore } from './firewall-iptables.js';
import { NFT_EMPTY, nftApplyScript } from './firewall-nftables.js';
import { ufwSetLines } from './firewall-ufw.js';
import { type FirewallRuleSet, type FirewallSuite } from './firewall.js';

/** Why the agent cannot apply the rule set with this suite as the model means it, or null. */
export function suiteRefusal(suite: FirewallSuite, set: FirewallRuleSet): string | null {
  return suite === 'nftables' ? null : iptablesRefusal(set, suite);
}

/** What the suite's tool is given, as the agent gives it (the agent's own API-server accept aside): one script per tool. */
export function suitePreview(suite: FirewallSuite, set: FirewallRuleSet): Record<string, string> | null {
  if (suiteRefusal(suite, set)) return null;
  if (suite === 'nftables') return { 'nft -f -': nftApplyScript(NFT_EMPTY, set) };
  if (suite === 'ufw') return { '/etc/ufw/before.rules': ufwSetLines(set, false).join('\n'), '/etc/ufw/before6.rules': ufwSetLines(set, true).join('\n') };
  if (suite === 'firewalld') return { 'firewall-cmd (runtime, then the same with --permanent)': firewalldPreview(set) };
  return { 'iptables-restore --noflush': iptApplyRestore([], set, false), 'ip6tables-restore --noflush': iptApplyRestore([], set, true) };
}
