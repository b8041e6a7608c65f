// Hetzner (dedicated servers, Robot): no mitigation API; the Robot firewall of the server,
// with the configured discard rules placed before the user's own while the diversion runs.
// HTTP Basic auth with the Robot webservice user; three bad logins lock the caller out.
import { z } from 'zod';
import { FilterRules, Prefixes, type FilterRule } from './common.js';

export const defaultBaseUrl = 'https://robot-ws.your-server.de';

/** Robot takes at most 10 input rules: the user's, the allowlist's and the diversion's together. */
export const HETZNER_MAX_RULES = 10;

export const config = z.strictObject({
  /** The server's IPv4 addresses: the rules Bulwark places filter IPv4 only, so an IPv6 target would be reported diverted and not be. */
  prefixes: Prefixes.superRefine((prefixes, ctx) =>
    prefixes.forEach((p, i) => {
      if (p.includes(':')) ctx.addIssue({ code: 'custom', path: [i], message: 'must be IPv4: the Robot firewall rules Bulwark places filter IPv4 traffic only' });
    }),
  ),
  server_number: z.number().int('must be the server number').positive('must be the server number'),
  /** Discarded while the diversion runs; IPv4 sources only (Robot filters IPv6 only as a whole, with filter_ipv6). */
  rules: FilterRules(HETZNER_MAX_RULES).superRefine((rules: FilterRule[], ctx) => {
    rules.forEach((r, i) =>
      (r.sources ?? []).forEach((s, j) => {
        if (s.includes(':')) ctx.addIssue({ code: 'custom', path: [i, 'sources', j], message: 'must be IPv4: the Robot firewall’s rules match IPv4 sources only' });
      }),
    );
  }),
});
/** The Robot webservice user (not the Robot login). */
export const credentials = z.strictObject({ username: z.string().min(1, 'must be the webservice user').max(100), password: z.string().min(1, 'must be the password').max(200) });
