// Delivering one notice on one channel, once: the ledger (db/channels.ts) is read first, so
// a retry after a success sends nothing; every HTTP channel goes through the target policy
// (activities/http-client.ts), email through SMTP (nodemailer). A refusal no retry can mend
// (bad credentials, a target the policy refuses, a request the service rejects) is thrown
// as such, so Temporal does not hammer a service that said no.
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { notificationSent, recordNotification, type ChannelRow } from '../db/channels.js';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secrets.js';
import { CHANNEL_CONFIGS, channelRequest, emailMessage, telegramGetMe, type HttpMessage, type Notice } from '../domain/channels.js';
import type { TargetPolicy } from '../domain/http-targets.js';
import { testNotice } from '../domain/notices.js';
import { channels } from '../db/schema.js';
import { eq } from 'drizzle-orm';
import type { ChannelTestOutcome } from '../workflows/channel-test.contract.js';
import { httpCall, TargetRefused } from './http-client.js';

export const CHANNEL_TIMEOUT_MS = 10_000;
/** Failure type of a delivery no retry can mend. */
export const CHANNEL_REFUSED = 'ChannelRefused';

/** `sha256=<hex>` of `<timestamp>.<body>`: the receiver checks both, so a replayed body with a new timestamp fails. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function signedHeaders(secret: string, body: string, now: Date): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return { 'x-bulwark-timestamp': timestamp, 'x-bulwark-signature': signature(secret, timestamp, body) };
}

export function createChannelSender({ db, secrets, targets, logger }: { db: Db; secrets: SecretBox; targets: TargetPolicy; logger: Logger }) {
  const secretOf = (c: ChannelRow) => JSON.parse(secrets.open(c.secretEnc)) as Record<string, unknown>;

  async function call(m: HttpMessage, what: string): Promise<string> {
    let answer;
    try {
      answer = await httpCall(m.method, m.url, m.body, m.headers, CHANNEL_TIMEOUT_MS, targets);
    } catch (err) {
      if (err instanceof TargetRefused) throw ApplicationFailure.nonRetryable(`${what}: ${err.message}`, CHANNEL_REFUSED);
      throw new Error(`${what}: ${(err as Error).message}`);
    }
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    const detail = `${what}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`.trim();
    // Throttled or the service's own trouble: worth another try; anything else is a "no".
    if (answer.status === 429 || answer.status >= 500) throw new Error(detail);
    throw ApplicationFailure.nonRetryable(detail, CHANNEL_REFUSED);
  }

  async function sendEmail(c: ChannelRow, n: Notice): Promise<void> {
    const config = CHANNEL_CONFIGS.email.parse(c.config);
    const { password } = secretOf(c) as { password?: string };
    const transport = smtp(config, password);
    try {
      const { subject, text } = emailMessage(n);
      await transport.sendMail({ from: config.from, to: config.to, subject, text });
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      // 5xx SMTP replies and authentication failures are permanent.
      if ((e.responseCode ?? 0) >= 500 || e.code === 'EAUTH') throw ApplicationFailure.nonRetryable(`email: ${e.message}`, CHANNEL_REFUSED);
      throw new Error(`email: ${e.message}`);
    } finally {
      transport.close();
    }
  }

  function smtp(config: ReturnType<typeof CHANNEL_CONFIGS.email.parse>, password: string | undefined) {
    return nodemailer.createTransport({
      host: config.host,
      port: config.port,
      secure: config.secure,
      ...(config.username ? { auth: { user: config.username, pass: password ?? '' } } : {}),
      connectionTimeout: CHANNEL_TIMEOUT_MS,
      greetingTimeout: CHANNEL_TIMEOUT_MS,
      socketTimeout: CHANNEL_TIMEOUT_MS,
    });
  }

  /** Sends, whatever the ledger says (the channel test). */
  async function send(c: ChannelRow, n: Notice): Promise<void> {
    if (c.type === 'email') return sendEmail(c, n);
    const secret = secretOf(c);
    const m = channelRequest(c.type, c.config, secret, n);
    if (c.type === 'webhook') Object.assign(m.headers, signedHeaders(String(secret.hmac_secret), m.body ?? '', new Date()));
    await call(m, c.type);
  }

  return {
    send,

    /**
     * Delivers `n` on `c` unless the ledger has it sent under `dedupKey`; answers what
     * happened, for the timeline or the step's output.
     */
    async deliver(c: ChannelRow, n: Notice, dedupKey: string, incidentId: number | null): Promise<string> {
      const label = `${c.type} channel "${c.name}" (${c.id})`;
      if (await notificationSent(db, c.id, dedupKey)) return `${label}: already sent`;
      try {
        await send(c, n);
      } catch (err) {
        await recordNotification(db, { channelId: c.id, incidentId, dedupKey, kind: n.kind, status: 'failed', detail: (err as Error).message });
        logger.warn({ channelId: c.id, dedupKey, err: (err as Error).message }, 'notification failed');
        throw err;
      }
      await recordNotification(db, { channelId: c.id, incidentId, dedupKey, kind: n.kind, status: 'sent', detail: null });
      return `${label}: sent`;
    },

    /** Credentials and reachability: a real test message (Telegram's token checked first, SMTP verified first). */
    async test(c: ChannelRow, n: Notice): Promise<string> {
      if (c.type === 'telegram') {
        const me = JSON.parse(await call(telegramGetMe(c.config, secretOf(c)), 'telegram getMe')) as { result?: { username?: string } };
        await send(c, n);
        return `bot @${me.result?.username ?? '?'} can post to chat ${String(c.config.chat_id)}`;
      }
      if (c.type === 'email') {
        const config = CHANNEL_CONFIGS.email.parse(c.config);
        const transport = smtp(config, (secretOf(c) as { password?: string }).password);
        try {
          await transport.verify();
        } catch (err) {
          throw new Error(`SMTP ${config.host}:${config.port}: ${(err as Error).message}`);
        } finally {
          transport.close();
        }
        await send(c, n);
        return `SMTP ${config.host}:${config.port} accepted a test message to ${config.to.join(', ')}`;
      }
      await send(c, n);
      // An alert opened by the test is closed at once.
      if (c.type === 'pagerduty' || c.type === 'opsgenie') await send(c, { ...n, resolves: true });
      return `${c.type} accepted a test message`;
    },
  };
}

export type ChannelSender = ReturnType<typeof createChannelSender>;

/** The channel test, run by the worker (the API never talks to a service itself). */
export function createChannelActivities(deps: { db: Db; secrets: SecretBox; targets: TargetPolicy; logger: Logger }) {
  const sender = createChannelSender(deps);
  return {
    async testChannel(channelId: number): Promise<ChannelTestOutcome> {
      const [channel] = await deps.db.select().from(channels).where(eq(channels.id, channelId));
      if (!channel) return { ok: false, latencyMs: 0, error: `channel ${channelId} no longer exists` };
      const started = Date.now();
      try {
        const detail = await sender.test(channel, testNotice(channel.name, new Date()));
        return { ok: true, latencyMs: Date.now() - started, detail };
      } catch (err) {
        return { ok: false, latencyMs: Date.now() - started, error: (err as Error).message };
      }
    },
  };
}

export type ChannelActivities = ReturnType<typeof createChannelActivities>;
