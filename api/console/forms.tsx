/** @jsxImportSource hono/jsx */
// The console's forms: fields named by their path in the API's body, so that the API's
// refusal ("thresholds.tier2_bps must be greater than ...") goes beside the field it names,
// and what was typed goes to the API as typed, for it to refuse by name.

/**
 * The API's message split by field: "a.b must ...; c: ..." -> { "a.b": "a.b must ...", c: "c: ..." };
 * an element of a list goes to its list ("c.2 must ..." to "c"); what names no field under "".
 */
export function fieldErrors(message: string, fields: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const names = (part: string, f: string) => part === f || part.startsWith(`${f} `) || part.startsWith(`${f}:`);
  const namesElementOf = (part: string, f: string) => part.startsWith(`${f}.`) && /^\d+([ :]|$)/.test(part.slice(f.length + 1));
  for (const part of message.split('; ')) {
    const field = fields.find((f) => names(part, f)) ?? fields.find((f) => namesElementOf(part, f));
    const key = field ?? '';
    out[key] = out[key] ? `${out[key]}; ${part}` : part;
  }
  return out;
}

/** A typed number as the API takes it; anything else as typed, for the API to refuse by name. */
export const numberOr = (text: string): number | string => (/^-?\d+(\.\d+)?(e\d+)?$/i.test(text.trim()) ? Number(text) : text);

/** The field's id: its API path, dots as dashes, after the form's prefix. */
export const fieldId = (name: string, prefix = '') => `${prefix}${name.replace('.', '-')}`;

/** The API's refusal of one field, announced and tied to its input (aria-describedby). */
export function FieldError(props: { id: string; error: string | undefined }) {
  return props.error ? (
    <p id={`${props.id}-error`} class="field-error" role="alert">
      {props.error}
    </p>
  ) : null;
}

/** The attributes that tie an input to its refusal. */
export const invalidAttrs = (id: string, error: string | undefined) => (error ? { 'aria-invalid': 'true', 'aria-describedby': `${id}-error` } : {});

export function Field(props: { name: string; label: string; form: Record<string, string>; errors: Record<string, string>; idPrefix?: string; numeric?: boolean; help?: string }) {
  const id = fieldId(props.name, props.idPrefix);
  const error = props.errors[props.name];
  return (
    <div>
      <label for={id}>{props.label}</label>
      <input id={id} name={props.name} inputmode={props.numeric ? 'numeric' : undefined} value={props.form[props.name] ?? ''} {...invalidAttrs(id, error)} />
      <FieldError id={id} error={error} />
      {props.help && !error && <p class="muted">{props.help}</p>}
    </div>
  );
}
