/** @jsxImportSource hono/jsx */
// The operator console (`/console`): sign-in with a deploy token, the overview with live
// figures, withdrawing a rule, an incident, the allowlist. Every page reads, and every
// action acts, through the REST API called in-process as the session's token
// (session.ts apiCaller): the same validation, tenant checks, rate limit and audit as cURL.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { createSession, deleteSession } from '../../db/console-sessions.js';
import { TOKEN_PATTERN } from '../../db/workspaces.js';
import { DEFAULT_TEMPORAL_UI, temporalUiUrl } from '../views/runbooks.js';
import { CONSOLE_BASE } from './layout.js';
import { fieldErrors } from './forms.js';
import { PolicyPage, POLICY_FIELDS, policyBody, policyForm, type Policy, type PolicyForm } from './policy-pages.js';
import { CapturePage, type Analysis, type Pcap } from './capture-pages.js';
import { THRESHOLD_FIELDS, thresholdBody, ThresholdsSection, type HostThreshold, type ThresholdForm } from './threshold-pages.js';
import { Executions, RunbookPage, RunbooksPage, type Execution, type Runbook } from './runbook-pages.js';
import {
  AllowlistPage,
  ConfirmWithdrawPage,
  ErrorPage,
  IncidentPage,
  IntegrationsPage,
  LivePanel,
  OverviewPage,
  SigninPage,
  type Adapter,
  type AllowlistEntry,
  type ScrubbingIntegration,
  type Incident,
  type OverviewData,
  type Rule,
  type TimelineEvent,
} from './pages.js';
import {
  clearSessionCookie,
  crossSite,
  requireSession,
  sameToken,
  securityHeaders,
  sessionIdOf,
  setSessionCookie,
  setSigninCookie,
  signinTokenOf,
  type ApiAnswer,
  type ApiCaller,
  type ApiRequest,
  type ConsoleEnv,
} from './session.js';

const ASSETS: Record<string, { type: string; body: () => Buffer }> = {
  'console.css': { type: 'text/css; charset=utf-8', body: once(() => readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'console.css'))) },
  // htmx, from its npm package: served here, never from a CDN.
  'htmx.min.js': { type: 'text/javascript; charset=utf-8', body: once(() => readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'))) },
};

function once<T>(f: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= f());
}

/** A page for an API refusal: its message, with the status it came with. */
class ConsoleError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The API's answer, or a ConsoleError with its message. */
function must(answer: ApiAnswer): ApiAnswer['body'] {
  if (answer.body.ok) return answer.body;
  throw new ConsoleError(answer.status, answer.body.error?.message ?? `the API answered ${answer.status}`);
}

async function overview(api: ApiCaller): Promise<OverviewData> {
  const [incidents, rules, nodes] = await Promise.all([api('GET', '/incidents?status=open&limit=100'), api('GET', '/mitigation/rules?limit=100'), api('GET', '/nodes?limit=500')]);
  return {
    incidents: must(incidents).incidents as Incident[],
    rules: must(rules).rules as Rule[],
    rulesTotal: must(rules).total as number,
    nodes: must(nodes).nodes as OverviewData['nodes'],
  };
}

const formText = (form: Record<string, unknown>, name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '');
/** Only a path of this console: a form's `back` never sends the browser elsewhere. */
const localPath = (path: string) => (/^\/console(\/[A-Za-z0-9/_-]*)?$/.test(path) ? path : CONSOLE_BASE);

