// How long the agent takes to apply, re-apply and remove a profile on each firewall suite,
// for real inside a network namespace (ufw and firewalld in their test sandboxes). Prints
// one line per suite. Usage: npm run bench:suites -- [--profile game_server] [--runs 3]
import { parseArgs } from 'node:util';
import { createFirewall } from '../agent/firewall.js';
import { PROFILE_IDS, profileRuleSet, type ProfileId } from '../domain/attack-profiles.js';
import { FIREWALL_SUITES } from '../domain/firewall.js';
import { firewalldInNamespace } from '../test/support/firewalld-ns.js';
import { createNsPair } from '../test/support/netns.js';
import { ufwInNamespace } from '../test/support/ufw-ns.js';

const { values } = parseArgs({ options: { profile: { type: 'string', default: 'game_server' }, runs: { type: 'string', default: '3' } } });
const profile = values.profile as ProfileId;
if (!PROFILE_IDS.includes(profile)) throw new Error(`--profile must be one of ${PROFILE_IDS.join(', ')}`);
const runs = Number(values.runs);
const set = profileRuleSet(profile, { allowlisted: ['198.51.100.0/24', '2001:db8::/48'] });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const timed = async (fn: () => Promise<void>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

console.log(`${profile}: ${set.rules.length} model rules; median of ${runs} runs`);
for (const suite of FIREWALL_SUITES) {
  const pair = createNsPair('bwk-bs');
  const ufw = suite === 'ufw' ? ufwInNamespace(pair.b.ns) : null;
  const firewalld = suite === 'firewalld' ? await firewalldInNamespace(pair.b.ns) : null;
  try {
    const fw = createFirewall(suite, ufw ? { prefix: ufw.prefix, ufwDir: ufw.dir } : { prefix: firewalld?.prefix ?? pair.exec(pair.b.ns) });
    const apply: number[] = [];
    const reapply: number[] = [];
    const remove: number[] = [];
    for (let i = 0; i < runs; i++) {
      apply.push(await timed(() => fw.apply(set)));
      reapply.push(await timed(() => fw.apply(set)));
      remove.push(await timed(() => fw.remove(set.name)));
      process.stderr.write(`  ${suite}: run ${i + 1}/${runs} done\n`);
    }
    const s = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s`;
    console.log(`${suite.padEnd(9)} apply ${s(apply)}  re-apply ${s(reapply)}  remove ${s(remove)}`);
  } finally {
    firewalld?.destroy();
    ufw?.destroy();
    pair.destroy();
  }
}
