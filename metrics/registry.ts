// The process's Prometheus registry and the figures recorded as things happen: API requests,
// adapter calls, reconciliation repairs, and Node's own (CPU, memory, event loop). Figures
// read from the database at scrape time are the API's (api/metrics.ts); the Temporal SDK's
// worker figures have an exporter of their own (cmd/runtime.ts).
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Requests by the route's pattern (`/api/v1/mitigation/rules/:id`), never the raw path: one series per route, not per id. */
export const httpRequests = new Counter({
  name: 'bulwark_http_requests_total',
  help: 'API requests answered, by route pattern, method and status code ("unmatched": no route served the path)',
  labelNames: ['route', 'method', 'code'] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: 'bulwark_http_request_duration_seconds',
  help: 'Time from a request reaching the API to its answer, by route pattern and method',
  labelNames: ['route', 'method'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export type AdapterOp = 'announce' | 'withdraw';
/** ok; rejected: the back end refused (not retried); unavailable: it failed or was unreachable (retried); error: anything else. */
export type AdapterOutcome = 'ok' | 'rejected' | 'unavailable' | 'error';

export const adapterCalls = new Histogram({
  name: 'bulwark_adapter_call_seconds',
  help: 'Announce and withdraw calls to mitigation adapters (BGP speakers, appliances, webhooks), by adapter type, operation and outcome',
  labelNames: ['adapter_type', 'op', 'outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

/**
 * Runs one adapter call and records how long it took and how it ended. `outcome` sorts a
 * failure (the caller's error classes stay with the caller).
 */
export async function timeAdapterCall<T>(adapterType: string, op: AdapterOp, call: () => Promise<T>, outcome: (err: unknown) => AdapterOutcome): Promise<T> {
  const end = adapterCalls.startTimer({ adapter_type: adapterType, op });
  try {
    const result = await call();
    end({ outcome: 'ok' });
    return result;
  } catch (err) {
    end({ outcome: outcome(err) });
    throw err;
  }
}

export const reconcileRepairs = new Counter({
  name: 'bulwark_reconcile_repairs_total',
  help: 'Routes the reconciler repaired on a speaker: reannounced (a live rule whose route was missing) or withdrew_stray (a route no live rule held)',
  labelNames: ['adapter_type', 'kind'] as const,
  registers: [registry],
});
