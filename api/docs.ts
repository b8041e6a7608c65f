// The API reference at /api/v1/docs: the OpenAPI document rendered by Swagger UI, a
// maintained renderer served from this app's own npm package (no CDN, so it works on an
// air-gapped control plane). Operations are grouped by resource, the user's first and the
// agent protocol last (API_TAGS).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
/** Read once, on the first request (a synchronous read of the 1.4 MB bundle would stall every request behind it). */
const file = (path: string) => {
  let body: Buffer | undefined;
  return () => (body ??= readFileSync(path));
};
const ASSETS: Record<string, { type: string; body: () => Buffer }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', body: file(require.resolve('swagger-ui-dist/swagger-ui.css')) },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', body: file(require.resolve('swagger-ui-dist/swagger-ui-bundle.js')) },
  'init.js': { type: 'text/javascript; charset=utf-8', body: file(join(dirname(fileURLToPath(import.meta.url)), 'docs-init.js')) },
};

/** Scripts from this app only; Swagger UI sets inline styles on a few elements, so styles may be inline (never scripts). */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulwark REST API reference</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<script src="docs/assets/swagger-ui-bundle.js" defer></script>
<script src="docs/assets/init.js" defer></script>
</head>
<body>
<noscript>The reference needs JavaScript; the OpenAPI document itself is at <a href="openapi.json">openapi.json</a>.</noscript>
<div id="reference"></div>
</body>
</html>`;

/** Resource groups in the order the reference shows them. */
export const API_TAGS = [
  { name: 'Mitigation rules', description: 'BGP blackhole and FlowSpec rules (one or up to 1,024 targets), withdrawals, history', prefix: '/mitigation/rules' },
  { name: 'Adapters', description: 'The BGP speakers and appliances rules are announced through', prefix: '/mitigation/adapters' },
  { name: 'Escalation', description: 'The workspace policy of tiers and per-host thresholds', prefix: '/mitigation/' },
  { name: 'Allowlist', description: 'Addresses no automated path may block', prefix: '/allowlist' },
  { name: 'Nodes', description: 'Protected hosts and commands to their agents', prefix: '/nodes' },
  { name: 'Incidents', description: 'Attacks the agents reported, with their timelines and rules', prefix: '/incidents' },
  { name: 'Captures', description: 'PCAPs taken during incidents: packets, analysis, download', prefix: '/pcaps' },
  { name: 'Scrubbing', description: 'Diverting traffic through upstream scrubbing providers', prefix: '/scrubbing' },
  { name: 'Attack profiles', description: 'Curated firewall rule sets rolled out to nodes', prefix: '/attack-profiles' },
  { name: 'Runbooks', description: 'Ordered steps run on incidents or by hand, with their executions', prefix: '/runbooks' },
  { name: 'Notification channels', description: 'Slack, PagerDuty, email, webhooks and more', prefix: '/channels' },
  { name: 'Agent protocol', description: 'For the node agent only: authenticated by a node key, not a deploy token', prefix: '/agent' },
] as const;

/** The resource group of an API path (below /api/v1). */
export function tagFor(path: string): string {
  return API_TAGS.find((t) => path.startsWith(t.prefix))?.name ?? 'Other';
}

/** The page and its assets, mounted below /api/v1 (public, like the document). */
export function referenceRouter() {
  const api = new Hono();
  api.get('/docs', (c) => {
    c.header('Content-Security-Policy', CSP);
    return c.html(PAGE);
  });
  api.get('/docs/assets/:name', (c) => {
    const asset = ASSETS[c.req.param('name')];
    if (!asset) return c.json({ ok: false, error: { code: 'not_found', message: `no asset ${c.req.param('name')}` } }, 404);
    c.header('Cache-Control', 'public, max-age=3600');
    c.header('Content-Security-Policy', CSP);
    return c.body(new Uint8Array(asset.body()), 200, { 'Content-Type': asset.type });
  });
  return api;
}
