// Notification channels against local servers implementing each service's documented
// endpoint (and its authentication) and a real SMTP server: the test button, an incident's
// open, tier change and resolution delivered once each (PagerDuty resolved by dedup_key,
// Opsgenie closed by alias), retried through a service's outage without a duplicate.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startChannelApis, startSmtp, type ChannelApis, type SmtpStandIn } from './support/channel-apis.js';
import { dryRunNode } from './support/dry-run-incidents.js';
import { expectError } from './support/expect-error.js';
import { startStack, type Caller, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let user: { call: Caller };
let other: { call: Caller };
let apis: ChannelApis;
let smtp: SmtpStandIn;
let hooks: WebhookReceiver;
const HMAC = 'channel-signing-secret-0123456789';

beforeAll(async () => {
  stack = await startStack(inject('env'));
  user = await stack.tenant();
  other = await stack.tenant();
  apis = await startChannelApis();
  smtp = await startSmtp();
  hooks = await startWebhookReceiver();
});
afterAll(async () => {
  await stack?.stop();
  await apis?.close();
  await smtp?.close();
  await hooks?.close();
});

/** Every type, set up against the stand-ins; `good` false: with credentials the service refuses. */
function channels(good: boolean): Array<Record<string, unknown>> {
  const wrong = (s: string) => (good ? s : s.replace(/.$/, (c) => (c === 'x' ? 'y' : 'x')));
  return [
    { type: 'slack', name: 'slack', secret: { webhook_url: apis.baseUrl + wrong(apis.slackHook) } },
    { type: 'discord', name: 'discord', secret: { webhook_url: apis.baseUrl + wrong(apis.discordHook) } },
    { type: 'teams', name: 'teams', secret: { webhook_url: apis.baseUrl + wrong(apis.teamsHook) } },
    { type: 'pagerduty', name: 'pagerduty', config: { base_url: apis.baseUrl }, secret: { routing_key: wrong(apis.pagerdutyKey) } },
    { type: 'telegram', name: 'telegram', config: { base_url: apis.baseUrl, chat_id: apis.telegramChat }, secret: { bot_token: wrong(apis.telegramToken) } },
    { type: 'opsgenie', name: 'opsgenie', config: { base_url: apis.baseUrl }, secret: { api_key: wrong(apis.opsgenieKey) } },
    { type: 'email', name: 'email', config: { host: '127.0.0.1', port: smtp.port, username: smtp.user, from: 'bulwark@example.net', to: ['oncall@example.net'] }, secret: { password: wrong(smtp.password) } },
    { type: 'webhook', name: 'webhook', config: { url: hooks.url }, secret: { hmac_secret: HMAC } },
  ];
}

describe('channels', () => {
  it('each type sends a test message its service accepts, and reports the service’s refusal of bad credentials', async () => {
    for (const [i, body] of channels(true).entries()) {
      const made = await user.call('POST', '/api/v1/channels', { ...body, name: `good ${i}`, events: [] });
      expect(made.status, JSON.stringify(made.body)).toBe(200);
      expect(made.body.channel).toMatchObject({ type: body.type, secret_set: true, events: [] });
      expect(JSON.stringify(made.body)).not.toMatch(/slackSecret|discordToken|R0UT1NG|AAHdq|eb243592|smtp-password|channel-signing/);
      const tested = await user.call('POST', `/api/v1/channels/${made.body.channel.id}/test`);
      expect(tested.body, `${body.type}: ${JSON.stringify(tested.body)}`).toMatchObject({ ok: true, success: true });
      expect(tested.body.latency_ms).toBeGreaterThanOrEqual(0);
    }
    expect(new Set(apis.posted.map((p) => p.service))).toEqual(new Set(['slack', 'discord', 'teams', 'pagerduty', 'telegram', 'opsgenie']));
    // A test alert is closed at once.
    expect([...apis.pagerduty.values()].every((x) => x.status === 'resolved')).toBe(true);
    expect([...apis.opsgenie.values()].every((x) => x.status === 'closed')).toBe(true);
    expect(smtp.mails.at(-1)!.raw).toContain('Subject: [Bulwark] Bulwark test notification');
    const hook = hooks.received.at(-1)!;
    expect(hook.body).toMatchObject({ event: 'test', title: 'Bulwark test notification' });
    expect(hook.headers['x-bulwark-signature']).toBe(`sha256=${createHmac('sha256', HMAC).update(`${String(hook.headers['x-bulwark-timestamp'])}.${hook.raw}`).digest('hex')}`);

    for (const body of channels(false).filter((b) => b.type !== 'webhook')) {
      const made = await user.call('POST', '/api/v1/channels', { ...body, name: `bad ${String(body.type)}`, events: [] });
      const tested = await user.call('POST', `/api/v1/channels/${made.body.channel.id}/test`);
      expect(tested.body, String(body.type)).toMatchObject({ ok: true, success: false });
      expect(tested.body.error, String(body.type)).toMatch(/HTTP 4\d\d|Invalid username or password|Invalid login|535/);
    }
  });

  it.each([
    [{ type: 'sms', name: 'x', secret: {} }, 'type'],
    [{ type: 'telegram', name: 'x', config: { chat_id: 'not a chat' }, secret: { bot_token: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0' } }, 'config.chat_id'],
    [{ type: 'pagerduty', name: 'x', secret: { routing_key: 'short' } }, 'secret.routing_key'],
    [{ type: 'email', name: 'x', config: { host: 'smtp.example.net', from: 'nobody', to: ['a@example.net'] }, secret: {} }, 'config.from'],
    [{ type: 'slack', name: 'x', secret: { webhook_url: 'http://169.254.169.254/hook' } }, 'link-local'],
    [{ type: 'webhook', name: 'x', config: { url: 'http://127.0.0.1:9/' }, secret: { hmac_secret: 'short' } }, 'secret.hmac_secret'],
    [{ type: 'slack', name: 'x', secret: { webhook_url: 'https://hooks.slack.com/services/T/B/x' }, events: ['incident_exploded'] }, 'events.0'],
  ])('refuses %j naming %s', async (body, field) => {
    expectError(await user.call('POST', '/api/v1/channels', body), 400, 'invalid_parameter', field);
  });

  it('keeps workspaces apart, and will not delete a channel a runbook notifies', async () => {
    const made = (await user.call('POST', '/api/v1/channels', { type: 'webhook', name: 'kept', config: { url: hooks.url }, secret: { hmac_secret: HMAC } })).body.channel;
    expectError(await other.call('POST', `/api/v1/channels/${made.id}/test`), 404, 'not_found');
    expectError(await other.call('DELETE', `/api/v1/channels/${made.id}`), 404, 'not_found');
    expect((await other.call('GET', '/api/v1/channels')).body.channels).toEqual([]);
    const rb = await user.call('POST', '/api/v1/runbooks', { name: 'pager', trigger_conditions: { family: 'syn_flood' }, steps: [{ action_type: 'notify_channel', action_config: { channel_id: made.id } }] });
    expectError(await user.call('DELETE', `/api/v1/channels/${made.id}`), 409, 'conflict', 'runbook');
    await user.call('DELETE', `/api/v1/runbooks/${rb.body.runbook.id}`);
    expect((await user.call('DELETE', `/api/v1/channels/${made.id}`)).body).toEqual({ ok: true, deleted: made.id });
    const renamed = await user.call('PATCH', `/api/v1/channels/${made.id}`, { name: 'x' });
    expectError(renamed, 404, 'not_found');
  });
});

describe('incident notifications', () => {
  it('tell every channel that hears them once per event; PagerDuty and Opsgenie are resolved by the incident’s key; an outage is retried without a duplicate', async () => {
    const tenant = await stack.tenant();
    const made: Array<{ id: number; type: string }> = [];
    for (const body of channels(true)) {
      const res = await tenant.call('POST', '/api/v1/channels', body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      made.push(res.body.channel);
    }
    const quiet = await tenant.call('POST', '/api/v1/channels', { type: 'webhook', name: 'resolve only', config: { url: hooks.url }, secret: { hmac_secret: HMAC }, events: ['incident_resolved'] });
    const { agent } = await dryRunNode(stack.baseUrl, tenant.call, hooks.url, { name: 'paged', ip: '203.0.113.95' });
    const postedBefore = apis.posted.length;
    const mailsBefore = smtp.mails.length;
    const hooksBefore = hooks.received.length;

    // The services are down for the first two calls: the deliveries are retried.
    apis.failNext(2);
    const opened = await agent('POST', '/incidents', { ref: 'page-1', started_at: new Date().toISOString(), pps: 20_000, bps: 1.6e8, classification: { family: 'syn_flood', confidence: 0.9 } });
    const id = opened.body.incident.id as number;
    const key = `bulwark-incident-${id}`;
    // open + tier 1, on six HTTP services.
    await expect.poll(() => apis.posted.length - postedBefore, { timeout: 30_000, interval: 250 }).toBe(12);
    await agent('POST', '/incidents/page-1/resolve', {});
    await expect.poll(() => apis.posted.length - postedBefore, { timeout: 30_000, interval: 250 }).toBe(18);
    await stack.temporal.workflow.getHandle(`incident:${id}`).result();
    await new Promise((r) => setTimeout(r, 1000));

    const posts = apis.posted.slice(postedBefore);
    for (const service of ['slack', 'discord', 'teams', 'pagerduty', 'telegram', 'opsgenie'] as const) expect(posts.filter((p) => p.service === service), service).toHaveLength(3);
    // Open and tier change go out side by side (a retried one may land second).
    expect(posts.filter((p) => p.service === 'slack').map((p) => p.body.text)).toContainEqual(expect.stringContaining('Attack on 203.0.113.95: syn_flood'));
    expect(apis.pagerduty.get(key)).toEqual({ status: 'resolved', events: 3 });
    expect(posts.filter((p) => p.service === 'pagerduty').map((p) => [p.body.event_action, p.body.dedup_key])).toEqual([
      ['trigger', key],
      ['trigger', key],
      ['resolve', key],
    ]);
    // Opsgenie deduplicates the open alias; closed by it.
    expect(apis.opsgenie.get(key)).toEqual({ status: 'closed', count: 2 });
    expect(smtp.mails.length - mailsBefore).toBe(3);
    const toHooks = hooks.received.slice(hooksBefore).filter((h) => h.body.alert_key === key);
    expect(toHooks.map((h) => h.body.event).sort()).toEqual(['incident_open', 'incident_resolved', 'incident_resolved', 'tier_change']);

    const timeline = (await tenant.call('GET', `/api/v1/incidents/${id}`)).body.timeline.filter((e: { kind: string }) => e.kind === 'notified');
    expect(timeline).toHaveLength(3 * made.length + 1);
    expect(timeline.map((e: { message: string }) => e.message)).toContain(`incident resolved: webhook channel "resolve only" (${quiet.body.channel.id}): sent`);
  }, 90_000);
});
