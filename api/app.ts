// The Hono application: REST API v1 under /api/v1, health at /healthz.
import { OpenAPIHono } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { bodyLimit } from 'hono/body-limit';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { authenticate, DEFAULT_AGENT_MAX_CONCURRENT, DEFAULT_AGENT_RATE_LIMIT, rateLimit, rateLimitNode, requireSubscriptionForWrites } from './auth.js';
import { localLimit, LocalLimiter } from './local-limits.js';
import type { AgentEnv, AppDeps, AppEnv } from './context.js';
import { httpMetrics } from './metrics.js';
import { isBackendOutage } from './outage.js';
import { ApiError, errorBody, ERROR_STATUS, sendError } from './errors.js';
import { API_TAGS, referenceRouter } from './docs.js';
import { withExamples, type OpenApiDoc } from './examples.js';
import { adaptersRouter } from './routes/adapters.js';
import { allowlistRouter } from './routes/allowlist.js';
import { escalationRouter } from './routes/escalation.js';
import { agentRouter } from './routes/agent.js';
import { agentIncidentsRouter } from './routes/agent-incidents.js';
import { agentCommandsRouter } from './routes/agent-commands.js';
import { agentPcapsRouter } from './routes/agent-pcaps.js';
import { pcapsRouter } from './routes/pcaps.js';
import { MAX_CHUNK_BYTES } from '../db/pcaps.js';
import { incidentsRouter } from './routes/incidents.js';
import { nodesRouter } from './routes/nodes.js';
import { authenticateNode } from './agent-auth.js';
import { checkJsonInput } from './json-body.js';
import { attackProfilesRouter } from './routes/attack-profiles.js';
import { channelsRouter } from './routes/channels.js';
import { runbooksRouter } from './routes/runbooks.js';
import { rulesRouter } from './routes/rules.js';
import { scrubbingRouter } from './routes/scrubbing.js';
import { temporalReachable } from '../clients/temporal.js';
import { CONSOLE_BASE } from './console/layout.js';
import { consoleRouter } from './console/routes.js';

export const API_BASE = '/api/v1';

