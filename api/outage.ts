// Whether an error means a back end (PostgreSQL, Temporal) is down or restarting, not
// that the request or the code is wrong: such requests answer 503 `unavailable` with
// Retry-After, which clients and load balancers know to retry, instead of a 500.
// By structure, walking the cause chain: api/ does not import the drivers' error classes.

/** postgres.js connection states, socket errors, and PostgreSQL's own shutdown/startup codes. */
const DB_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '08000',
  '08003',
  '08006', // connection exceptions
]);

/** gRPC status codes the Temporal client reports when the frontend cannot be reached. */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

export function isBackendOutage(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && DB_CODES.has(code)) return true;
    if ((name === 'ServiceError' || name === 'ConnectionError' || typeof code === 'number') && (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED)) return true;
    if (name === 'TransportError' || name === 'ConnectionError') return true;
  }
  return false;
}
