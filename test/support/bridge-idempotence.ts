// What every bridge beside a speaker owes its adapter and its operator: announcing a
// route twice is one route, withdrawing one that is not there is done (a retried activity
// must never fail for having succeeded once), and every change is in the bridge's log
// with the caller's address.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { MitigationAdapter } from '../../activities/adapters/types.js';
import type { BlackholeIntent } from '../../domain/intent.js';
import { waitForRib, type BgpLab, type RibEntry } from './bgp-lab.js';

export async function expectIdempotentAndLogged(
  lab: BgpLab,
  adapter: MitigationAdapter,
  opts: { bridge: 'bird-bridge' | 'frr-bridge'; speaker: string; ip: string; neverAnnounced: string },
) {
  const prefix = `${opts.ip}/32`;
  const intent: BlackholeIntent = { kind: 'blackhole', prefix, nextHop: '192.0.2.1', communities: ['65535:666', '65535:65281'] };
  const held = (rib: RibEntry[]) => rib.filter((e) => e.prefix === prefix && e.neighbor === opts.speaker).length;
  await adapter.announce(intent);
  await adapter.announce(intent);
  await waitForRib(lab, 'ipv4', (rib) => held(rib) === 1, 10_000);
  expect((await adapter.list!()).filter((i) => i.kind === 'blackhole' && i.prefix === prefix)).toHaveLength(1);
  await adapter.withdraw(intent);
  await adapter.withdraw(intent);
  await adapter.withdraw({ ...intent, prefix: `${opts.neverAnnounced}/32` });
  await waitForRib(lab, 'ipv4', (rib) => held(rib) === 0, 10_000);
  expect((await adapter.list!()).some((i) => i.kind === 'blackhole' && i.prefix === prefix)).toBe(false);

  const log = readFileSync(join(lab.logDir, `${opts.bridge}.log`), 'utf8');
  const changes = log.split('\n').filter((l) => l.includes(prefix) && / by [\d.:a-f]+:\d+: /.test(l));
  expect(
    changes.filter((l) => /\bannounce .* done in /.test(l)),
    log.slice(-2000),
  ).toHaveLength(2);
  expect(
    changes.filter((l) => /\bwithdraw .* done in /.test(l)),
    log.slice(-2000),
  ).toHaveLength(2);
}
