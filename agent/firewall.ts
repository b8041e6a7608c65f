// Applies and removes named firewall rule sets (domain/firewall.ts) in a place of Bulwark's
// own on the host: applying twice is applying once, and removing touches nothing but what
// Bulwark installed. What each suite gets is rendered in domain/firewall-<suite>.ts; this
// module runs it.
import { execFile } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateRuleSet, type FirewallRule, type FirewallRuleSet, type FirewallSuite } from '../domain/firewall.js';
import { IPT_MAIN, iptablesRefusal, iptApplyRestore, iptRemoveRestore } from '../domain/firewall-iptables.js';
import { NFT_EMPTY, nftApplyScript, nftRemoveScript, parseNftInstalled } from '../domain/firewall-nftables.js';
import { parseUfwBlock, ufwSetLines, withUfwBlock } from '../domain/firewall-ufw.js';
import {
  DIRECT_FAMILIES,
  DIRECT_MAIN,
  directJumps,
  directRuleKey,
  directSetRules,
  otherGeneration,
  parseDirectChains,
  parseDirectJumps,
  setChain,
  type Generation,
} from '../domain/firewall-firewalld.js';
import { FIREWALLD_BATCH, FIREWALLD_PYTHON, type DirectOp } from './firewalld-client.js';

const run = promisify(execFile);

export interface Firewall {
  apply(set: FirewallRuleSet): Promise<void>;
  remove(name: string): Promise<void>;
  /** Names of the rule sets installed now. */
  list(): Promise<string[]>;
}

/** A TCP path the agent needs (its API server): accepted first in every rule set, so none can cut the agent off. */
export interface KeepPath {
  address: string;
  port: number;
}

export interface FirewallOptions {
  /** argv prefix for the tools, e.g. ["ip", "netns", "exec", "ns1"] (tests). */
  prefix?: string[];
  /** The agent's API server: accepted first in every rule set. */
  keep?: KeepPath[];
  /** The node's allowlist (its config's): accepted next, before any rule of the set. */
  allowlist?: string[];
  /** ufw's configuration directory (default /etc/ufw). */
  ufwDir?: string;
}

type Exec = (cmd: string, args: string[], input?: string) => Promise<string>;

