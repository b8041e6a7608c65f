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
  type DirectRule,
  type Generation,
} from '../domain/firewall-firewalld.js';

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

/** Runs `fn` over `items`, `width` at a time; the first failure stops the rest from starting. */
async function concurrently<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) await fn(items[next++]!).catch((err) => ((failed = true), Promise.reject(err)));
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}

/**
 * firewalld: direct chains and rules (domain/firewall-firewalld.ts) changed with firewall-cmd,
 * at runtime first and then identically in the permanent configuration, so a reload or a
 * reboot brings back exactly what runs. firewall-cmd changes one rule per call and spends
 * most of it starting up, so rule calls run a few at a time. firewalld must be running: the
 * permanent configuration alone would do nothing until the next reload.
 */
function firewalld(exec: Exec): Firewall {
  type Config = 'runtime' | 'permanent';
  const direct = (config: Config, ...args: string[]) => exec('firewall-cmd', [...(config === 'permanent' ? ['--permanent'] : []), '--direct', ...args]);
  const addRule = (config: Config, r: DirectRule) => direct(config, '--add-rule', r.family, 'filter', r.chain, String(r.priority), ...r.args);
  const removeRule = (config: Config, r: DirectRule) => direct(config, '--remove-rule', r.family, 'filter', r.chain, String(r.priority), ...r.args);
  const WIDTH = 4;
  const eachFamily = (fn: (f: (typeof DIRECT_FAMILIES)[number]) => Promise<unknown>) => Promise.all(DIRECT_FAMILIES.map(fn));

  async function ensureRunning(): Promise<void> {
    const state = await exec('firewall-cmd', ['--state']).catch((err: Error) => err.message);
    if (!/^running/m.test(state)) throw new Error(`firewalld is not running on this host (${state.trim().split('\n').at(-1)}): start it, or use the nftables or iptables suite`);
  }

  /** Bulwark's direct state in one configuration: set chains present, and the jumps that make sets installed. */
  async function read(config: Config) {
    const [chainsText, rulesText] = await Promise.all([direct(config, '--get-all-chains'), direct(config, '--get-all-rules')]);
    const jumps = parseDirectJumps(rulesText);
    const installed = new Map<string, Generation>();
    for (const j of jumps) {
      const m = /^-j BW([ab])-([a-z0-9_]+)$/.exec(j.args.join(' '));
      if (j.family === 'ipv4' && j.chain === DIRECT_MAIN && m) installed.set(m[2]!, m[1] as Generation);
    }
    return { chains: parseDirectChains(chainsText), hasMain: new RegExp(`^ipv4 filter ${DIRECT_MAIN}$`, 'm').test(chainsText), jumps, installed };
  }

  /** Makes the jumps those of `installed`: new ones added before stale ones go, so no set is skipped meanwhile. */
  async function syncJumps(config: Config, state: Awaited<ReturnType<typeof read>>, installed: Map<string, Generation>): Promise<void> {
    const want = directJumps(installed);
    if (want.length > 0 && !state.hasMain) await eachFamily((f) => direct(config, '--add-chain', f, 'filter', DIRECT_MAIN));
    const have = new Set(state.jumps.map(directRuleKey));
    const keys = new Set(want.map(directRuleKey));
    await concurrently(want.filter((r) => !have.has(directRuleKey(r))), WIDTH, (r) => addRule(config, r));
    await concurrently(state.jumps.filter((r) => !keys.has(directRuleKey(r))), WIDTH, (r) => removeRule(config, r));
    if (want.length === 0 && state.hasMain) await eachFamily((f) => direct(config, '--remove-chain', f, 'filter', DIRECT_MAIN));
  }

  const dropChain = (config: Config, chain: string) =>
    eachFamily(async (f) => {
      await direct(config, '--remove-rules', f, 'filter', chain);
      await direct(config, '--remove-chain', f, 'filter', chain);
    });

  /** Fills the set's chain of generation `gen` (emptied first if a crash left it), points BULWARK at it, and drops the other generation's. */
  async function install(config: Config, set: FirewallRuleSet, gen: Generation): Promise<void> {
    const state = await read(config);
    const chain = setChain(set.name, gen);
    const present = state.chains.get(set.name) ?? [];
    await eachFamily((f) => direct(config, present.includes(gen) ? '--remove-rules' : '--add-chain', f, 'filter', chain));
    try {
      await concurrently(directSetRules(set, gen), WIDTH, (r) => addRule(config, r));
    } catch (err) {
      await dropChain(config, chain).catch(() => undefined);
      throw err;
    }
    await syncJumps(config, state, new Map([...state.installed, [set.name, gen]]));
    for (const old of present) if (old !== gen) await dropChain(config, setChain(set.name, old));
  }

  async function uninstall(config: Config, name: string): Promise<void> {
    const state = await read(config);
    const installed = new Map(state.installed);
    installed.delete(name);
    await syncJumps(config, state, installed);
    for (const gen of state.chains.get(name) ?? []) await dropChain(config, setChain(name, gen));
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
