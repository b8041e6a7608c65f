// Attack profiles end to end, as a newcomer uses them: list, preview game_server for
// nftables, apply it to ["all"] with the reference's body (a real agent in a namespace
// installs it; an offline node is skipped), see the roll-out per node and its workflow in
// Temporal, switch suites, remove it; and every bad input refused with a reason.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { startFloodLab, type FloodLab } from './support/flood-lab.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { udpDelivered } from './support/udp-delivered.js';

const run = promisify(execFile);
const VICTIM = '203.0.113.150';
let stack: Stack;
let lab: FloodLab;
let user: { call: Caller };
let other: { call: Caller };
let online: string;
let offline: string;

beforeAll(async () => {
  stack = await startStack(inject('env'), { commandHeartbeatTimeoutSeconds: 5 });
  user = await stack.tenant();
  other = await stack.tenant();
  await user.call('POST', '/api/v1/allowlist', { ip_address: '198.51.100.0/24', label: 'management' });
  const node = await user.call('POST', '/api/v1/nodes', { name: 'game-1', ip: VICTIM, interface: 'veth-b' });
  online = node.body.node.uuid;
  offline = (await user.call('POST', '/api/v1/nodes', { name: 'game-2', ip: '203.0.113.151' })).body.node.uuid;
  lab = await startFloodLab(stack.baseUrl, VICTIM);
  lab.startAgent(['--api', lab.apiUrl, '--key', node.body.api_key, '--config-refresh-s', '1']);
  for (const deadline = Date.now() + 30_000; ; ) {
    if ((await user.call('GET', `/api/v1/nodes/${online}`)).body.node.status === 'online') break;
    if (Date.now() > deadline) throw new Error('the agent never came online');
    await new Promise((r) => setTimeout(r, 500));
  }
});
afterAll(async () => {
  await lab?.destroy();
  await stack?.stop();
});

const inVictim = (...argv: string[]) => run('ip', ['netns', 'exec', lab.pair.b.ns, ...argv], { encoding: 'utf8' }).then((r) => r.stdout);

/** UDP datagrams the victim took in of `count` sent at once from the attacker's namespace. */
const udpArrived = (port: number, count: number) => udpDelivered({ fromNs: lab.pair.a.ns, toNs: lab.pair.b.ns, to: VICTIM, port, count });

