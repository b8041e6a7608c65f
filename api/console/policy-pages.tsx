/** @jsxImportSource hono/jsx */
// The escalation policy as a form, each field named by its path in the API's body
// (`thresholds.tier1_bps`, forms.tsx).
import { BASELINE_MODES, GEO_LOCKDOWN_ACTIONS, TIER_ACTIONS } from '../../domain/escalation.js';
import { FIREWALL_SUITES } from '../../domain/firewall.js';
import type { Child } from 'hono/jsx';
import { Field, FieldError, fieldId, invalidAttrs, numberOr } from './forms.js';
import { Csrf, Notice, Page } from './layout.js';

export interface Policy {
  thresholds: Record<string, number>;
  ttl: Record<string, number>;
  actions: Record<string, string>;
  adapter_id: number | null;
  scrubbing_id: number | null;
  baseline_mode: string;
  geo_lockdown: { enabled: boolean; countries: string[]; action: string; suite: string };
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
  'scrubbing_id',
  'baseline_mode',
  'hold_down_seconds',
  'dry_run',
  'act_without_signature',
  'geo_lockdown.enabled',
  'geo_lockdown.countries',
  'geo_lockdown.action',
  'geo_lockdown.suite',
] as const;

/** What was typed, by field (kept when the API refuses, so nothing typed is lost). */
export type PolicyForm = Record<string, string>;

export function policyForm(p: Policy): PolicyForm {
  const form: PolicyForm = {
    adapter_id: p.adapter_id === null ? '' : String(p.adapter_id),
    scrubbing_id: p.scrubbing_id === null ? '' : String(p.scrubbing_id),
    baseline_mode: p.baseline_mode,
    hold_down_seconds: String(p.hold_down_seconds),
    dry_run: p.dry_run ? 'on' : '',
    act_without_signature: p.act_without_signature ? 'on' : '',
    'geo_lockdown.enabled': p.geo_lockdown.enabled ? 'on' : '',
    'geo_lockdown.countries': p.geo_lockdown.countries.join(', '),
    'geo_lockdown.action': p.geo_lockdown.action,
    'geo_lockdown.suite': p.geo_lockdown.suite,
  };
  for (const t of TIERS) {
    for (const unit of ['bps', 'pps']) form[`thresholds.${t}_${unit}`] = p.thresholds[`${t}_${unit}`]?.toString() ?? '';
    form[`ttl.${t}`] = p.ttl[t]?.toString() ?? '';
    form[`actions.${t}`] = p.actions[t] ?? '';
  }
  return form;
}

/** The API's body for the form: every tier's thresholds (empty: none), TTLs and actions; countries as a list ("kp, ir" -> ["KP", "IR"]). */
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
    scrubbing_id: form.scrubbing_id ? numberOr(form.scrubbing_id) : null,
    baseline_mode: form.baseline_mode,
    hold_down_seconds: numberOr(form.hold_down_seconds ?? ''),
    dry_run: form.dry_run === 'on',
    act_without_signature: form.act_without_signature === 'on',
    geo_lockdown: {
      enabled: form['geo_lockdown.enabled'] === 'on',
      countries: (form['geo_lockdown.countries'] ?? '')
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((c) => c.toUpperCase()),
      action: form['geo_lockdown.action'],
      suite: form['geo_lockdown.suite'],
    },
  };
}

/** A select; a value sent but not among the options (an integration since removed) stays shown, for its refusal to make sense. */
function Choice(props: { name: string; label: string; form: PolicyForm; errors: Record<string, string>; options: ReadonlyArray<readonly [string, string]>; help?: string }) {
  const id = fieldId(props.name);
  const error = props.errors[props.name];
  const value = props.form[props.name] ?? '';
  const options = props.options.some(([v]) => v === value) ? props.options : [...props.options, [value, `#${value} (not listed)`] as const];
  return (
    <div>
      <label for={id}>{props.label}</label>
      <select id={id} name={props.name} {...invalidAttrs(id, error)}>
        {options.map(([v, text]) => (
          <option value={v} selected={value === v}>
            {text}
          </option>
        ))}
      </select>
      <FieldError id={id} error={error} />
      {props.help && !error && <p class="muted">{props.help}</p>}
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
  scrubbing: Array<{ id: number; name: string; type: string }>;
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
          <Choice
            name="scrubbing_id"
            label="Scrubbing integration the scrubbing tier diverts through"
            form={props.form}
            errors={errors}
            options={[['', 'none'], ...props.scrubbing.map((s) => [String(s.id), `${s.name} (${s.type}, #${s.id})`] as const)]}
          />
          <Choice name="baseline_mode" label="Baseline" form={props.form} errors={errors} options={BASELINE_MODES.map((m) => [m, m] as const)} />
          <Field numeric name="hold_down_seconds" label="Hold-down before stepping down (seconds)" form={props.form} errors={errors} />
          <Check name="dry_run" label="Dry run: record what would be done, announce nothing" form={props.form} />
          <Check name="act_without_signature" label="Blackhole even when the capture found no attack signature" form={props.form} />
        </section>
        <section class="panel" aria-labelledby="geo-heading">
          <h2 id="geo-heading">Geo lockdown</h2>
          <p class="muted">When an incident first reaches a tier and a capture shows an attack, traffic from these countries to its target is dropped until it steps back down.</p>
          <Check name="geo_lockdown.enabled" label="Geo lockdown on" form={props.form} />
          <Field name="geo_lockdown.countries" label="Countries (ISO 3166-1 codes)" form={props.form} errors={errors} help="Separated by commas or spaces: KP, IR." />
          <Choice
            name="geo_lockdown.action"
            label="Dropped by"
            form={props.form}
            errors={errors}
            options={GEO_LOCKDOWN_ACTIONS.map((a) => [a, a === 'flowspec' ? 'FlowSpec at the router (at most 256 prefixes)' : "the node's firewall"] as const)}
          />
          <Choice
            name="geo_lockdown.suite"
            label="Firewall"
            form={props.form}
            errors={errors}
            options={FIREWALL_SUITES.map((f) => [f, f] as const)}
            help="For dropping by the node's firewall."
          />
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