export function createFirewall(suite: FirewallSuite, opts: FirewallOptions = {}): Firewall {
  const exec: Exec = async (cmd, args, input) => {
    const argv = [...(opts.prefix ?? []), cmd, ...args];
    const child = run(argv[0]!, argv.slice(1), { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (input !== undefined) child.child.stdin!.end(input);
    try {
      return (await child).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr || e.message).trim().slice(0, 1500)}`);
    }
  };
  const fw = suite === 'nftables' ? nftables(exec) : suite === 'iptables' ? iptables(exec) : suite === 'ufw' ? ufw(exec, opts.ufwDir ?? '/etc/ufw') : firewalld(exec);
  return {
    ...fw,
    apply(input) {
      // Before the set's own rules: the agent's API server, then the node's allowlist.
      const first: FirewallRule[] = [
        ...(opts.keep ?? []).map((k): FirewallRule => ({ action: 'accept', protocol: 'tcp', source: k.address, sourcePorts: [{ from: k.port, to: k.port }], title: "the agent's API server" })),
        ...(opts.allowlist?.length ? [{ action: 'accept' as const, sources: opts.allowlist, title: 'Allowlist (the node config)' }] : []),
      ];
      const v = validateRuleSet({ ...input, rules: [...first, ...input.rules] });
      if (!v.ok) return Promise.reject(new Error(`invalid rule set: ${v.reason}`));
      return fw.apply(v.set);
    },
  };
}

function nftables(exec: Exec): Firewall {
  const installed = () => exec('nft', ['-j', 'list', 'table', 'inet', 'bulwark']).then(parseNftInstalled, () => NFT_EMPTY);
  return {
    list: async () => (await installed()).sets,
    async apply(set) {
      await exec('nft', ['-f', '-'], nftApplyScript(await installed(), set));
    },
    async remove(name) {
      const script = nftRemoveScript(await installed(), name);
      if (script) await exec('nft', ['-f', '-'], script);
    },
  };
}

function iptables(exec: Exec): Firewall {
  const TOOLS = ['iptables', 'ip6tables'] as const;
  const ipt = (tool: string, args: string[]) => exec(tool, ['-w', ...args]);
  const exists = (tool: string, args: string[]) => ipt(tool, args).then(
    () => true,
    () => false,
  );
  const installed = async (tool: string) => [...(await ipt(tool, ['-S']).catch(() => '')).matchAll(/^-N BW-([a-z0-9_]+)$/gm)].map((m) => m[1]!).sort();
  const restore = (tool: string, input: string) => exec(`${tool}-restore`, ['-w', '--noflush'], input);
  return {
    list: () => installed('iptables'),
    async apply(set) {
      const refusal = iptablesRefusal(set);
      if (refusal) throw new Error(refusal);
      for (const tool of TOOLS) {
        await restore(tool, iptApplyRestore(await installed(tool), set, tool === 'ip6tables'));
        if (!(await exists(tool, ['-C', 'INPUT', '-j', IPT_MAIN]))) await ipt(tool, ['-I', 'INPUT', '1', '-j', IPT_MAIN]);
      }
    },
    async remove(name) {
      for (const tool of TOOLS) {
        const now = await installed(tool);
        if (!now.includes(name)) continue;
        if (now.length === 1) while (await exists(tool, ['-C', 'INPUT', '-j', IPT_MAIN])) await ipt(tool, ['-D', 'INPUT', '-j', IPT_MAIN]);
        await restore(tool, iptRemoveRestore(now, name));
      }
    },
  };
}

/**
 * ufw: Bulwark's block in before.rules and before6.rules (domain/firewall-ufw.ts), loaded by
 * `ufw reload`. A reload that fails puts the files back as they were and reloads again, so
 * ufw is never left on a broken configuration. ufw must be active: rules in an inactive
 * ufw's files would do nothing, silently.
 */
function ufw(exec: Exec, dir: string): Firewall {
  const files = [
    { path: join(dir, 'before.rules'), v6: false, tool: 'iptables' },
    { path: join(dir, 'before6.rules'), v6: true, tool: 'ip6tables' },
  ];
  const read = () => Promise.all(files.map((f) => readFile(f.path, 'utf8')));
  const write = async (texts: string[]) => {
    for (const [i, f] of files.entries()) {
      await writeFile(`${f.path}.bulwark-tmp`, texts[i]!, { mode: 0o640 });
      await rename(`${f.path}.bulwark-tmp`, f.path);
    }
  };
  async function change(edit: (sets: Map<string, string[]>, v6: boolean) => void): Promise<void> {
    const status = await exec('ufw', ['status']);
    if (!/^Status: active/m.test(status)) throw new Error('ufw is inactive on this host: rules in its files would do nothing; enable ufw, or use the nftables or iptables suite');
    const before = await read();
    const after = before.map((text, i) => {
      const sets = parseUfwBlock(text);
      edit(sets, files[i]!.v6);
      return withUfwBlock(text, sets, files[i]!.v6);
    });
    await write(after);
    try {
      await exec('ufw', ['reload']);
    } catch (err) {
      await write(before);
      await exec('ufw', ['reload']).catch(() => undefined);
      throw err;
    }
  }
  /** Chains a reload left behind, unreferenced (ufw flushes only its own). */
  const dropChains = async (chains: string[]) => {
    // All flushed first: bwu-input still jumps to the set's chain until it is flushed.
    for (const f of files) for (const op of ['-F', '-X']) for (const c of chains) await exec(f.tool, ['-w', op, c]).catch(() => undefined);
  };
  return {
    list: async () => [...parseUfwBlock((await read())[0]!).keys()].sort(),
    async apply(set) {
      const refusal = iptablesRefusal(set, 'ufw');
      if (refusal) throw new Error(refusal);
      await change((sets, v6) => sets.set(set.name, ufwSetLines(set, v6)));
    },
    async remove(name) {
      const installed = parseUfwBlock((await read())[0]!);
      if (!installed.has(name)) return;
      await change((sets) => sets.delete(name));
      await dropChains([`bwu-${name}`, ...(installed.size === 1 ? ['bwu-input'] : [])]);
    },
  };
}

/**
 * firewalld: direct chains and rules (domain/firewall-firewalld.ts), changed through
 * firewalld's client library in one process per step (agent/firewalld-client.ts), at
 * runtime first and then identically in the permanent configuration, so a reload or a
 * reboot brings back exactly what runs. firewalld must be running: the permanent
 * configuration alone would do nothing until the next reload.
 */
function firewalld(exec: Exec): Firewall {
  type Config = 'runtime' | 'permanent';
  const client = (config: Config, ops: DirectOp[], read = false) => exec(FIREWALLD_PYTHON, ['-c', FIREWALLD_BATCH], JSON.stringify({ config, ops, read }));
  const batch = async (config: Config, ops: DirectOp[]) => {
    if (ops.length > 0) await client(config, ops);
  };
  const eachFamily = (op: 'add-chain' | 'remove-chain' | 'remove-rules', chain: string): DirectOp[] => DIRECT_FAMILIES.map((family) => ({ op, family, chain }));

  async function ensureRunning(): Promise<void> {
    const state = await exec('firewall-cmd', ['--state']).catch((err: Error) => err.message);
    if (!/^running/m.test(state)) throw new Error(`firewalld is not running on this host (${state.trim().split('\n').at(-1)}): start it, or use the nftables or iptables suite`);
  }

  /** Bulwark's direct state in one configuration: set chains present, and the jumps that make sets installed. */
  async function read(config: Config) {
    const { chains: chainsText, rules: rulesText } = JSON.parse(await client(config, [], true)) as { chains: string; rules: string };
    const jumps = parseDirectJumps(rulesText);
    const installed = new Map<string, Generation>();
    for (const j of jumps) {
      const m = /^-j BW([ab])-([a-z0-9_]+)$/.exec(j.args.join(' '));
      if (j.family === 'ipv4' && j.chain === DIRECT_MAIN && m) installed.set(m[2]!, m[1] as Generation);
    }
    return { chains: parseDirectChains(chainsText), hasMain: new RegExp(`^ipv4 filter ${DIRECT_MAIN}$`, 'm').test(chainsText), jumps, installed };
  }

  /** The changes that make the jumps those of `installed`: new ones added before stale ones go, so no set is skipped meanwhile. */
  function syncJumps(state: Awaited<ReturnType<typeof read>>, installed: Map<string, Generation>): DirectOp[] {
    const want = directJumps(installed);
    const have = new Set(state.jumps.map(directRuleKey));
    const keys = new Set(want.map(directRuleKey));
    return [
      ...(want.length > 0 && !state.hasMain ? eachFamily('add-chain', DIRECT_MAIN) : []),
      ...want.filter((r) => !have.has(directRuleKey(r))).map((rule): DirectOp => ({ op: 'add-rule', rule })),
      ...state.jumps.filter((r) => !keys.has(directRuleKey(r))).map((rule): DirectOp => ({ op: 'remove-rule', rule })),
      ...(want.length === 0 && state.hasMain ? eachFamily('remove-chain', DIRECT_MAIN) : []),
    ];
  }

  const dropChain = (chain: string): DirectOp[] => [...eachFamily('remove-rules', chain), ...eachFamily('remove-chain', chain)];

  /** Fills the set's chain of generation `gen` (emptied first if a crash left it), then points BULWARK at it and drops the other generation's. */
  async function install(config: Config, set: FirewallRuleSet, gen: Generation): Promise<void> {
    const state = await read(config);
    const chain = setChain(set.name, gen);
    const present = state.chains.get(set.name) ?? [];
    try {
      await batch(config, [...eachFamily(present.includes(gen) ? 'remove-rules' : 'add-chain', chain), ...directSetRules(set, gen).map((rule): DirectOp => ({ op: 'add-rule', rule }))]);
    } catch (err) {
      await batch(config, dropChain(chain)).catch(() => undefined);
      throw err;
    }
    await batch(config, [...syncJumps(state, new Map([...state.installed, [set.name, gen]])), ...present.filter((old) => old !== gen).flatMap((old) => dropChain(setChain(set.name, old)))]);
  }

  async function uninstall(config: Config, name: string): Promise<void> {
    const state = await read(config);
    const installed = new Map(state.installed);
    installed.delete(name);
    await batch(config, [...syncJumps(state, installed), ...(state.chains.get(name) ?? []).flatMap((gen) => dropChain(setChain(name, gen)))]);
  }

  return {
    list: async () => [...(await read('runtime')).installed.keys()].sort(),
    async apply(set) {
      const refusal = iptablesRefusal(set, 'firewalld');
      if (refusal) throw new Error(refusal);
      await ensureRunning();
      const gen = otherGeneration((await read('runtime')).installed.get(set.name));
      await install('runtime', set, gen);
      await install('permanent', set, gen);
    },
    async remove(name) {
      await ensureRunning();
      await uninstall('runtime', name);
      await uninstall('permanent', name);
    },
  };
}
