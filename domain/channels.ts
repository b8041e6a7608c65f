// Notification channels: what each type needs (config shown to users, secrets stored
// sealed), and the one message per event rendered for each channel's documented API
// (Slack and Teams incoming webhooks, Discord webhooks, PagerDuty Events v2, Telegram Bot
// API, Opsgenie Alert API, a signed webhook; email is rendered here and sent over SMTP).
// Pure: the sender (activities/channels.ts) does the I/O.
import { z } from 'zod';
import type { Severity } from './escalation.js';
import { httpUrl } from './wire.js';

export const CHANNEL_TYPES = ['slack', 'discord', 'pagerduty', 'teams', 'telegram', 'opsgenie', 'email', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const CHANNEL_EVENTS = ['incident_open', 'tier_change', 'incident_resolved'] as const;
export type ChannelEvent = (typeof CHANNEL_EVENTS)[number];

const HttpUrl = httpUrl('put the secret in `secret`');
const BaseUrl = HttpUrl.optional().describe("the API's base URL (default: the public one)");
const Email = z.email('must be an email address').max(254);

export const CHANNEL_CONFIGS = {
  slack: z.strictObject({}),
  discord: z.strictObject({}),
  teams: z.strictObject({}),
  pagerduty: z.strictObject({ base_url: BaseUrl }),
  telegram: z.strictObject({ chat_id: z.union([z.number().int(), z.string().regex(/^@[A-Za-z0-9_]{5,32}$|^-?[0-9]{1,20}$/, 'must be a chat id or @channelname')]), base_url: BaseUrl }),
  opsgenie: z.strictObject({ base_url: BaseUrl.describe('https://api.opsgenie.com, or https://api.eu.opsgenie.com for EU accounts') }),
  email: z.strictObject({
    host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or address'),
    port: z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535').default(587),
    secure: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS when the server offers it'),
    username: z.string().max(256).optional(),
    from: Email,
    to: z.array(Email).min(1, 'must name at least one recipient').max(50),
  }),
  webhook: z.strictObject({ url: HttpUrl }),
} as const;

export const CHANNEL_SECRETS = {
  slack: z.strictObject({ webhook_url: HttpUrl }),
  discord: z.strictObject({ webhook_url: HttpUrl }),
  teams: z.strictObject({ webhook_url: HttpUrl }),
  pagerduty: z.strictObject({ routing_key: z.string().regex(/^[A-Za-z0-9]{20,64}$/, 'must be the integration key (32 characters)') }),
  telegram: z.strictObject({ bot_token: z.string().regex(/^[0-9]{3,20}:[A-Za-z0-9_-]{20,100}$/, 'must be a bot token (<id>:<secret>)') }),
  opsgenie: z.strictObject({ api_key: z.string().min(8).max(128).regex(/^[A-Za-z0-9-]+$/, 'must be an API integration key') }),
  email: z.strictObject({ password: z.string().max(1024).optional() }),
  webhook: z.strictObject({ hmac_secret: z.string().min(16, 'must be at least 16 characters').max(256) }),
} as const;

export type ChannelConfig<T extends ChannelType> = z.infer<(typeof CHANNEL_CONFIGS)[T]>;
export type ChannelSecret<T extends ChannelType> = z.infer<(typeof CHANNEL_SECRETS)[T]>;

/** One thing to tell people: an incident's event, a runbook step's message, or a test. */
export interface Notice {
  kind: ChannelEvent | 'runbook' | 'test';
  title: string;
  text: string;
  severity: Severity;
  /** Same key, same alert: PagerDuty's dedup_key, Opsgenie's alias. */
  alertKey: string;
  /** Closes the alert named by `alertKey` where the channel can (PagerDuty, Opsgenie). */
  resolves: boolean;
  fields: Array<[string, string]>;
  at: string;
}

export interface HttpMessage {
  method: 'POST' | 'GET';
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const COLOURS: Record<Severity, number> = { low: 0x3aa655, medium: 0xf2c744, high: 0xf28b30, critical: 0xd92d20 };
const PD_SEVERITY: Record<Severity, string> = { low: 'info', medium: 'warning', high: 'error', critical: 'critical' };
const OPSGENIE_PRIORITY: Record<Severity, string> = { low: 'P5', medium: 'P3', high: 'P2', critical: 'P1' };

const json = (url: string, body: unknown, headers: Record<string, string> = {}): HttpMessage => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});
const base = (configured: string | undefined, fallback: string) => (configured ?? fallback).replace(/\/+$/, '');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const plain = (n: Notice) => [n.title, n.text, ...n.fields.map(([k, v]) => `${k}: ${v}`)].filter(Boolean).join('\n');

