// firewalld for real inside a network namespace: a D-Bus system bus of its own (a socket
// in a temporary directory), and the daemon in a mount namespace where a copy of
// /etc/firewalld and a fresh /run stand in for the host's: the host's firewall, bus and
// configuration are never touched. The copy's default zone is `trusted`, so what the tests
// see dropped is what Bulwark (or a rule they add) drops.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FirewalldNs {
  /** argv prefix: the command runs in the namespace, on this firewalld's bus. */
  prefix: string[];
  firewallCmd(...args: string[]): string;
  /** The daemon's log, for failures. */
  log(): string;
  destroy(): void;
}

const BUS_CONFIG = (socket: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;

export async function firewalldInNamespace(ns: string): Promise<FirewalldNs> {
  const dir = mkdtempSync(join(tmpdir(), 'bwk-firewalld-'));
  const etc = join(dir, 'etc');
  cpSync('/etc/firewalld', etc, { recursive: true });
  const conf = join(etc, 'firewalld.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^DefaultZone=.*$/m, 'DefaultZone=trusted'));
  const socket = join(dir, 'bus');
  writeFileSync(join(dir, 'bus.conf'), BUS_CONFIG(socket));
  const children: ChildProcess[] = [spawn('dbus-daemon', ['--nofork', `--config-file=${join(dir, 'bus.conf')}`], { stdio: 'ignore' })];
  const logFile = join(dir, 'firewalld.log');
  const prefix = ['ip', 'netns', 'exec', ns, 'env', `DBUS_SYSTEM_BUS_ADDRESS=unix:path=${socket}`];
  const daemon = 'mount -t tmpfs tmpfs /run && mount --bind "$0" /etc/firewalld && exec firewalld --nofork --nopid --log-target file --log-file "$1"';
  children.push(spawn(prefix[0]!, [...prefix.slice(1), 'unshare', '--mount', 'sh', '-c', daemon, etc, logFile], { stdio: 'ignore' }));
  const firewallCmd = (...args: string[]) => execFileSync(prefix[0]!, [...prefix.slice(1), 'firewall-cmd', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '(no log)');
  const destroy = () => {
    for (const c of children.reverse()) c.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  for (let waited = 0; ; waited += 250) {
    try {
      if (firewallCmd('--state').startsWith('running')) break;
    } catch {
      if (waited > 30_000) {
        const text = log();
        destroy();
        throw new Error(`firewalld did not come up in namespace ${ns}:\n${text}`);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { prefix, firewallCmd, log, destroy };
}