const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A Hono route path ("/api/v1/rules/:id") as a regular expression over request paths. */
function routePattern(path: string): RegExp {
  const parts = path.split('/').map((p) => (p.startsWith(':') ? '[^/]+' : p === '*' ? '.*' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('/')}/?$`);
}

/** Request bodies are small JSON documents; anything bigger is a mistake or an attack. */
export const MAX_BODY_BYTES = 64 * 1024;

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

  // Every answer counted and timed by its route's pattern (served on the metrics listener, not here).
  app.use('*', httpMetrics);
  app.use('*', async (c, next) => {
    c.set('deps', deps);
    await next();
  });

  // A flooding node key is refused first of all, in memory: before its body is read or
  // parsed, before any database work.
  const nodeKeys = new LocalLimiter(deps.agentRateLimit ?? DEFAULT_AGENT_RATE_LIMIT, deps.agentMaxConcurrent ?? DEFAULT_AGENT_MAX_CONCURRENT, deps.clock);
  app.use(`${API_BASE}/agent/*`, localLimit(nodeKeys));

  app.get('/healthz', async (c) => {
    const [db, reachable] = await Promise.allSettled([deps.db.execute(sql`select 1`), temporalReachable(deps)]);
    const database = db.status === 'fulfilled' ? 'ok' : 'unreachable';
    const temporal = reachable.status === 'fulfilled' && reachable.value ? 'ok' : 'unreachable';
    const healthy = database === 'ok' && temporal === 'ok';
    return c.json({ ok: healthy, status: healthy ? 'ok' : 'degraded', database, temporal }, healthy ? 200 : 503);
  });

  const api = new OpenAPIHono<AppEnv>();
  const limit = (maxSize: number) => bodyLimit({ maxSize, onError: (c) => sendError(c, 'payload_too_large', `request body exceeds ${maxSize} bytes`) });
  const jsonLimit = limit(MAX_BODY_BYTES);
  // Capture chunks are the one binary, larger body.
  const chunkLimit = limit(MAX_CHUNK_BYTES);
  api.use('*', (c, next) => (/\/agent\/pcaps\/\d+\/data$/.test(c.req.path) ? chunkLimit : jsonLimit)(c, next));
  api.use('*', checkJsonInput);
  // Documentation is public; everything else needs a token.
  const docConfig = {
    openapi: '3.1.0',
    info: {
      title: 'Bulwark REST API',
      version: '1.0.0',
      description:
        'DDoS mitigation: BGP blackhole and FlowSpec rules, adapters, allowlist. Every answer is an envelope: ' +
        '{"ok": true, ...} or {"ok": false, "error": {"code", "message"}}. 1,000 requests/minute per token.',
    },
    servers: [{ url: API_BASE }],
    security: [{ bearer: [] }],
    tags: API_TAGS.map(({ name, description }) => ({ name, description })),
  };
  // Built once, at the first request (every route is registered by then), with an example on every operation.
  let doc: OpenApiDoc | undefined;
  api.get('/openapi.json', (c) => c.json((doc ??= withExamples(api.getOpenAPI31Document(docConfig) as OpenApiDoc))));
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: '64-hex deploy token',
  });
  api.route('/', referenceRouter());

  // Agents: node keys, their own endpoints; registered before the deploy-token routes.
  const agent = new OpenAPIHono<AgentEnv>();
  agent.use('/agent/*', authenticateNode, rateLimitNode, requireSubscriptionForWrites);
  // Typed as plain routers: the app needs their routes, not the union of their schemas' types.
  for (const r of [agentRouter, agentIncidentsRouter, agentCommandsRouter, agentPcapsRouter] as OpenAPIHono<AgentEnv>[]) agent.route('/', r);
  // An agent path no route serves ends here, answered as any unrouted request: a node key
  // must not fall through to the deploy-token routes and hear its key is unknown.
  agent.all('/agent/*', (c) => unrouted(c));
  api.route('/', agent);

  const authed = new OpenAPIHono<AppEnv>();
  authed.use('*', authenticate, rateLimit, requireSubscriptionForWrites);
  for (const r of [rulesRouter, adaptersRouter, allowlistRouter, escalationRouter, nodesRouter, incidentsRouter, pcapsRouter, scrubbingRouter, attackProfilesRouter, runbooksRouter, channelsRouter] as OpenAPIHono<AppEnv>[]) authed.route('/', r);
  api.route('/', authed);
  app.route(API_BASE, api);

  // The operator console: pages for people, acting through the API above (api/console/).
  app.route(CONSOLE_BASE, consoleRouter((path, init, env) => app.request(`${API_BASE}${path}`, init, env)));
  app.get('/', (c) => c.redirect(CONSOLE_BASE, 302));

  // A path some route serves, asked with another method: 405 with the methods it takes.
  const served = app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, path: routePattern(r.path) }));
  function unrouted(c: Context) {
    const allow = METHOD_ORDER.filter((m) => served.some((r) => r.method === m && r.path.test(c.req.path)));
    if (allow.length === 0) return sendError(c, 'not_found', `no endpoint ${c.req.method} ${c.req.path}`);
    c.header('Allow', allow.join(', '));
    return sendError(c, 'method_not_allowed', `${c.req.path} takes ${allow.join(', ')}, not ${c.req.method}`);
  }
  app.notFound(unrouted);
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(errorBody(err.code, err.message, err.extra), ERROR_STATUS[err.code]);
    if (err instanceof HTTPException) {
      // Hono's own validators: malformed JSON, wrong content type.
      if (err.status === 400) return sendError(c, 'invalid_json', `request body is not valid JSON: ${err.message}`);
      if (err.status === 413) return sendError(c, 'payload_too_large', err.message);
      if (err.status === 415) return sendError(c, 'unsupported_media_type', 'send the body as application/json');
    }
    if (isBackendOutage(err)) {
      deps.logger.warn({ err, method: c.req.method, path: c.req.path }, 'a back end is unavailable');
      c.header('Retry-After', '5');
      return sendError(c, 'unavailable', 'a back end (database or workflow service) is unavailable; try again shortly');
    }
    deps.logger.error({ err, method: c.req.method, path: c.req.path }, 'unhandled API error');
    return sendError(c, 'internal_error', 'an internal error occurred; it has been logged');
  });
  return app;
}
