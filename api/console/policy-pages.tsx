/** @jsxImportSource hono/jsx */
// The escalation policy as a form, each field named by its path in the API's body
// (`thresholds.tier1_bps`, forms.tsx).
import { BASELINE_MODES, TIER_ACTIONS } from '../../domain/escalation.js';
import type { Child } from 'hono/jsx';
import { Field, FieldError, fieldId, invalidAttrs, numberOr } from './forms.js';
import { Csrf, Notice, Page } from './layout.js';

export interface Policy {
  thresholds: Record<string, number>;
  ttl: Record<string, number>;
  actions: Record<string, string>;
  adapter_id: number | null;
  baseline_mode: string;
  dry_run: boolean;
  hold_down_seconds: number;
  act_without_signature: boolean;
  updated_at: string | null;
}

const TIERS = ['tier1', 'tier2', 'tier3'] as const;

/** The form's fields, by their API path. */
export const POLICY_FIELDS = [
  ...TIERS.flatMap((t) => [`thresholds.${t}_bps`, `thresholds.${t}_pps`, `ttl.${t}`, `actions.${t}`]),
  'adapter_id',
  'baseline_mode',
  'hold_down_seconds',
  'dry_run',
  'act_without_signature',
] as const;

/** What was typed, by field (kept when the API refuses, so nothing typed is lost). */
export type PolicyForm = Record<string, string>;

export function policyForm(p: Policy): PolicyForm {
  const form: PolicyForm = {
    adapter_id: p.adapter_id === null ? '' : String(p.adapter_id),
    baseline_mode: p.baseline_mode,
    hold_down_seconds: String(p.hold_down_seconds),
    dry_run: p.dry_run ? 'on' : '',
    act_without_signature: p.act_without_signature ? 'on' : '',
  };
  for (const t of TIERS) {
    for (const unit of ['bps', 'pps']) form[`thresholds.${t}_${unit}`] = p.thresholds[`${t}_${unit}`]?.toString() ?? '';
    form[`ttl.${t}`] = p.ttl[t]?.toString() ?? '';
    form[`actions.${t}`] = p.actions[t] ?? '';
  }
  return form;
}

/** The API's body for the form: every tier's thresholds (empty: none), TTLs and actions. */
export function policyBody(form: PolicyForm): Record<string, unknown> {
  const thresholds: Record<string, unknown> = {};
  const ttl: Record<string, unknown> = {};
  const actions: Record<string, unknown> = {};
  for (const t of TIERS) {
    for (const unit of ['bps', 'pps']) if (form[`thresholds.${t}_${unit}`]) thresholds[`${t}_${unit}`] = numberOr(form[`thresholds.${t}_${unit}`]!);
    if (form[`ttl.${t}`]) ttl[t] = numberOr(form[`ttl.${t}`]!);
    if (form[`actions.${t}`]) actions[t] = form[`actions.${t}`];
  }
  return {
    thresholds,
    ttl,
    actions,
    adapter_id: form.adapter_id ? numberOr(form.adapter_id) : null,
    baseline_mode: form.baseline_mode,
    hold_down_seconds: numberOr(form.hold_down_seconds ?? ''),
    dry_run: form.dry_run === 'on',
    act_without_signature: form.act_without_signature === 'on',
  };
}

function Choice(props: { name: string; label: string; form: PolicyForm; errors: Record<string, string>; options: ReadonlyArray<readonly [string, string]> }) {
  const id = fieldId(props.name);
  const error = props.errors[props.name];
  return (
    <div>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} {...invalidAttrs(id, error)}>
        {props.options.map(([value, text]) => (
          <option value={value} selected={props.form[props.name] === value}>
            {text}
          </option>
        ))}
      </select>
      <FieldError id={id} error={error} />
    </div>
  );
}

function Check(props: { name: string; label: string; form: PolicyForm }) {
  return (
    <p>
      <label>
        <input type="checkbox" name={props.name} checked={props.form[props.name] === 'on'} /> {props.label}
      </label>
    </p>
  );
}

export function PolicyPage(props: {
  csrf: string;
  workspace: string;
  form: PolicyForm;
  adapters: Array<{ id: number; name: string }>;
  errors?: Record<string, string>;
  notice?: string;
  /** The per-host thresholds' section (threshold-pages.tsx), below the policy. */
  children?: Child;
}) {
  const errors = props.errors ?? {};
  const actions = TIER_ACTIONS.map((a) => [a, a] as const);
  return (
    <Page title="Escalation policy" nav="policy" csrf={props.csrf} workspace={props.workspace}>
      <h1>Escalation policy</h1>
      {props.notice && <Notice>{props.notice}</Notice>}
      {errors[''] && <Notice error>{errors['']}</Notice>}
      <form method="post" action="/console/policy">
        <Csrf token={props.csrf} />
        {TIERS.map((t, i) => (
          <section class="panel" aria-labelledby={`${t}-heading`}>
            <h2 id={`${t}-heading`}>Tier {i + 1}</h2>
            <Field
              numeric
              name={`thresholds.${t}_bps`}
              label="Bits per second at or above"
              form={props.form}
              errors={errors}
              help="Empty: this figure does not trigger the tier."
            />
            <Field numeric name={`thresholds.${t}_pps`} label="Packets per second at or above" form={props.form} errors={errors} />
            <Choice name={`actions.${t}`} label="Action" form={props.form} errors={errors} options={[['', 'default'], ...actions]} />
            <Field numeric name={`ttl.${t}`} label="Rule TTL (seconds)" form={props.form} errors={errors} />
          </section>
        ))}
        <section class="panel" aria-labelledby="general-heading">
          <h2 id="general-heading">General</h2>
          <Choice
            name="adapter_id"
            label="Adapter the BGP tiers announce through"
            form={props.form}
            errors={errors}
            options={[['', 'none'], ...props.adapters.map((a) => [String(a.id), `${a.name} (#${a.id})`] as const)]}
          />
          <Choice name="baseline_mode" label="Baseline" form={props.form} errors={errors} options={BASELINE_MODES.map((m) => [m, m] as const)} />
          <Field numeric name="hold_down_seconds" label="Hold-down before stepping down (seconds)" form={props.form} errors={errors} />
          <Check name="dry_run" label="Dry run: record what would be done, announce nothing" form={props.form} />
          <Check name="act_without_signature" label="Blackhole even when the capture found no attack signature" form={props.form} />
        </section>
        <p>
          <button class="primary" type="submit">
            Save policy
          </button>
        </p>
      </form>
      {props.children}
    </Page>
  );
}
