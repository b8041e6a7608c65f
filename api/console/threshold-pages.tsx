/** @jsxImportSource hono/jsx */
// Per-host thresholds on the console: the overrides of the policy's tiers for one host or
// prefix (or a prefix as a whole), listed, added and removed through the API, its refusal
// shown beside the field it names.
import { Field, numberOr } from './forms.js';
import { ActionButton, CONSOLE_BASE, Csrf, Notice, rate, Table } from './layout.js';

export interface HostThreshold {
  id: number;
  target_ip: string;
  label: string | null;
  thresholds: Record<string, number>;
  aggregate: boolean;
}

const FIGURES = ['tier1_bps', 'tier1_pps', 'tier2_bps', 'tier2_pps', 'tier3_bps', 'tier3_pps'] as const;

/** The form's fields, by their API path. */
export const THRESHOLD_FIELDS = ['target_ip', 'label', 'aggregate', 'thresholds', ...FIGURES.map((f) => `thresholds.${f}`)] as const;

export type ThresholdForm = Record<string, string>;

export function thresholdBody(form: ThresholdForm): Record<string, unknown> {
  const thresholds = Object.fromEntries(FIGURES.filter((f) => form[`thresholds.${f}`]).map((f) => [f, numberOr(form[`thresholds.${f}`]!)]));
  return { target_ip: form.target_ip, ...(form.label ? { label: form.label } : {}), thresholds, aggregate: form.aggregate === 'on' };
}

const describe = (t: Record<string, number>) =>
  FIGURES.filter((f) => t[f] !== undefined)
    .map((f) => `${f.slice(0, 5).replace('tier', 'tier ')}: ${rate(t[f], f.endsWith('bps') ? 'bps' : 'pps')}`)
    .join(', ');

export function ThresholdsSection(props: { csrf: string; overrides: HostThreshold[]; form: ThresholdForm; errors: Record<string, string> }) {
  const field = (name: string, label: string) => <Field name={name} label={label} form={props.form} errors={props.errors} idPrefix="th-" />;
  return (
    <section class="panel" aria-labelledby="overrides">
      <h2 id="overrides">Per-host thresholds</h2>
      <p class="muted">The most specific override containing an attacked address wins over the policy's tiers.</p>
      {props.overrides.length === 0 ? (
        <p class="muted">No overrides.</p>
      ) : (
        <Table labelledBy="overrides" columns={['Target', 'Label', 'Thresholds', '']}>
          {props.overrides.map((o) => (
            <tr>
              <td>
                {o.target_ip}
                {o.aggregate ? ' (as a whole)' : ''}
              </td>
              <td>{o.label ?? ''}</td>
              <td>{describe(o.thresholds)}</td>
              <td>
                <ActionButton csrf={props.csrf} action={`${CONSOLE_BASE}/thresholds/${o.id}/delete`} label="Remove" name={`Remove the override for ${o.target_ip}`} danger />
              </td>
            </tr>
          ))}
        </Table>
      )}
      <h3>Add or replace an override</h3>
      {props.errors.thresholds && <Notice error>{props.errors.thresholds}</Notice>}
      {props.errors[''] && <Notice error>{props.errors['']}</Notice>}
      <form method="post" action={`${CONSOLE_BASE}/thresholds`}>
        <Csrf token={props.csrf} />
        {field('target_ip', 'Host or prefix')}
        {field('label', 'Label')}
        {FIGURES.map((f) => field(`thresholds.${f}`, `${f.slice(0, 5).replace('tier', 'Tier ')} ${f.endsWith('bps') ? 'bits' : 'packets'} per second`))}
        <p>
          <label>
            <input type="checkbox" name="aggregate" checked={props.form.aggregate === 'on'} /> The prefix as a whole (its nodes' traffic summed)
          </label>
        </p>
        <p>
          <button class="primary" type="submit">
            Save override
          </button>
        </p>
      </form>
    </section>
  );
}
