// Hetzner (dedicated servers, Robot): no mitigation API; the Robot firewall of the server,
// with the configured discard rules placed before the user's own while the diversion runs.
// HTTP Basic auth with the Robot webservice user; three bad logins lock the caller out.
import { z } from 'zod';
import { FilterRules, Prefixes } from './common.js';

export const defaultBaseUrl = 'https://robot-ws.your-server.de';
export const config = z.strictObject({
  /** The server's addresses. */
  prefixes: Prefixes,
  server_number: z.number().int('must be the server number').positive('must be the server number'),
  /** Discarded while the diversion runs; Robot allows 10 input rules, the user's and the allowlist's included. */
  rules: FilterRules(10),
});
/** The Robot webservice user (not the Robot login). */
export const credentials = z.strictObject({ username: z.string().min(1, 'must be the webservice user').max(100), password: z.string().min(1, 'must be the password').max(200) });
