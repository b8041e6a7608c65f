/** @jsxImportSource hono/jsx */
// The console's pages, each rendered from what the REST API answered (api/console/routes.tsx
// fetches it): sign-in, the overview with its live panel, a rule's withdrawal, an incident,
// the allowlist. Types are the API's JSON as the pages read it.
import { CaptureList, type Pcap } from './capture-pages.js';
import { Executions, type Execution } from './runbook-pages.js';
import { ActionButton, Badge, CONSOLE_BASE, Csrf, Notice, Page, rate, Table, When } from './layout.js';

export interface Rule {
  id: number;
  target_ip: string;
  intent_type: string;
  status: string;
  status_reason: string | null;
  adapter_id: number | null;
  ttl: number;
  expires_at: string | null;
  created_at: string;
  workflow_id: string;
}
export interface Incident {
  id: number;
  target_ip: string | null;
  status: string;
  severity: string;
  family: string | null;
  tier: number;
  current_pps: number | null;
  current_bps: number | null;
  peak_pps: number | null;
  peak_bps: number | null;
  started_at: string;
  resolved_at: string | null;
  verdict: string | null;
  workflow_id: string;
}
export interface Node {
  uuid: string;
  name: string;
  ip: string;
  status: string;
  last_seen_at: string | null;
  last_pps: number | null;
  last_bps: number | null;
}
export interface AllowlistEntry {
  id: number;
  ip_address: string;
  label: string | null;
  scope: string;
  created_at: string;
}

export function SigninPage(props: { signinToken: string; error?: string }) {
  return (
    <Page title="Sign in">
      <section class="panel signin">
        <h1>Sign in to Bulwark</h1>
        <form method="post" action={`${CONSOLE_BASE}/signin`}>
          <input type="hidden" name="_csrf" value={props.signinToken} />
          <label for="token">Deploy token</label>
          <input
            id="token"
            name="token"
            type="password"
            autocomplete="current-password"
            required
            aria-invalid={props.error ? 'true' : undefined}
            aria-describedby={props.error ? 'token-error' : 'token-help'}
          />
          {props.error ? (
            <p id="token-error" class="field-error" role="alert">
              {props.error}
            </p>
          ) : (
            <p id="token-help" class="muted">
              The 64-hex token your workspace's API calls use. It stays on the server: the browser keeps only a session cookie.
            </p>
          )}
          <p>
            <button class="primary" type="submit">
              Sign in
            </button>
          </p>
        </form>
      </section>
    </Page>
  );
}

export interface OverviewData {
  incidents: Incident[];
  rules: Rule[];
  rulesTotal: number;
  nodes: Node[];
}

export function OverviewPage(props: { csrf: string; workspace: string; data: OverviewData; notice?: string }) {
  return (
    <Page title="Overview" nav="overview" csrf={props.csrf} workspace={props.workspace}>
      <h1>Overview</h1>
      {props.notice && <Notice>{props.notice}</Notice>}
      <LivePanel data={props.data} />
    </Page>
  );
}

