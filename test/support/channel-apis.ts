// Local stand-ins for the notification services' documented endpoints, each checking its
// authentication as the service does: Slack and Teams incoming webhooks, Discord webhooks
// (?wait=true answers the message), PagerDuty Events API v2 (/v2/enqueue, routing key,
// dedup_key), Telegram Bot API (/bot<token>/getMe, /sendMessage), Opsgenie Alert API
// (GenieKey, alias, close by alias); and a real SMTP server (smtp-server) with a login.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Posted {
  service: 'slack' | 'discord' | 'teams' | 'pagerduty' | 'telegram' | 'opsgenie';
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface ChannelApis {
  baseUrl: string;
  posted: Posted[];
  /** Secrets the stand-ins accept. */
  slackHook: string;
  discordHook: string;
  teamsHook: string;
  pagerdutyKey: string;
  telegramToken: string;
  telegramChat: number;
  opsgenieKey: string;
  /** PagerDuty incidents and Opsgenie alerts by dedup key / alias. */
  pagerduty: Map<string, { status: 'triggered' | 'resolved'; events: number }>;
  opsgenie: Map<string, { status: 'open' | 'closed'; count: number }>;
  /** The next `n` requests answer 500 (the service's trouble, worth a retry). */
  failNext(n: number): void;
  close(): Promise<void>;
}

