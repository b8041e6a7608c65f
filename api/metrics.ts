// Prometheus figures of the API: each request counted and timed by its route's pattern,
// and gauges read from the database at scrape time (rules by state, open incidents, nodes).
// Served by metrics/endpoint.ts on its own listener, never on the API's port.
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Gauge, Registry } from 'prom-client';
import type { Db } from '../db/client.js';
import { readGauges } from '../db/gauges.js';
import { httpDuration, httpRequests } from '../metrics/registry.js';

/**
 * The route label is the pattern of the handler the path matched (`/api/v1/nodes/:uuid`),
 * or "unmatched" when none did (404, 405): a label per pattern, never per raw path.
 */
export const httpMetrics: MiddlewareHandler = async (c, next) => {
  const end = httpDuration.startTimer();
  try {
    await next();
  } finally {
    // Middleware is registered for every method (ALL); a handler for its method.
    const handler = matchedRoutes(c).filter((r) => r.method !== 'ALL').at(-1);
    const labels = { route: handler?.path ?? 'unmatched', method: c.req.method };
    end(labels);
    httpRequests.inc({ ...labels, code: String(c.res.status) });
  }
};

/** Reads the database and answers its figures as a registry of gauges: one query round per scrape. */
export function databaseGauges(db: Db): () => Promise<Registry> {
  return async () => {
    const v = await readGauges(db);
    const registry = new Registry();
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers: [registry] });
    const rules = gauge('bulwark_rules', 'Mitigation rules by state, across every workspace', ['state']);
    for (const [state, n] of Object.entries(v.rules)) rules.set({ state }, n);
    const open = gauge('bulwark_incidents_open', 'Incidents open now, by severity', ['severity']);
    for (const [severity, n] of Object.entries(v.openIncidents)) open.set({ severity }, n);
    const byStatus = gauge('bulwark_nodes', 'Nodes by status as GET /nodes reports it (offline: unheard for 60 s, or never heard)', ['status']);
    for (const [status, n] of Object.entries(v.nodes)) byStatus.set({ status }, n);
    const silent = gauge('bulwark_nodes_silent', 'Nodes whose agent reported once but not for at least for_seconds', ['for_seconds']);
    for (const [seconds, n] of v.silentNodes) silent.set({ for_seconds: String(seconds) }, n);
    gauge('bulwark_nodes_never_seen', 'Nodes whose agent never reported', []).set(v.neverSeenNodes);
    return registry;
  };
}
