// ufw for real inside a network namespace, with its configuration in a copy of /etc/ufw
// bind-mounted over /etc/ufw in a mount namespace of each command's own: the host's ufw,
// files and firewall are never touched. ufw is enabled there with incoming traffic allowed
// by default, so what the tests see dropped is what Bulwark (or a rule they add) drops.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface UfwNs {
  /** argv prefix: the command runs in the namespace with the copy as /etc/ufw. */
  prefix: string[];
  /** The copy of /etc/ufw (the agent's `ufwDir`). */
  dir: string;
  ufw(...args: string[]): string;
  destroy(): void;
}

export function ufwInNamespace(ns: string): UfwNs {
  const dir = join(mkdtempSync(join(tmpdir(), 'bwk-ufw-')), 'ufw');
  cpSync('/etc/ufw', dir, { recursive: true });
  const prefix = ['ip', 'netns', 'exec', ns, 'unshare', '--mount', 'sh', '-c', 'mount --bind "$0" /etc/ufw && exec "$@"', dir];
  const ufw = (...args: string[]) => execFileSync(prefix[0]!, [...prefix.slice(1), 'ufw', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  ufw('default', 'allow', 'incoming');
  ufw('--force', 'enable');
  return {
    prefix,
    dir,
    ufw,
    destroy() {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    },
  };
}
