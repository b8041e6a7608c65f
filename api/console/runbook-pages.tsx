/** @jsxImportSource hono/jsx */
// The console's runbook pages: the list (toggle, run by hand), and one runbook with its
// steps and executions step by step (re-run from the failed step, cancel, each linked to
// its workflow in the Temporal UI). Rendered from the REST API's JSON.
import { ActionButton, Badge, CONSOLE_BASE, Csrf, Notice, Page, Table, When } from './layout.js';

export interface Runbook {
  id: number;
  name: string;
  description: string | null;
  active: boolean;
  trigger_conditions: Record<string, unknown>;
  steps: Array<{ action_type: string; action_config: Record<string, unknown> }>;
  steps_count: number;
  executions_count: number;
  last_execution: { id: number; status: string; started_at: string | null } | null;
}

export interface Execution {
  id: number;
  runbook_id: number;
  trigger: string;
  status: string;
  simulated: boolean;
  retry_of: number | null;
  from_step: number;
  error: string | null;
  temporal_ui_url: string;
  workflow_id: string;
  started_at: string;
  duration_ms: number | null;
  steps: Array<{ index: number; action_type: string; status: string; output: string | null; error: string | null; duration_ms: number | null }>;
}

type Who = { csrf: string; workspace: string };

export function RunbooksPage(props: Who & { runbooks: Runbook[]; notice?: string }) {
  return (
    <Page title="Runbooks" nav="runbooks" csrf={props.csrf} workspace={props.workspace}>
      <h1 id="runbooks">Runbooks</h1>
      {props.notice && <Notice>{props.notice}</Notice>}
      {props.runbooks.length === 0 ? (
        <p class="muted">No runbooks yet: create them through the API (POST /api/v1/runbooks).</p>
      ) : (
        <Table labelledBy="runbooks" columns={['Runbook', 'State', 'Steps', 'Executions', { text: 'Last execution', wide: true }, '']}>
          {props.runbooks.map((r) => (
            <tr>
              <td>
                <a href={`${CONSOLE_BASE}/runbooks/${r.id}`}>{r.name}</a>
              </td>
              <td>
                <Badge value={r.active ? 'active' : 'inactive'} tone={r.active ? 'good' : undefined} />
              </td>
              <td class="num">{r.steps_count}</td>
              <td class="num">{r.executions_count}</td>
              <td class="wide">
                {r.last_execution ? (
                  <>
                    <Badge value={r.last_execution.status} /> <When at={r.last_execution.started_at} />
                  </>
                ) : (
                  <span class="muted">never run</span>
                )}
              </td>
              <td>
                <ActionButton
                  csrf={props.csrf}
                  action={`${CONSOLE_BASE}/runbooks/${r.id}/toggle`}
                  label={r.active ? 'Deactivate' : 'Activate'}
                  name={`${r.active ? 'Deactivate' : 'Activate'} ${r.name}`}
                />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </Page>
  );
}

export function RunbookPage(props: Who & { runbook: Runbook; executions: Execution[]; notice?: string; error?: string }) {
  const r = props.runbook;
  return (
    <Page title={r.name} nav="runbooks" csrf={props.csrf} workspace={props.workspace}>
      <h1>
        {r.name} <Badge value={r.active ? 'active' : 'inactive'} tone={r.active ? 'good' : undefined} />
      </h1>
      {props.notice && <Notice>{props.notice}</Notice>}
      {props.error && <Notice error>{props.error}</Notice>}
      {r.description && <p>{r.description}</p>}
      <section class="panel">
        <h2 id="steps">Steps</h2>
        <ol>
          {r.steps.map((s) => (
            <li>
              <strong>{s.action_type}</strong> <code>{JSON.stringify(s.action_config)}</code>
            </li>
          ))}
        </ol>
        <p class="muted">
          Triggered by: <code>{JSON.stringify(r.trigger_conditions)}</code>
        </p>
        <form method="post" action={`${CONSOLE_BASE}/runbooks/${r.id}/run`}>
          <Csrf token={props.csrf} />
          <label for="node">Node (uuid; empty: a synthetic test context, steps touching a host simulated)</label>
          <input id="node" name="node" autocomplete="off" />
          <p>
            <button class="primary" type="submit">
              Run now
            </button>
          </p>
        </form>
      </section>
      <Executions runbookId={r.id} executions={props.executions} csrf={props.csrf} />
    </Page>
  );
}

/** The executions, step by step; on a runbook's page (`runbookId`), refreshed every 3 s while one runs. */
export function Executions(props: { runbookId?: number; executions: Execution[]; csrf: string; title?: string }) {
  const running = props.executions.some((e) => e.status === 'running');
  const live =
    running && props.runbookId !== undefined ? { 'hx-get': `${CONSOLE_BASE}/runbooks/${props.runbookId}/executions`, 'hx-trigger': 'every 3s', 'hx-swap': 'outerHTML' } : {};
  return (
    <section id="executions" {...live}>
      <h2>{props.title ?? 'Executions'}</h2>
      {props.executions.length === 0 && <p class="muted">Not run yet.</p>}
      {props.executions.map((e) => (
        <section class="panel" aria-label={`Execution ${e.id}`}>
          <p>
            <strong>Execution #{e.id}</strong> <Badge value={e.status} /> {e.trigger}
            {e.simulated ? ' (simulated)' : ''}
            {e.retry_of !== null ? `, re-run of #${e.retry_of} from step ${e.from_step + 1}` : ''} · <When at={e.started_at} />
            {e.duration_ms !== null ? ` · ${Math.round(e.duration_ms)} ms` : ''} ·{' '}
            <a href={e.temporal_ui_url} rel="noreferrer">
              workflow {e.workflow_id}
            </a>
          </p>
          {e.error && <p class="error">{e.error}</p>}
          <Table labelledBy={`execution-${e.id}`} columns={['Step', 'Type', 'Status', 'Took', 'Output or error']}>
            {e.steps.map((s) => (
              <tr>
                <td class="num">{s.index + 1}</td>
                <td>{s.action_type}</td>
                <td>
                  <Badge value={s.status} />
                </td>
                <td class="num">{s.duration_ms !== null ? `${Math.round(s.duration_ms)} ms` : '–'}</td>
                <td class={s.error ? 'error' : undefined}>{s.error ?? s.output ?? ''}</td>
              </tr>
            ))}
          </Table>
          <span id={`execution-${e.id}`} class="visually-hidden">
            Steps of execution {e.id}
          </span>
          {e.status === 'failed' && (
            <ActionButton csrf={props.csrf} action={`${CONSOLE_BASE}/runbooks/${e.runbook_id}/executions/${e.id}/retry`} label="Re-run from the failed step" />
          )}
          {e.status === 'running' && <ActionButton csrf={props.csrf} action={`${CONSOLE_BASE}/runbooks/${e.runbook_id}/executions/${e.id}/cancel`} label="Cancel" danger />}
        </section>
      ))}
    </section>
  );
}