export function consoleRouter(request: ApiRequest) {
  const web = new Hono<ConsoleEnv>();
  web.use('*', securityHeaders);

  web.get('/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.text('not found', 404);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(new Uint8Array(asset.body()), 200, { 'Content-Type': asset.type });
  });

  const signinPage = (c: Context<ConsoleEnv>, error?: string) => {
    const token = signinTokenOf(c) || randomBytes(32).toString('hex');
    setSigninCookie(c, token);
    return c.html(<SigninPage signinToken={token} error={error} />, error ? 401 : 200);
  };
  web.get('/signin', (c) => signinPage(c));
  web.post('/signin', async (c) => {
    const form = await c.req.parseBody();
    if (crossSite(c) || !sameToken(formText(form, '_csrf'), signinTokenOf(c)))
      return c.text('Forbidden: the sign-in form expired or came from another site. Reload it and try again.', 403);
    const token = formText(form, 'token').trim().toLowerCase();
    if (!TOKEN_PATTERN.test(token)) return signinPage(c, 'A deploy token is 64 hexadecimal characters.');
    const session = await createSession(c.var.deps.db, token);
    if (!session) return signinPage(c, 'Unknown or revoked deploy token.');
    setSessionCookie(c, session.id);
    return c.redirect(CONSOLE_BASE, 303);
  });

  web.use('*', requireSession(request));
  web.post('/logout', async (c) => {
    await deleteSession(c.var.deps.db, sessionIdOf(c));
    clearSessionCookie(c);
    return c.redirect(`${CONSOLE_BASE}/signin`, 303);
  });

  const who = (c: Context<ConsoleEnv>) => ({ csrf: c.var.session.csrf, workspace: c.var.session.workspace.name });

  web.get('/', async (c) => c.html(<OverviewPage {...who(c)} data={await overview(c.var.api)} notice={c.req.query('notice')?.slice(0, 200)} />));
  web.get('/live', async (c) => c.html(<LivePanel data={await overview(c.var.api)} />));

  web.get('/rules/:id/withdraw', async (c) => {
    const rule = must(await c.var.api('GET', `/mitigation/rules/${encodeURIComponent(c.req.param('id'))}`)).rule as Rule;
    return c.html(<ConfirmWithdrawPage {...who(c)} rule={rule} back={localPath(c.req.query('back') ?? CONSOLE_BASE)} />);
  });
  web.post('/rules/:id/withdraw', async (c) => {
    const form = await c.req.parseBody();
    const reason = formText(form, 'reason').trim();
    const id = encodeURIComponent(c.req.param('id'));
    const answer = must(await c.var.api('POST', `/mitigation/rules/${id}/withdraw`, reason ? { reason } : {}));
    const rule = answer.rule as Rule;
    const notice =
      rule.status === 'withdrawn'
        ? `Rule #${rule.id} (${rule.target_ip}) withdrawn: the route is gone.`
        : `Rule #${rule.id} (${rule.target_ip}) is ${rule.status}: the speaker is still working on it.`;
    return c.redirect(`${localPath(formText(form, 'back') || CONSOLE_BASE)}?notice=${encodeURIComponent(notice)}`, 303);
  });

  web.get('/incidents/:id', async (c) => {
    const id = encodeURIComponent(c.req.param('id'));
    const body = must(await c.var.api('GET', `/incidents/${id}`));
    const pcaps = must(await c.var.api('GET', `/pcaps?incident_id=${id}&limit=100`)).pcaps as Pcap[];
    const incident = body.incident as Incident;
    const url = temporalUiUrl(c.var.deps.temporalUiUrl ?? DEFAULT_TEMPORAL_UI, incident.workflow_id);
    return c.html(
      <IncidentPage
        {...who(c)}
        incident={incident}
        timeline={body.timeline as TimelineEvent[]}
        rules={body.rules as Rule[]}
        pcaps={pcaps}
        executions={body.runbook_executions as Execution[]}
        workflowUrl={url}
      />,
    );
  });
  web.get('/pcaps/:id', async (c) => {
    const id = encodeURIComponent(c.req.param('id'));
    const analysis = must(await c.var.api('GET', `/pcaps/${id}/analysis`)).analysis as Analysis;
    // The list holds the capture's row (there is no GET of one capture): found among its incident's.
    const incident = c.req.query('incident');
    const all = must(await c.var.api('GET', `/pcaps?limit=100${incident ? `&incident_id=${encodeURIComponent(incident)}` : ''}`)).pcaps as Pcap[];
    const pcap = all.find((p) => String(p.id) === c.req.param('id'));
    if (!pcap) throw new ConsoleError(404, `pcap ${c.req.param('id')} not found`);
    return c.html(<CapturePage {...who(c)} pcap={pcap} analysis={analysis} />);
  });
  web.get('/pcaps/:id/download', async (c) => {
    const res = await c.var.download(`/pcaps/${encodeURIComponent(c.req.param('id'))}/download`);
    if (!res.ok) must({ status: res.status, body: (await res.json()) as ApiAnswer['body'] });
    return new Response(res.body, { status: 200, headers: { 'content-type': res.headers.get('content-type')!, 'content-disposition': res.headers.get('content-disposition')! } });
  });

  const runbook = async (c: Context<ConsoleEnv>, id: string, messages: { notice?: string; error?: string } = {}) => {
    const [one, executions] = await Promise.all([c.var.api('GET', `/runbooks/${id}`), c.var.api('GET', `/runbooks/${id}/executions?limit=20`)]);
    const props = { ...who(c), runbook: must(one).runbook as Runbook, executions: must(executions).executions as Execution[] };
    return c.html(<RunbookPage {...props} {...messages} />, messages.error ? 400 : 200);
  };
  web.get('/runbooks', async (c) => c.html(<RunbooksPage {...who(c)} runbooks={must(await c.var.api('GET', '/runbooks')).runbooks as Runbook[]} />));
  web.get('/runbooks/:id', (c) => runbook(c, encodeURIComponent(c.req.param('id')), { notice: c.req.query('notice')?.slice(0, 200) }));
  web.get('/runbooks/:id/executions', async (c) => {
    const id = encodeURIComponent(c.req.param('id'));
    const executions = must(await c.var.api('GET', `/runbooks/${id}/executions?limit=20`)).executions as Execution[];
    return c.html(<Executions runbookId={Number(c.req.param('id'))} executions={executions} csrf={c.var.session.csrf} />);
  });
  web.post('/runbooks/:id/toggle', async (c) => {
    must(await c.var.api('POST', `/runbooks/${encodeURIComponent(c.req.param('id'))}/toggle`));
    return c.redirect(`${CONSOLE_BASE}/runbooks`, 303);
  });
  web.post('/runbooks/:id/run', async (c) => {
    const id = encodeURIComponent(c.req.param('id'));
    const node = formText(await c.req.parseBody(), 'node').trim();
    const answer = await c.var.api('POST', `/runbooks/${id}/run`, node ? { node } : {});
    if (!answer.body.ok) return runbook(c, id, { error: answer.body.error?.message ?? `the API answered ${answer.status}` });
    return c.redirect(`${CONSOLE_BASE}/runbooks/${id}?notice=${encodeURIComponent(`Execution #${(answer.body.execution as Execution).id} started.`)}`, 303);
  });
  web.post('/runbooks/:id/executions/:execution/:action{retry|cancel}', async (c) => {
    const [id, execution] = [encodeURIComponent(c.req.param('id')), encodeURIComponent(c.req.param('execution'))];
    const answer = await c.var.api('POST', `/runbooks/${id}/executions/${execution}/${c.req.param('action')}`);
    if (!answer.body.ok) return runbook(c, id, { error: answer.body.error?.message ?? `the API answered ${answer.status}` });
    const started = answer.body.execution as Execution;
    const notice = c.req.param('action') === 'retry' ? `Execution #${started.id} re-runs #${execution} from step ${started.from_step + 1}.` : `Execution #${execution} cancelled.`;
    return c.redirect(`${CONSOLE_BASE}/runbooks/${id}?notice=${encodeURIComponent(notice)}`, 303);
  });

  type PolicyMessages = { notice?: string; errors?: Record<string, string>; threshold?: { form: ThresholdForm; errors: Record<string, string> } };
  const policy = async (c: Context<ConsoleEnv>, form: PolicyForm | null, messages: PolicyMessages = {}) => {
    const [current, adapters, scrubbing, overrides] = await Promise.all([
      form ? null : c.var.api('GET', '/mitigation/escalation'),
      c.var.api('GET', '/mitigation/adapters'),
      c.var.api('GET', '/scrubbing'),
      c.var.api('GET', '/mitigation/thresholds'),
    ]);
    const shown = form ?? policyForm(must(current!).policy as Policy);
    const lists = { adapters: must(adapters).adapters as Adapter[], scrubbing: must(scrubbing).integrations as ScrubbingIntegration[] };
    const th = messages.threshold ?? { form: {}, errors: {} };
    return c.html(
      <PolicyPage {...who(c)} form={shown} {...lists} errors={messages.errors} notice={messages.notice}>
        <ThresholdsSection csrf={c.var.session.csrf} overrides={must(overrides).thresholds as HostThreshold[]} form={th.form} errors={th.errors} />
      </PolicyPage>,
      messages.errors || messages.threshold ? 400 : 200,
    );
  };
  web.post('/thresholds', async (c) => {
    const posted = await c.req.parseBody();
    const form: ThresholdForm = Object.fromEntries(THRESHOLD_FIELDS.map((f) => [f, formText(posted, f).trim()]));
    const answer = await c.var.api('POST', '/mitigation/thresholds', thresholdBody(form));
    if (!answer.body.ok) return policy(c, null, { threshold: { form, errors: fieldErrors(answer.body.error?.message ?? `the API answered ${answer.status}`, THRESHOLD_FIELDS) } });
    return c.redirect(`${CONSOLE_BASE}/policy?notice=${encodeURIComponent(`Override for ${form.target_ip} saved.`)}`, 303);
  });
  web.post('/thresholds/:id/delete', async (c) => {
    must(await c.var.api('DELETE', `/mitigation/thresholds/${encodeURIComponent(c.req.param('id'))}`));
    return c.redirect(`${CONSOLE_BASE}/policy?notice=${encodeURIComponent('Override removed.')}`, 303);
  });
  web.get('/policy', (c) => policy(c, null, { notice: c.req.query('notice')?.slice(0, 200) }));
  web.post('/policy', async (c) => {
    const posted = await c.req.parseBody();
    const form: PolicyForm = Object.fromEntries(POLICY_FIELDS.map((f) => [f, formText(posted, f).trim()]));
    const answer = await c.var.api('POST', '/mitigation/escalation', policyBody(form));
    if (!answer.body.ok) return policy(c, form, { errors: fieldErrors(answer.body.error?.message ?? `the API answered ${answer.status}`, POLICY_FIELDS) });
    return c.redirect(`${CONSOLE_BASE}/policy?notice=${encodeURIComponent('Policy saved.')}`, 303);
  });

  web.get('/integrations', async (c) => {
    const [adapters, scrubbing] = await Promise.all([c.var.api('GET', '/mitigation/adapters'), c.var.api('GET', '/scrubbing')]);
    const notice = c.req.query('notice') ? { text: c.req.query('notice')!.slice(0, 300), error: c.req.query('failed') === '1' } : undefined;
    return c.html(
      <IntegrationsPage {...who(c)} adapters={must(adapters).adapters as Adapter[]} scrubbing={must(scrubbing).integrations as ScrubbingIntegration[]} notice={notice} />,
    );
  });
  web.post('/integrations/:kind{adapters|scrubbing}/:id/test', async (c) => {
    const id = encodeURIComponent(c.req.param('id'));
    const path = c.req.param('kind') === 'adapters' ? `/mitigation/adapters/${id}/test` : `/scrubbing/${id}/test`;
    const body = must(await c.var.api('POST', path));
    const ok = body.success === true || body.reachable === true;
    const what = `${c.req.param('kind') === 'adapters' ? 'Adapter' : 'Integration'} #${c.req.param('id')}`;
    const text = ok
      ? `${what}: reachable in ${Math.round(Number(body.latency_ms))} ms${body.detail ? ` (${body.detail})` : ''}.`
      : `${what}: ${body.error ?? 'not reachable'} (after ${Math.round(Number(body.latency_ms))} ms).`;
    return c.redirect(`${CONSOLE_BASE}/integrations?notice=${encodeURIComponent(text)}${ok ? '' : '&failed=1'}`, 303);
  });

  const allowlist = async (c: Context<ConsoleEnv>, error?: { field: string | null; message: string }, values?: { ip_address: string; label: string }) => {
    const entries = must(await c.var.api('GET', '/allowlist')).entries as AllowlistEntry[];
    return c.html(<AllowlistPage {...who(c)} entries={entries} error={error} values={values} />, error ? 400 : 200);
  };
  web.get('/allowlist', (c) => allowlist(c));
  web.post('/allowlist', async (c) => {
    const form = await c.req.parseBody();
    const values = { ip_address: formText(form, 'ip_address').trim(), label: formText(form, 'label').trim() };
    const answer = await c.var.api('POST', '/allowlist', values.label ? values : { ip_address: values.ip_address });
    if (!answer.body.ok) {
      const message = answer.body.error?.message ?? `the API answered ${answer.status}`;
      // The API names the field first ("ip_address: ..."): shown beside it.
      return allowlist(c, { field: fieldErrors(message, ['ip_address']).ip_address ? 'ip_address' : null, message }, values);
    }
    return c.redirect(`${CONSOLE_BASE}/allowlist`, 303);
  });
  web.post('/allowlist/:id/delete', async (c) => {
    must(await c.var.api('DELETE', `/allowlist/${encodeURIComponent(c.req.param('id'))}`));
    return c.redirect(`${CONSOLE_BASE}/allowlist`, 303);
  });

  web.onError((err, c) => {
    const status = err instanceof ConsoleError ? err.status : 500;
    const message = err instanceof ConsoleError ? err.message : 'The console could not load this page; the error is in the API log.';
    if (!(err instanceof ConsoleError)) c.var.deps?.logger.error({ err, path: c.req.path }, 'console page failed');
    const session = c.get('session');
    return c.html(<ErrorPage status={status} message={message} csrf={session?.csrf} workspace={session?.workspace.name} />, status as 400);
  });
  return web;
}