describe('attack profiles', () => {
  it('lists the profiles and the catalogue, and previews a profile per suite', async () => {
    const list = await user.call('GET', '/api/v1/attack-profiles');
    expect(list.body.profiles).toHaveLength(11);
    const game = list.body.profiles.find((p: { id: string }) => p.id === 'game_server');
    expect(game.optimized_for).toContain('Game servers');
    expect(game.rules.every((r: { title: string; reason: string }) => r.title && r.reason)).toBe(true);
    const catalogue = (await user.call('GET', '/api/v1/attack-profiles/catalogue')).body.catalogue;
    expect(catalogue.find((c: { name: string }) => c.name === 'block_fragments').suites).toEqual(['nftables']);

    const preview = await user.call('GET', '/api/v1/attack-profiles/game_server?suite=nftables');
    expect(preview.status).toBe(200);
    expect(preview.body.preview).toMatchObject({ suite: 'nftables', supported: true, refusal: null });
    expect(preview.body.preview.ruleset.rules[0]).toMatchObject({ action: 'accept', sources: ['198.51.100.0/24'] });
    expect(preview.body.preview.scripts['nft -f -']).toContain('add rule inet bulwark rs_profile_game_server udp dport 27015-27030');
    const ipt = await user.call('GET', '/api/v1/attack-profiles/game_server?suite=iptables');
    expect(ipt.body.preview.scripts['iptables-restore --noflush']).toContain('-A BW-profile_game_server -s 198.51.100.0/24');
    const ufw = await user.call('GET', '/api/v1/attack-profiles/game_server?suite=ufw');
    expect(ufw.body.preview.scripts['/etc/ufw/before.rules']).toContain('-A bwu-profile_game_server -s 198.51.100.0/24');
    const firewalld = await user.call('GET', '/api/v1/attack-profiles/game_server?suite=firewalld');
    expect(firewalld.body.preview).toMatchObject({ supported: true, refusal: null });
    expect(firewalld.body.preview.scripts['firewall-cmd (runtime, then the same with --permanent)']).toContain('firewall-cmd --direct --add-rule ipv4 filter BWa-profile_game_server 0 -s 198.51.100.0/24');
    expectError(await user.call('GET', '/api/v1/attack-profiles/nope'), 404, 'not_found', 'game_server');
    expectError(await user.call('GET', '/api/v1/attack-profiles/game_server?suite=pf'), 400, 'invalid_parameter', 'suite');
  });

  it('refuses bad input, naming what is wrong', async () => {
    const apply = (body: unknown, who = user) => who.call('POST', '/api/v1/attack-profiles/apply', body);
    const base = { profile_id: 'game_server', suite: 'nftables', node_ids: ['all'] };
    expectError(await apply({ ...base, profile_id: 'gamer' }), 400, 'invalid_parameter', 'profile_id');
    expectError(await apply({ ...base, suite: 'pf' }), 400, 'invalid_parameter', 'suite');
    expectError(await apply({ ...base, node_ids: [] }), 400, 'invalid_parameter', 'node_ids');
    expectError(await apply({ ...base, node_ids: ['all', online] }), 400, 'invalid_parameter', 'stands alone');
    expectError(await apply({ ...base, node_ids: ['nope'] }), 400, 'invalid_parameter', 'node_ids.0');
    expectError(await apply({ ...base, node_ids: ['00000000-0000-4000-8000-000000000000'] }), 404, 'not_found', '00000000-0000-4000-8000-000000000000');
    expectError(await apply({ ...base, rules: [{ cmd: '-p tcp --dport 22 -j ACCEPT; reboot' }] }), 400, 'invalid_parameter', 'rules[0].cmd: token "ACCEPT;"');
    expectError(await apply({ ...base, rules: [{ cmd: '-p tcp -j MASQUERADE' }] }), 400, 'invalid_parameter', '"MASQUERADE"');
    expectError(await apply({ ...base, suite: 'iptables', rules: [{ cmd: '-f -j DROP' }] }), 400, 'invalid_parameter', 'suite: rules[');
    expectError(await apply({ ...base, suite: 'firewalld', rules: [{ cmd: '-f -j DROP' }] }), 400, 'invalid_parameter', 'firewalld (its rules are iptables rules) never sees');
    // Another workspace: none of this one's nodes, and an empty allowlist for a profile that admits SSH from it only.
    expectError(await apply({ ...base, node_ids: [online] }, other), 404, 'not_found', online);
    expectError(await apply({ ...base, profile_id: 'fintech' }, other), 400, 'invalid_parameter', 'allowlist is empty');
    expectError(await apply(base, other), 400, 'invalid_parameter', 'no nodes');
  });

  it('applies game_server to ["all"]: installed by the online agent, the offline node skipped, the roll-out per node', async () => {
    const res = await user.call('POST', '/api/v1/attack-profiles/apply', {
      profile_id: 'game_server',
      suite: 'nftables',
      node_ids: ['all'],
      rules: [{ cmd: '-p udp --dport 7777 -j DROP', title: 'Old query port' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ ok: true, applied_to: 1, profile: 'game_server', suite: 'nftables' });
    const rollout = res.body.rollout;
    expect(rollout).toMatchObject({ status: 'completed', target: 'all', counts: { applied: 1, skipped: 1, failed: 0 } });
    expect(rollout.workflow_id).toBe(`profile-rollout:${rollout.id}`);
    const byNode = Object.fromEntries(rollout.nodes.map((n: { node_id: string }) => [n.node_id, n]));
    expect(byNode[online]).toMatchObject({ state: 'applied', detail: null });
    expect(byNode[online].command_workflow_id).toMatch(new RegExp(`^node-command:${online}:`));
    expect(byNode[offline]).toMatchObject({ state: 'skipped' });
    expect(byNode[offline].detail).toContain('offline');
    // The roll-out is a workflow in Temporal, completed.
    const described = await stack.temporal.workflow.getHandle(rollout.workflow_id).describe();
    expect(described.status.name).toBe('COMPLETED');
    expect((await user.call('GET', `/api/v1/attack-profiles/rollouts/${rollout.id}`)).body.rollout).toEqual(rollout);
    expectError(await other.call('GET', `/api/v1/attack-profiles/rollouts/${rollout.id}`), 404, 'not_found');
    expect((await other.call('GET', '/api/v1/attack-profiles/rollouts')).body.rollouts).toEqual([]);
    // Another workspace's preview holds none of this one's allowlist.
    const theirs = (await other.call('GET', '/api/v1/attack-profiles/game_server')).body.preview.ruleset.rules;
    expect(JSON.stringify(theirs)).not.toContain('198.51.100.0/24');
    expect((await user.call('GET', '/api/v1/attack-profiles/rollouts')).body.rollouts[0]).toMatchObject({ id: rollout.id, status: 'completed' });

    // On the host: the profile's chain, the custom rule, the allowlist and the agent's own API path first.
    const table = await inVictim('nft', 'list', 'table', 'inet', 'bulwark');
    expect(table).toContain('chain rs_profile_game_server');
    expect(table).toContain('comment "Old query port"');
    expect(table).toContain('ip saddr 198.51.100.0/24');
    expect(table).toContain(`comment "the agent's API server"`);
    // Real packets: a player passes, a flood from one source is cut, the custom port is closed.
    expect(await udpArrived(27015, 200)).toBe(200);
    expect(await udpArrived(27016, 3000)).toBeLessThan(1500);
    expect(await udpArrived(7777, 20)).toBe(0);
    // An address allowlisted afterwards is accepted by the installed profile within a config
    // refresh (the agent installs its rule sets again), and limited again once it is removed.
    const entry = await user.call('POST', '/api/v1/allowlist', { ip_address: lab.pair.a.ip, label: 'load tester' });
    expect(entry.status).toBe(200);
    await expect.poll(() => udpArrived(27018, 3000), { timeout: 15_000, interval: 1000 }).toBe(3000);
    await user.call('DELETE', `/api/v1/allowlist/${entry.body.entry.id}`);
    await expect.poll(() => udpArrived(27019, 3000), { timeout: 15_000, interval: 1000 }).toBeLessThan(1500);
    // The agent still reaches the API through its own firewall.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await user.call('GET', `/api/v1/nodes/${online}`)).body.node.status).toBe('online');
  });

  it('switches the node to iptables (new first, old removed after), then removes the profile', async () => {
    const res = await user.call('POST', '/api/v1/attack-profiles/apply', { profile_id: 'game_server', suite: 'iptables', node_ids: [online] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.rollout.nodes).toEqual([expect.objectContaining({ node_id: online, state: 'applied', detail: 'replaced game_server (nftables)' })]);
    await expect(inVictim('nft', 'list', 'table', 'inet', 'bulwark')).rejects.toThrow();
    // Its history (apply, replace, an offline node's outcome) replays against the current code.
    const handle = stack.temporal.workflow.getHandle(res.body.rollout.workflow_id);
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('env').workflowBundlePath } }, history, handle.workflowId);
    if (process.env.RECORD_HISTORIES) {
      writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'histories', 'profile-rollout-replaced.history.pb'), temporal.api.history.v1.History.encode(history).finish());
    }
    expect(await inVictim('iptables', '-w', '-S', 'BW-profile_game_server')).toContain('hashlimit');

    const removed = await user.call('POST', '/api/v1/attack-profiles/remove', { node_ids: ['all'] });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.removed_from).toBe(1);
    const states = Object.fromEntries(removed.body.rollout.nodes.map((n: { node_id: string; state: string; detail: string }) => [n.node_id, [n.state, n.detail]]));
    expect(states[online]).toEqual(['removed', 'removed game_server (iptables)']);
    expect(states[offline]).toEqual(['skipped', 'no profile applied']);
    expect(await inVictim('iptables', '-w', '-S')).not.toContain('BULWARK');
    expect(await udpArrived(7777, 20)).toBe(20);
    // Removing again: nothing left to remove.
    const again = await user.call('POST', '/api/v1/attack-profiles/remove', { node_ids: [online] });
    expect(again.body.rollout.nodes[0]).toMatchObject({ state: 'skipped', detail: 'no profile applied' });
  });
});
