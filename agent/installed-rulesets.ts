// The rule sets this agent has installed, with the allowlist they were installed with,
// kept in the state directory (written atomically). When the node's config brings another
// allowlist (an entry added or removed, perhaps while the node was offline), every rule set
// is installed again with it: no rule set Bulwark installed may drop an allowlisted
// address, whatever the control plane expanded when it sent it.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { FirewallRuleSet, FirewallSuite } from '../domain/firewall.js';
import type { Firewall } from './firewall.js';

interface Stored {
  version: 1;
  allowlist: string[];
  sets: Record<string, { suite: FirewallSuite; set: FirewallRuleSet }>;
}

const sameList = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

export class InstalledRuleSets {
  private state: Stored;

  /** `firewall` opens a suite with the given allowlist accepted first in every rule set. */
  constructor(
    private readonly path: string,
    private readonly firewall: (suite: FirewallSuite, allowlist: string[]) => Promise<Firewall>,
    allowlist: string[],
  ) {
    try {
      this.state = JSON.parse(readFileSync(path, 'utf8')) as Stored;
      if (this.state.version !== 1) throw new Error('unknown version');
    } catch {
      this.state = { version: 1, allowlist, sets: {} };
    }
  }

  get allowlist(): string[] {
    return this.state.allowlist;
  }

  async apply(suite: FirewallSuite, set: FirewallRuleSet): Promise<void> {
    await (await this.firewall(suite, this.state.allowlist)).apply(set);
    this.state.sets[`${suite}/${set.name}`] = { suite, set };
    this.save();
  }

  async remove(suite: FirewallSuite, name: string): Promise<void> {
    await (await this.firewall(suite, this.state.allowlist)).remove(name);
    delete this.state.sets[`${suite}/${name}`];
    this.save();
  }

  /** Installs every rule set again when the allowlist changed; the number installed again. */
  async allowlistIs(allowlist: string[]): Promise<number> {
    if (sameList(allowlist, this.state.allowlist)) return 0;
    const sets = Object.values(this.state.sets);
    for (const { suite, set } of sets) await (await this.firewall(suite, allowlist)).apply(set);
    this.state.allowlist = [...allowlist];
    this.save();
    return sets.length;
  }

  private save() {
    writeFileSync(`${this.path}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.path}.tmp`, this.path);
  }
}