export async function startChannelApis(): Promise<ChannelApis> {
  const posted: Posted[] = [];
  let failures = 0;
  const api: Omit<ChannelApis, 'baseUrl' | 'close'> = {
    posted,
    slackHook: '/services/T0001/B0001/slackSecret0123456789',
    discordHook: '/api/webhooks/1234567890/discordTokenABCDEF0123456789',
    teamsHook: '/workflows/teams/triggers/manual/paths/invoke?sig=teamsSig0123456789',
    pagerdutyKey: 'R0UT1NGKEY0123456789ABCDEFGHIJKL',
    telegramToken: '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0',
    telegramChat: -1001234567890,
    opsgenieKey: 'eb243592-faa2-4ba2-a551q-1afdf565c889',
    pagerduty: new Map(),
    opsgenie: new Map(),
    failNext: (n) => void (failures = n),
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return answer(400, { message: 'invalid JSON' });
      }
      function answer(status: number, out: unknown, type = 'application/json') {
        res.writeHead(status, { 'content-type': type }).end(typeof out === 'string' ? out : JSON.stringify(out));
      }
      if (failures > 0) {
        failures--;
        return answer(500, { message: 'internal error' });
      }
      const pathAndQuery = url.pathname + url.search;
      const record = (service: Posted['service']) => posted.push({ service, path: url.pathname, headers: req.headers, body });

      if (url.pathname.startsWith('/services/')) {
        // Slack: an unknown hook is 404 no_service; a message needs text or blocks.
        if (url.pathname !== api.slackHook) return answer(404, 'no_service', 'text/html');
        if (!body?.text && !body?.blocks) return answer(400, 'no_text', 'text/html');
        record('slack');
        return answer(200, 'ok', 'text/html');
      }
      if (url.pathname.startsWith('/api/webhooks/')) {
        if (url.pathname !== api.discordHook) return answer(401, { message: 'Invalid Webhook Token', code: 50027 });
        if (!body?.content && !body?.embeds?.length) return answer(400, { message: 'Cannot send an empty message', code: 50006 });
        record('discord');
        return url.searchParams.get('wait') === 'true' ? answer(200, { id: String(posted.length), type: 0, content: body.content, embeds: body.embeds }) : answer(204, '');
      }
      if (url.pathname.startsWith('/workflows/')) {
        if (pathAndQuery !== api.teamsHook) return answer(401, { error: { code: 'DirectApiAuthorizationRequired', message: 'signature invalid' } });
        if (body?.type !== 'message' || body.attachments?.[0]?.contentType !== 'application/vnd.microsoft.card.adaptive') return answer(400, { error: { code: 'InvalidRequestContent' } });
        record('teams');
        return answer(202, '');
      }
      if (url.pathname === '/v2/enqueue') {
        // PagerDuty Events API v2.
        const invalid = (why: string) => answer(400, { status: 'invalid event', message: 'Event object is invalid', errors: [why] });
        if (body?.routing_key !== api.pagerdutyKey) return invalid("'routing_key' is invalid");
        if (!['trigger', 'acknowledge', 'resolve'].includes(body.event_action)) return invalid("'event_action' is invalid");
        if (body.event_action === 'trigger' && (!body.payload?.summary || !body.payload?.source || !['critical', 'error', 'warning', 'info'].includes(body.payload?.severity))) return invalid("'payload' is invalid");
        if (body.event_action !== 'trigger' && !body.dedup_key) return invalid("'dedup_key' is required");
        record('pagerduty');
        const key = body.dedup_key ?? `pd-${posted.length}`;
        const held = api.pagerduty.get(key) ?? { status: 'triggered' as const, events: 0 };
        api.pagerduty.set(key, { status: body.event_action === 'resolve' ? 'resolved' : 'triggered', events: held.events + 1 });
        return answer(202, { status: 'success', message: 'Event processed', dedup_key: key });
      }
      const tg = /^\/bot([^/]+)\/(getMe|sendMessage)$/.exec(url.pathname);
      if (tg) {
        if (decodeURIComponent(tg[1]!) !== api.telegramToken) return answer(401, { ok: false, error_code: 401, description: 'Unauthorized' });
        if (tg[2] === 'getMe') return answer(200, { ok: true, result: { id: 123456789, is_bot: true, first_name: 'Bulwark', username: 'bulwark_alerts_bot' } });
        if (String(body?.chat_id) !== String(api.telegramChat)) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' });
        if (!body.text) return answer(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        record('telegram');
        return answer(200, { ok: true, result: { message_id: posted.length, chat: { id: api.telegramChat }, text: body.text } });
      }
      if (url.pathname.startsWith('/v2/alerts')) {
        // Opsgenie Alert API: GenieKey; creating an open alias again deduplicates.
        if (req.headers.authorization !== `GenieKey ${api.opsgenieKey}`) return answer(401, { message: 'Could not authenticate', took: 0.001, requestId: 'x' });
        const close = /^\/v2\/alerts\/([^/]+)\/close$/.exec(url.pathname);
        if (req.method === 'POST' && url.pathname === '/v2/alerts') {
          if (!body?.message || typeof body.message !== 'string' || body.message.length > 130) return answer(422, { message: 'Request body is not processable', errors: { message: 'Message can not be empty.' } });
          record('opsgenie');
          const alias = body.alias ?? `og-${posted.length}`;
          const held = api.opsgenie.get(alias);
          api.opsgenie.set(alias, held?.status === 'open' ? { status: 'open', count: held.count + 1 } : { status: 'open', count: 1 });
          return answer(202, { result: 'Request will be processed', took: 0.1, requestId: `req-${posted.length}` });
        }
        if (req.method === 'POST' && close && url.searchParams.get('identifierType') === 'alias') {
          record('opsgenie');
          const alias = decodeURIComponent(close[1]!);
          const held = api.opsgenie.get(alias);
          if (held) api.opsgenie.set(alias, { ...held, status: 'closed' });
          return answer(202, { result: 'Request will be processed', took: 0.1, requestId: `req-${posted.length}` });
        }
        return answer(404, { message: 'not found' });
      }
      return answer(404, { message: 'no such endpoint' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...api,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  } as ChannelApis;
}

export interface Mail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpStandIn {
  port: number;
  user: string;
  password: string;
  mails: Mail[];
  close(): Promise<void>;
}

/** A real SMTP server on loopback (no TLS), requiring a login. */
export async function startSmtp(): Promise<SmtpStandIn> {
  const mails: Mail[] = [];
  const user = 'alerts@example.net';
  const password = 'smtp-password-123';
  const server = new SMTPServer({
    authOptional: false,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user });
      return cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, user, password, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
