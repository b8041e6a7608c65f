// The Temporal UI at scale: a rule's workflow carries Bulwark's search attributes and a
// one-line summary, so a visibility query (the UI's filter) finds it by target, workspace
// or status, and BulwarkStatus follows the rule from active to withdrawn.
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { searchAttributeArgs } from '../cmd/temporal-dev.js';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes.contract.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let hooks: WebhookReceiver;
let tenant: { id: number; call: Caller };

beforeAll(async () => {
  stack = await startStack(inject('env'));
  hooks = await startWebhookReceiver();
  tenant = await stack.tenant();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

/** The workflows a visibility query finds, once visibility (eventually consistent) has caught up with `until`. */
async function findWorkflows(query: string, until: (found: WorkflowExecutionInfo[]) => boolean): Promise<WorkflowExecutionInfo[]> {
  for (let attempt = 0; ; attempt++) {
    const found: WorkflowExecutionInfo[] = [];
    for await (const wf of stack.temporal.workflow.list({ query })) found.push(wf);
    if (until(found) || attempt >= 150) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('search attributes and summaries', () => {
  it('the dev server registers every attribute', async () => {
    expect(searchAttributeArgs()).toEqual([
      'BulwarkWorkspace=Int',
      'BulwarkKind=Keyword',
      'BulwarkTarget=Keyword',
      'BulwarkAdapter=Int',
      'BulwarkIncident=Int',
      'BulwarkNode=Keyword',
      'BulwarkStatus=Keyword',
    ]);
    const res = await stack.temporal.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const arg of searchAttributeArgs()) expect(Object.keys(res.customAttributes ?? {})).toContain(arg.split('=')[0]);
  });

  it('finds a rule by its target, shows its summary, and its status follows the rule', async () => {
    const adapter = (await tenant.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'Edge Hook', endpoint: hooks.url })).body.adapter;
    const created = await tenant.call('POST', '/api/v1/mitigation/rules', { target_ip: '203.0.113.77', intent_type: 'blackhole', adapter_id: adapter.id, ttl: 3600 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const rule = created.body.rule;
    const target: string = rule.target_ip;

    const byTarget = await findWorkflows(`BulwarkTarget = '${target}'`, (f) => f.some((w) => w.workflowId === rule.workflow_id));
    expect(byTarget.map((w) => w.workflowId)).toContain(rule.workflow_id);

    const handle = stack.temporal.workflow.getHandle(rule.workflow_id);
    const desc = await handle.describe();
    expect(await desc.staticSummary()).toBe(`blackhole ${target} via Edge Hook, ttl 3600 s`);
    const attrs = desc.typedSearchAttributes;
    expect(attrs.get(SEARCH_ATTRIBUTES.workspace)).toBe(tenant.id);
    expect(attrs.get(SEARCH_ATTRIBUTES.kind)).toBe('blackhole');
    expect(attrs.get(SEARCH_ATTRIBUTES.target)).toBe(target);
    expect(attrs.get(SEARCH_ATTRIBUTES.adapter)).toBe(adapter.id);
    expect(attrs.get(SEARCH_ATTRIBUTES.incident)).toBeUndefined();

    // Active once announced: the workspace's active blackholes include it.
    const active = `BulwarkWorkspace = ${tenant.id} AND BulwarkKind = 'blackhole' AND BulwarkStatus = 'active'`;
    expect((await findWorkflows(active, (f) => f.some((w) => w.workflowId === rule.workflow_id))).map((w) => w.workflowId)).toContain(rule.workflow_id);

    // Withdrawn: it leaves the active ones and is found among the withdrawn.
    expect((await tenant.call('POST', `/api/v1/mitigation/rules/${rule.id}/withdraw`)).status).toBe(200);
    const withdrawn = await findWorkflows(`BulwarkTarget = '${target}' AND BulwarkStatus = 'withdrawn'`, (f) => f.some((w) => w.workflowId === rule.workflow_id));
    expect(withdrawn.map((w) => w.workflowId)).toContain(rule.workflow_id);
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.status)).toBe('withdrawn');
    const stillActive = await findWorkflows(active, (f) => !f.some((w) => w.workflowId === rule.workflow_id));
    expect(stillActive.map((w) => w.workflowId)).not.toContain(rule.workflow_id);
  });

  it('finds the rules of a whole prefix with STARTS_WITH', async () => {
    const adapter = (await tenant.call('POST', '/api/v1/mitigation/adapters', { adapter_type: 'webhook', name: 'Prefix Hook', endpoint: hooks.url })).body.adapter;
    const made: string[] = [];
    for (const ip of ['198.51.100.201', '198.51.100.202']) {
      const res = await tenant.call('POST', '/api/v1/mitigation/rules', { target_ip: ip, intent_type: 'blackhole', adapter_id: adapter.id, ttl: 0 });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      made.push(res.body.rule.workflow_id);
    }
    const found = await findWorkflows(`BulwarkTarget STARTS_WITH '198.51.100.20' AND BulwarkWorkspace = ${tenant.id}`, (f) => made.every((id) => f.some((w) => w.workflowId === id)));
    expect(found.map((w) => w.workflowId).sort()).toEqual([...made].sort());
    const res = await stack.temporal.workflow.getHandle(made[0]!).describe();
    expect(await res.staticSummary()).toBe('blackhole 198.51.100.201/32 via Prefix Hook, until withdrawn');
  });
});
