/** @jsxImportSource hono/jsx */
// The console's page shell and the small pieces every page shares: navigation, the CSRF
// field, figures in human units, status badges. Server-rendered; the only script is htmx,
// served from this app (api/console/assets.ts), for the live panels' polling.
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';

export const CONSOLE_BASE = '/console';

/** htmx without the features a strict CSP forbids (inline styles, eval, inline scripts). */
const HTMX_CONFIG = JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, selfRequestsOnly: true });

const NAV = [
  ['overview', 'Overview', ''],
  ['runbooks', 'Runbooks', '/runbooks'],
  ['policy', 'Policy', '/policy'],
  ['integrations', 'Integrations', '/integrations'],
  ['allowlist', 'Allowlist', '/allowlist'],
] as const;
export type NavKey = (typeof NAV)[number][0];

export function Page(props: { title: string; nav?: NavKey; csrf?: string; workspace?: string; children: Child }) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title>{`${props.title} · Bulwark`}</title>
          <link rel="stylesheet" href={`${CONSOLE_BASE}/assets/console.css`} />
          <script src={`${CONSOLE_BASE}/assets/htmx.min.js`} defer></script>
        </head>
        <body>
          <header class="bar">
            <span class="brand">Bulwark</span>
            {props.nav !== undefined && (
              <nav aria-label="Console">
                {NAV.map(([key, label, path]) => (
                  <a href={`${CONSOLE_BASE}${path}`} aria-current={key === props.nav ? 'page' : undefined}>
                    {label}
                  </a>
                ))}
                <a href="/api/v1/docs">API reference</a>
              </nav>
            )}
            {props.csrf !== undefined && (
              <form class="inline" method="post" action={`${CONSOLE_BASE}/logout`}>
                <Csrf token={props.csrf} />
                <span class="muted">{props.workspace} </span>
                <button type="submit">Sign out</button>
              </form>
            )}
          </header>
          <main id="main">{props.children}</main>
        </body>
      </html>
    </>
  );
}

export const Csrf = (props: { token: string }) => <input type="hidden" name="_csrf" value={props.token} />;

export const Notice = (props: { error?: boolean; children: Child }) => (
  <p class={props.error ? 'notice error' : 'notice'} role={props.error ? 'alert' : 'status'}>
    {props.children}
  </p>
);

/** 1234567 -> "1.23 M" (bits or packets per second). */
export function rate(n: number | null | undefined, unit: string): string {
  if (n === null || n === undefined) return '–';
  const steps: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, prefix] of steps) if (Math.abs(n) >= size) return `${(n / size).toPrecision(3)} ${prefix}${unit}`;
  return `${Math.round(n)} ${unit}`;
}

const BADGE: Record<string, string> = {
  active: 'bad',
  attack: 'bad',
  open: 'bad',
  failed: 'bad',
  cancelled: 'warn',
  running: 'warn',
  succeeded: 'good',
  critical: 'bad',
  high: 'bad',
  pending: 'warn',
  withdrawing: 'warn',
  elevated: 'warn',
  medium: 'warn',
  online: 'good',
  resolved: 'good',
  withdrawn: 'good',
  expired: 'good',
};

/** A state as a coloured word; `tone` where the usual colour would mislead (an active runbook is good news). */
export const Badge = (props: { value: string; tone?: 'good' | 'warn' | 'bad' }) => <span class={`badge ${props.tone ?? BADGE[props.value] ?? ''}`}>{props.value}</span>;

/** A timestamp as the console shows it: UTC, to the second, machine-readable. */
export const When = (props: { at: string | null }) => (props.at ? <time datetime={props.at}>{props.at.slice(0, 19).replace('T', ' ')}Z</time> : <span class="muted">–</span>);

/** A column: its heading (`''`: an action column, named for screen readers only), and whether a phone hides it. */
type Column = string | { text: string; wide: true };

/** A table that scrolls sideways on a phone rather than squeezing; named by its heading's id. */
export function Table(props: { labelledBy: string; columns: Column[]; children: Child }) {
  return (
    <div class="table-wrap">
      <table aria-labelledby={props.labelledBy}>
        <thead>
          <tr>
            {props.columns.map((col) => (typeof col === 'string' ? <th>{col === '' ? <span class="visually-hidden">Action</span> : col}</th> : <th class="wide">{col.text}</th>))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** A form that POSTs one console action (the session's CSRF token in it); `name` is what a screen reader hears. */
export function ActionButton(props: { csrf: string; action: string; label: string; name?: string; danger?: boolean }) {
  return (
    <form class="inline" method="post" action={props.action}>
      <Csrf token={props.csrf} />
      <button type="submit" class={props.danger ? 'danger' : undefined} aria-label={props.name}>
        {props.label}
      </button>
    </form>
  );
}
