// A self-contained, browsable API reference rendered from the OpenAPI document (no
// scripts or CDN assets, so it works on air-gapped control planes).

interface Doc {
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}
interface Operation {
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown; description?: string }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

function resolveSchema(schema: unknown, doc: Doc): unknown {
  const ref = (schema as { $ref?: string } | undefined)?.$ref;
  return ref ? doc.components?.schemas?.[ref.split('/').pop()!] : schema;
}

export function renderReferencePage(doc: Doc): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? [])
        .map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''}) ${esc(p.description ?? '')}</li>`)
        .join('');
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {})
        .map(([status, r]) => `<li><b>${esc(status)}</b> ${esc(r.description ?? '')}</li>`)
        .join('');
      ops.push(`<section id="${esc(method + path)}">
<h2><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>/api/v1${esc(path)}</code></h2>
<p><b>${esc(op.summary ?? '')}</b> ${esc(op.description ?? '')}</p>
${params ? `<h3>Parameters</h3><ul>${params}</ul>` : ''}
${body ? `<h3>JSON body</h3><pre>${esc(JSON.stringify(resolveSchema(body, doc), null, 2))}</pre>` : ''}
<h3>Responses</h3><ul>${responses}</ul>
</section>`);
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
pre{background:#f5f5f5;padding:.8em;overflow:auto;font-size:13px}section{border-top:1px solid #ddd;margin-top:1.5em}
.m{display:inline-block;min-width:4.5em;text-align:center;color:#fff;border-radius:4px;padding:0 .4em;font-size:.8em}
.get{background:#2b7bb9}.post{background:#2f9e44}.delete{background:#c92a2a}.patch{background:#e67700}</style></head>
<body><h1>${esc(doc.info.title)} <small>v${esc(doc.info.version)}</small></h1>
<p>Send <code>Authorization: Bearer &lt;64-hex deploy token&gt;</code>. Every answer is an envelope:
<code>{"ok": true, ...}</code> or <code>{"ok": false, "error": {"code", "message"}}</code>.
Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>
${ops.join('\n')}
</body></html>`;
}
