// An example on every operation of the OpenAPI document: a request body and a success
// answer. A schema's own example wins (curated where fields depend on each other, e.g. a
// rule's target_ip or target_ips); otherwise one is built from the schema: its fields'
// examples, defaults and first enum values, and values shaped like what the field holds.
// Request examples are checked against the API itself (test/api-contract.test.ts).

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
  format?: string;
  minimum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  additionalProperties?: boolean | Schema;
};
type Media = { schema?: Schema; example?: unknown };
type Operation = { requestBody?: { content?: Record<string, Media> }; responses?: Record<string, { content?: Record<string, Media> }> };
export type OpenApiDoc = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };

const NOW = '2026-12-04T09:30:00.000Z';

/** Fields that are null while all is well (an answer shows them so). */
const NULL_WHEN_FINE = /(^|_)(error|status_reason|resolved_at|ended_at|finished_at|retry_of)$/;

/** A value shaped like what a field of this name holds, where its schema gives no example. */
function byName(name: string): unknown {
  if (/(^|_)(ip|ip_address|target_ip|source)$/.test(name)) return '203.0.113.10';
  if (name === 'at' || /_at$/.test(name)) return NOW;
  if (name === 'prefixes' || name === 'route' || name === 'prefix') return '203.0.113.0/24';
  if (name === 'label') return 'Monitoring Server';
  if (name === 'location') return 'Frankfurt';
  if (name === 'os') return 'Debian 12';
  if (name === 'interface') return 'eth0';
  if (name === 'agent_version') return '0.1.0';
  if (name === 'workflow_id') return 'rule:1';
  if (name === 'sha256') return 'a3f1c2d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2';
  if (/(url|endpoint)$/.test(name)) return 'https://hooks.example.com/bulwark';
  if (name === 'name') return 'Core Router';
  if (name === 'node' || name === 'uuid') return '6f1c2a1e-8d3b-4f5a-9c7e-2b1d0e9f8a7c';
  if (/reason|message|description|summary|detail|error/.test(name)) return 'DDoS mitigation';
  return undefined;
}

export function sampleOf(schema: Schema | undefined, doc: OpenApiDoc, name = '', depth = 0, request = false): unknown {
  if (!schema || depth > 8) return null;
  if (!request && NULL_WHEN_FINE.test(name) && nullable(schema, doc)) return null;
  if (schema.$ref) return sampleOf(doc.components?.schemas?.[schema.$ref.split('/').pop()!], doc, name, depth + 1, request);
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return sampleOf(variants.find((v) => v.type !== 'null') ?? variants[0], doc, name, depth + 1, request);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s) => sampleOf(s, doc, name, depth + 1, request)));
  if (schema.default !== undefined) return schema.default;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, prop] of Object.entries(schema.properties ?? {})) {
        // A request carries what it must and what its fields show by example; an answer, everything.
        if (request && !schema.required?.includes(key) && !hasOwnExample(prop, doc)) continue;
        out[key] = sampleOf(prop, doc, key, depth + 1, request);
      }
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => sampleOf(schema.items, doc, name, depth + 1, request));
    case 'string':
      return byName(name) ?? (schema.format === 'date-time' ? NOW : schema.format === 'uuid' ? byName('uuid') : schema.format === 'binary' ? '<binary>' : 'text');
    case 'integer':
    case 'number':
      return /(^|_)id$/.test(name) ? 1 : Math.max(schema.minimum ?? 1, (schema.exclusiveMinimum ?? 0) + 1);
    case 'boolean':
      return true;
    default:
      return byName(name) ?? null;
  }
}

function nullable(schema: Schema, doc: OpenApiDoc): boolean {
  const s = schema.$ref ? doc.components?.schemas?.[schema.$ref.split('/').pop()!] : schema;
  if (!s) return false;
  return (Array.isArray(s.type) && s.type.includes('null')) || [...(s.anyOf ?? []), ...(s.oneOf ?? [])].some((v) => nullable(v, doc)) || s.type === 'null';
}

function hasOwnExample(schema: Schema, doc: OpenApiDoc): boolean {
  const s = schema.$ref ? doc.components?.schemas?.[schema.$ref.split('/').pop()!] : schema;
  return s?.example !== undefined || (s?.examples?.length ?? 0) > 0;
}

/** The document with an example on every JSON request body and success answer that has none. */
export function withExamples<D extends OpenApiDoc>(doc: D): D {
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(methods)) {
      const body = op.requestBody?.content?.['application/json'];
      if (body && body.example === undefined) body.example = sampleOf(body.schema, doc, '', 0, true);
      for (const [status, answer] of Object.entries(op.responses ?? {})) {
        const json = answer.content?.['application/json'];
        if (status.startsWith('2') && json && json.example === undefined) json.example = sampleOf(json.schema, doc);
      }
    }
  }
  return doc;
}