/** The overview's figures: replaced every 3 s by htmx from /console/live (the same markup). */
export function LivePanel(props: { data: OverviewData }) {
  const { incidents, rules, rulesTotal, nodes } = props.data;
  const count = (status: string) => nodes.filter((n) => n.status === status).length;
  return (
    <div id="live" hx-get={`${CONSOLE_BASE}/live`} hx-trigger="every 3s" hx-swap="outerHTML">
      <section class="panel" aria-label="At a glance">
        <ul class="summary">
          <li>
            <strong>{incidents.length}</strong> open incidents
          </li>
          <li>
            <strong>{rulesTotal}</strong> live rules
          </li>
          <li>
            <strong>{count('attack')}</strong> nodes under attack
          </li>
          <li>
            <strong>{count('online') + count('elevated')}</strong> online
          </li>
          <li>
            <strong>{count('offline')}</strong> offline
          </li>
        </ul>
      </section>

      <h2 id="incidents">Open incidents</h2>
      {incidents.length === 0 ? (
        <p class="muted">No open incidents.</p>
      ) : (
        <Table labelledBy="incidents" columns={['Incident', 'Target', 'Attack', 'Tier', 'pps now', 'bps now', { text: 'Started', wide: true }]}>
          {incidents.map((i) => (
            <tr>
              <td>
                <a href={`${CONSOLE_BASE}/incidents/${i.id}`}>#{i.id}</a> <Badge value={i.severity} />
              </td>
              <td>{i.target_ip ?? '–'}</td>
              <td>{i.family ?? 'unclassified'}</td>
              <td class="num">{i.tier}</td>
              <td class="num">{rate(i.current_pps, 'pps')}</td>
              <td class="num">{rate(i.current_bps, 'bps')}</td>
              <td class="wide">
                <When at={i.started_at} />
              </td>
            </tr>
          ))}
        </Table>
      )}

      <h2 id="rules">Live rules</h2>
      <RulesTable rules={rules} label="rules" />
      {rulesTotal > rules.length && (
        <p class="muted">
          Showing the newest {rules.length} of {rulesTotal}.
        </p>
      )}

      <h2 id="nodes">Nodes</h2>
      {nodes.length === 0 ? (
        <p class="muted">No nodes registered.</p>
      ) : (
        <Table labelledBy="nodes" columns={['Node', 'Address', 'Status', 'pps', 'bps', { text: 'Last seen', wide: true }]}>
          {nodes.map((n) => (
            <tr>
              <td>{n.name}</td>
              <td>{n.ip}</td>
              <td>
                <Badge value={n.status} />
              </td>
              <td class="num">{rate(n.last_pps, 'pps')}</td>
              <td class="num">{rate(n.last_bps, 'bps')}</td>
              <td class="wide">
                <When at={n.last_seen_at} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </div>
  );
}

export function RulesTable(props: { rules: Rule[]; label: string; back?: string }) {
  if (props.rules.length === 0) return <p class="muted">No live rules.</p>;
  return (
    <Table labelledBy={props.label} columns={['Rule', 'Target', 'Kind', 'Status', { text: 'Expires', wide: true }, '']}>
      {props.rules.map((r) => (
        <tr>
          <td>#{r.id}</td>
          <td>{r.target_ip}</td>
          <td>{r.intent_type}</td>
          <td>
            <Badge value={r.status} />
          </td>
          <td class="wide">{r.ttl === 0 ? <span class="muted">until withdrawn</span> : <When at={r.expires_at} />}</td>
          <td>
            {(r.status === 'active' || r.status === 'pending') && (
              <a
                class="button"
                href={`${CONSOLE_BASE}/rules/${r.id}/withdraw${props.back ? `?back=${encodeURIComponent(props.back)}` : ''}`}
                aria-label={`Withdraw rule ${r.id} (${r.target_ip})`}
              >
                Withdraw
              </a>
            )}
          </td>
        </tr>
      ))}
    </Table>
  );
}

export function ConfirmWithdrawPage(props: { csrf: string; workspace: string; rule: Rule; back: string }) {
  const r = props.rule;
  return (
    <Page title={`Withdraw rule ${r.id}`} nav="overview" csrf={props.csrf} workspace={props.workspace}>
      <h1>Withdraw rule #{r.id}?</h1>
      <section class="panel">
        <p>
          The {r.intent_type} route for <strong>{r.target_ip}</strong> is taken away from the router now, and traffic to it flows again.
        </p>
        <form method="post" action={`${CONSOLE_BASE}/rules/${r.id}/withdraw`}>
          <Csrf token={props.csrf} />
          <input type="hidden" name="back" value={props.back} />
          <label for="reason">Reason (kept in the rule's history)</label>
          <input id="reason" name="reason" type="text" maxlength={500} value="withdrawn from the console" />
          <p>
            <button class="danger" type="submit">
              Withdraw rule #{r.id}
            </button>{' '}
            <a href={props.back}>Cancel</a>
          </p>
        </form>
      </section>
    </Page>
  );
}

export interface TimelineEvent {
  at: string;
  kind: string;
  message: string;
}

export function IncidentPage(props: {
  csrf: string;
  workspace: string;
  incident: Incident;
  timeline: TimelineEvent[];
  rules: Rule[];
  pcaps: Pcap[];
  executions: Execution[];
  workflowUrl: string;
}) {
  const i = props.incident;
  return (
    <Page title={`Incident ${i.id}`} nav="overview" csrf={props.csrf} workspace={props.workspace}>
      <h1>
        Incident #{i.id} <Badge value={i.status} /> <Badge value={i.severity} />
      </h1>
      <section class="panel">
        <ul class="summary">
          <li>
            <strong>{i.target_ip ?? '–'}</strong> target
          </li>
          <li>
            <strong>{i.family ?? 'unclassified'}</strong> attack{i.verdict ? ` (${i.verdict})` : ''}
          </li>
          <li>
            <strong>{i.tier}</strong> tier
          </li>
          <li>
            <strong>{rate(i.peak_pps, 'pps')}</strong> peak
          </li>
          <li>
            <strong>{rate(i.peak_bps, 'bps')}</strong> peak
          </li>
        </ul>
        <p class="muted">
          Started <When at={i.started_at} />
          {i.resolved_at && (
            <>
              , resolved <When at={i.resolved_at} />
            </>
          )}
          . Workflow:{' '}
          <a href={props.workflowUrl} rel="noreferrer">
            {i.workflow_id}
          </a>
        </p>
      </section>
      <h2 id="rules">Rules</h2>
      <RulesTable
        rules={props.rules.filter((r) => r.status === 'active' || r.status === 'pending' || r.status === 'withdrawing')}
        label="rules"
        back={`${CONSOLE_BASE}/incidents/${i.id}`}
      />
      {props.executions.length > 0 && <Executions executions={props.executions} csrf={props.csrf} title="Runbook executions" />}
      <h2 id="captures">Captures</h2>
      <CaptureList pcaps={props.pcaps} />
      <h2>Timeline</h2>
      <ol class="timeline">
        {props.timeline.map((e) => (
          <li>
            <When at={e.at} /> <span class="badge">{e.kind}</span> {e.message}
          </li>
        ))}
      </ol>
    </Page>
  );
}

export function AllowlistPage(props: {
  csrf: string;
  workspace: string;
  entries: AllowlistEntry[];
  error?: { field: string | null; message: string };
  values?: { ip_address: string; label: string };
}) {
  const fieldError = props.error?.field === 'ip_address' ? props.error.message : undefined;
  return (
    <Page title="Allowlist" nav="allowlist" csrf={props.csrf} workspace={props.workspace}>
      <h1>Allowlist</h1>
      <p class="muted">No automated path may block these addresses: rules covering one are refused, and adding one withdraws the live rules it covers.</p>
      {props.error && !fieldError && <Notice error>{props.error.message}</Notice>}
      <section class="panel">
        <h2>Add an entry</h2>
        <form method="post" action={`${CONSOLE_BASE}/allowlist`}>
          <Csrf token={props.csrf} />
          <label for="ip_address">Address or prefix</label>
          <input
            id="ip_address"
            name="ip_address"
            required
            value={props.values?.ip_address ?? ''}
            aria-invalid={fieldError ? 'true' : undefined}
            aria-describedby={fieldError ? 'ip_address-error' : undefined}
          />
          {fieldError && (
            <p id="ip_address-error" class="field-error" role="alert">
              {fieldError}
            </p>
          )}
          <label for="label">Label</label>
          <input id="label" name="label" value={props.values?.label ?? ''} />
          <p>
            <button class="primary" type="submit">
              Add
            </button>
          </p>
        </form>
      </section>
      <h2 id="entries">Entries</h2>
      <Table labelledBy="entries" columns={['Address', 'Label', 'Scope', { text: 'Added', wide: true }, '']}>
        {props.entries.map((e) => (
          <tr>
            <td>{e.ip_address}</td>
            <td>{e.label ?? ''}</td>
            <td>{e.scope}</td>
            <td class="wide">
              <When at={e.created_at} />
            </td>
            <td>
              <ActionButton csrf={props.csrf} action={`${CONSOLE_BASE}/allowlist/${e.id}/delete`} label="Remove" name={`Remove ${e.ip_address}`} danger />
            </td>
          </tr>
        ))}
      </Table>
    </Page>
  );
}

export function ErrorPage(props: { status: number; message: string; csrf?: string; workspace?: string }) {
  return (
    <Page title="Error" nav={props.csrf ? 'overview' : undefined} csrf={props.csrf} workspace={props.workspace}>
      <h1>{props.status === 404 ? 'Not found' : 'Something went wrong'}</h1>
      <Notice error>{props.message}</Notice>
      <p>
        <a href={CONSOLE_BASE}>Back to the overview</a>
      </p>
    </Page>
  );
}

export interface Adapter {
  id: number;
  name: string;
  adapter_type: string;
  endpoint: string;
  status: string;
  active_rules: number;
  last_reconciled_at: string | null;
  reconcile_error: string | null;
}
export interface ScrubbingIntegration {
  id: number;
  name: string;
  type: string;
  status: string;
  status_reason: string | null;
  status_changed_at: string | null;
}

/** Mitigation adapters and scrubbing integrations: their state, and a test of each (its latency comes back as a notice). */
export function IntegrationsPage(props: { csrf: string; workspace: string; adapters: Adapter[]; scrubbing: ScrubbingIntegration[]; notice?: { text: string; error: boolean } }) {
  const test = (action: string, name: string) => <ActionButton csrf={props.csrf} action={action} label="Test" name={`Test ${name}`} />;
  return (
    <Page title="Integrations" nav="integrations" csrf={props.csrf} workspace={props.workspace}>
      <h1>Integrations</h1>
      {props.notice && <Notice error={props.notice.error}>{props.notice.text}</Notice>}
      <h2 id="adapters">Mitigation adapters</h2>
      {props.adapters.length === 0 ? (
        <p class="muted">No adapters: add one through the API (POST /api/v1/mitigation/adapters).</p>
      ) : (
        <Table labelledBy="adapters" columns={['Adapter', 'Type', 'Status', 'Live rules', { text: 'Reconciled', wide: true }, '']}>
          {props.adapters.map((a) => (
            <tr>
              <td>
                {a.name} <span class="muted">#{a.id}</span>
              </td>
              <td>{a.adapter_type}</td>
              <td>
                <Badge value={a.reconcile_error ? 'failed' : a.status} />
                {a.reconcile_error && <div class="error">{a.reconcile_error}</div>}
              </td>
              <td class="num">{a.active_rules}</td>
              <td class="wide">
                <When at={a.last_reconciled_at} />
              </td>
              <td>{test(`${CONSOLE_BASE}/integrations/adapters/${a.id}/test`, a.name)}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2 id="scrubbing">Scrubbing integrations</h2>
      {props.scrubbing.length === 0 ? (
        <p class="muted">No scrubbing integrations: add one through the API (POST /api/v1/scrubbing).</p>
      ) : (
        <Table labelledBy="scrubbing" columns={['Integration', 'Type', 'Status', { text: 'Since', wide: true }, '']}>
          {props.scrubbing.map((i) => (
            <tr>
              <td>
                {i.name} <span class="muted">#{i.id}</span>
              </td>
              <td>{i.type}</td>
              <td>
                <Badge value={i.status} />
                {i.status_reason && <div class="muted">{i.status_reason}</div>}
              </td>
              <td class="wide">
                <When at={i.status_changed_at} />
              </td>
              <td>{test(`${CONSOLE_BASE}/integrations/scrubbing/${i.id}/test`, i.name)}</td>
            </tr>
          ))}
        </Table>
      )}
    </Page>
  );
}