/**
 * The HTTP request that delivers `notice` on a channel; null for email (SMTP) and for a
 * resolve on channels that have nothing to close (they get the message as a new post).
 */
export function channelRequest(type: Exclude<ChannelType, 'email'>, config: Record<string, unknown>, secret: Record<string, unknown>, n: Notice): HttpMessage {
  switch (type) {
    case 'slack':
      return json(String(secret.webhook_url), {
        text: `${n.title}: ${n.text}`,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: n.title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: n.text.slice(0, 3000) || ' ' }, ...(n.fields.length ? { fields: n.fields.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${v}` })) } : {}) },
        ],
      });
    case 'discord':
      return json(`${String(secret.webhook_url)}${String(secret.webhook_url).includes('?') ? '&' : '?'}wait=true`, {
        content: n.title.slice(0, 2000),
        embeds: [{ title: n.title.slice(0, 256), description: n.text.slice(0, 4096), color: COLOURS[n.severity], fields: n.fields.slice(0, 25).map(([name, value]) => ({ name, value, inline: true })), timestamp: n.at }],
        allowed_mentions: { parse: [] },
      });
    case 'teams':
      return json(String(secret.webhook_url), {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: n.title, weight: 'Bolder', size: 'Medium', wrap: true },
                { type: 'TextBlock', text: n.text, wrap: true },
                { type: 'FactSet', facts: n.fields.map(([title, value]) => ({ title, value })) },
              ],
            },
          },
        ],
      });
    case 'pagerduty':
      return json(`${base(config.base_url as string | undefined, 'https://events.pagerduty.com')}/v2/enqueue`, {
        routing_key: secret.routing_key,
        event_action: n.resolves ? 'resolve' : 'trigger',
        dedup_key: n.alertKey,
        ...(n.resolves ? {} : { payload: { summary: `${n.title}: ${n.text}`.slice(0, 1024), source: 'bulwark', severity: PD_SEVERITY[n.severity], timestamp: n.at, custom_details: Object.fromEntries(n.fields) } }),
      });
    case 'telegram':
      return json(`${base(config.base_url as string | undefined, 'https://api.telegram.org')}/bot${String(secret.bot_token)}/sendMessage`, {
        chat_id: config.chat_id,
        text: [`<b>${escapeHtml(n.title)}</b>`, escapeHtml(n.text), ...n.fields.map(([k, v]) => `<b>${escapeHtml(k)}</b>: ${escapeHtml(v)}`)].join('\n').slice(0, 4096),
        parse_mode: 'HTML',
      });
    case 'opsgenie': {
      const root = base(config.base_url as string | undefined, 'https://api.opsgenie.com');
      const auth = { authorization: `GenieKey ${String(secret.api_key)}` };
      if (n.resolves) return json(`${root}/v2/alerts/${encodeURIComponent(n.alertKey)}/close?identifierType=alias`, { source: 'bulwark', note: `${n.title}: ${n.text}` }, auth);
      return json(`${root}/v2/alerts`, { message: n.title.slice(0, 130), alias: n.alertKey, description: plain(n).slice(0, 15_000), priority: OPSGENIE_PRIORITY[n.severity], source: 'bulwark', details: Object.fromEntries(n.fields) }, auth);
    }
    case 'webhook':
      return json(String(config.url), { event: n.kind, title: n.title, text: n.text, severity: n.severity, alert_key: n.alertKey, resolved: n.resolves, fields: Object.fromEntries(n.fields), at: n.at });
  }
}

/** An email's subject and plain-text body. */
export function emailMessage(n: Notice): { subject: string; text: string } {
  return { subject: `[Bulwark] ${n.title}`.slice(0, 200), text: plain(n) };
}

/** The Telegram call that checks a bot token. */
export function telegramGetMe(config: Record<string, unknown>, secret: Record<string, unknown>): HttpMessage {
  return { method: 'GET', url: `${base(config.base_url as string | undefined, 'https://api.telegram.org')}/bot${String(secret.bot_token)}/getMe`, headers: {}, body: undefined };
}

/** Where a channel sends to (for the target policy check when it is saved). */
export function channelUrls(type: ChannelType, config: Record<string, unknown>, secret: Record<string, unknown> | null): string[] {
  const urls: string[] = [];
  if (typeof config.base_url === 'string') urls.push(config.base_url);
  if (typeof config.url === 'string') urls.push(config.url);
  if (secret && typeof secret.webhook_url === 'string') urls.push(secret.webhook_url);
  void type;
  return urls;
}
