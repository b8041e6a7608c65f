// Commands to agents end to end: POST /nodes/{uuid}/commands starts a workflow whose
// activity waits, asynchronously completed, for the agent's long poll and result.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectError } from './support/expect-error.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';

let stack: Stack;
let user: { call: Caller };
let other: { call: Caller };
const HEARTBEAT_TIMEOUT_S = 3;

beforeAll(async () => {
  stack = await startStack(inject('env'), { commandHeartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_S });
  user = await stack.tenant();
  other = await stack.tenant();
});
afterAll(async () => {
  await stack?.stop();
});

async function node(name: string) {
  const res = await user.call('POST', '/api/v1/nodes', { name, ip: '203.0.113.140' });
  const key = res.body.api_key as string;
  return {
    uuid: res.body.node.uuid as string,
    agent: (method: string, path: string, body?: unknown) => request(stack.baseUrl, method, `/api/v1/agent${path}`, body, { authorization: `Bearer ${key}` }),
  };
}

const ruleset = { name: 'block_dns', rules: [{ action: 'drop', protocol: 'udp', sourcePorts: [{ from: 53, to: 53 }] }] };

describe('node commands', () => {
  it('delivers a command by long poll and answers the agent’s result', async () => {
    const host = await node('cmd-1');
    const issued = user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'apply_ruleset', suite: 'nftables', ruleset });
    const polled = await host.agent('GET', '/commands?wait=10');
    expect(polled.status, JSON.stringify(polled.body)).toBe(200);
    expect(polled.body.commands).toHaveLength(1);
    const cmd = polled.body.commands[0];
    expect(cmd.command).toEqual({ type: 'apply_ruleset', suite: 'nftables', ruleset });
    // Delivered once: the next poll is empty.
    expect((await host.agent('GET', '/commands')).body.commands).toEqual([]);
    expect((await host.agent('POST', `/commands/${cmd.id}/result`, { ok: true, detail: { rules: 1 } })).body).toEqual({ ok: true, status: 'succeeded' });
    const res = await issued;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.command).toMatchObject({ status: 'succeeded', result: { rules: 1 }, error: null });
    expect(res.body.command.workflow_id).toMatch(new RegExp(`^node-command:${host.uuid}:`));
    expectError(await host.agent('POST', `/commands/${cmd.id}/result`, { ok: true }), 409, 'conflict', 'already');
  });

  it('reports the agent’s failure', async () => {
    const host = await node('cmd-2');
    const issued = user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'block_source', source: '198.51.100.66' });
    const cmd = (await host.agent('GET', '/commands?wait=10')).body.commands[0];
    expect(cmd.command).toEqual({ type: 'block_source', suite: 'nftables', source: '198.51.100.66' });
    await host.agent('POST', `/commands/${cmd.id}/result`, { ok: false, error: 'nft: permission denied' });
    expect((await issued).body.command).toMatchObject({ status: 'failed', error: 'nft: permission denied' });
  });

  it('keeps a long command alive while the agent polls, and fails it when the agent goes silent', async () => {
    const host = await node('cmd-3');
    const slow = user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'capture', seconds: 5, max_packets: 100 });
    const cmd = (await host.agent('GET', '/commands?wait=10')).body.commands[0];
    // Twice the heartbeat timeout, polling all along.
    for (let i = 0; i < 2 * HEARTBEAT_TIMEOUT_S; i++) await host.agent('GET', '/commands?wait=1');
    await host.agent('POST', `/commands/${cmd.id}/result`, { ok: true, detail: { packets: 100 } });
    expect((await slow).body.command).toMatchObject({ status: 'succeeded', result: { packets: 100 } });

    const silent = await user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'remove_ruleset', name: 'block_dns' });
    expect(silent.status).toBe(200);
    expect(silent.body.command).toMatchObject({ status: 'failed' });
    expect(silent.body.command.error).toContain('did not answer');
    // The agent comes back late: the abandoned command is not delivered.
    expect((await host.agent('GET', '/commands')).body.commands).toEqual([]);
  });

  it('delivers again what an agent lost (a restart, a lost answer), never what it is still running', async () => {
    const host = await node('cmd-5');
    const issued = user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'capture', seconds: 5, max_packets: 100 });
    const first = (await host.agent('GET', '/commands?wait=10&running=')).body.commands[0];
    // Still running it: listed, kept alive, not delivered again.
    expect((await host.agent('GET', `/commands?running=${first.id}`)).body.commands).toEqual([]);
    // The agent restarted and runs nothing: the command comes back.
    const again = await host.agent('GET', '/commands?running=');
    expect(again.body.commands.map((c: { id: number }) => c.id)).toEqual([first.id]);
    await host.agent('POST', `/commands/${first.id}/result`, { ok: true, detail: { packets: 3 } });
    expect((await issued).body.command).toMatchObject({ status: 'succeeded', result: { packets: 3 } });
    expectError(await host.agent('GET', '/commands?running=1,x'), 400, 'invalid_parameter', 'running');
  });

  it('validates commands and keeps workspaces apart', async () => {
    const host = await node('cmd-4');
    const cases: Array<[unknown, string]> = [
      [{ type: 'reboot' }, 'type'],
      [{ type: 'apply_ruleset', ruleset: { name: 'Bad Name', rules: [] } }, 'name'],
      [{ type: 'apply_ruleset', ruleset: { name: 'ok', rules: [{ action: 'drop', destinationPorts: [{ from: 1, to: 2 }] }] } }, 'ports need protocol'],
      [{ type: 'apply_ruleset', suite: 'pf', ruleset }, 'suite'],
      [{ type: 'block_source', source: '198.51.100.666' }, 'source'],
      [{ type: 'capture', seconds: 600, max_packets: 10 }, 'seconds'],
      [{ type: 'remove_ruleset', name: 'x; rm -rf /' }, 'name'],
    ];
    for (const [body, field] of cases) expectError(await user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, body), 400, 'invalid_parameter', field);
    expectError(await other.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'capture', seconds: 1, max_packets: 1 }), 404, 'not_found');
    // A capture can go to one of the node's own incidents only.
    expectError(await user.call('POST', `/api/v1/nodes/${host.uuid}/commands`, { type: 'capture', seconds: 1, max_packets: 1, incident_id: 999_999 }), 404, 'not_found', 'incident_id');
    expectError(await host.agent('GET', '/commands?wait=99'), 400, 'invalid_parameter', 'wait');
    expectError(await host.agent('POST', '/commands/999999/result', { ok: true }), 404, 'not_found');
    expectError(await host.agent('POST', '/commands/1/result', { ok: false }), 400, 'invalid_parameter');
  });
});
