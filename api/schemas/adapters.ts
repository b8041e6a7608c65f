// Mitigation adapters: where rules are announced, and the settings each type takes.
import { z } from '@hono/zod-openapi';
import { httpUrl } from '../../domain/wire.js';
import { ADAPTER_TYPES, blocksSourcesOnly, INTENT_TYPES } from '../../domain/adapter-types.js';
import { parseAddress } from '../../domain/prefix.js';
import { REPAIR_KINDS } from '../../db/schema.js';
import { bodyId, Timestamp } from './common.js';

const Community = z
  .string()
  .regex(/^\d{1,5}:\d{1,5}$/, 'must look like "65001:666"')
  .refine((c) => c.split(':').every((n) => Number(n) <= 65535), 'must have both halves within 0-65535');

const HostPort = z
  .string()
  .max(300)
  .superRefine((v, ctx) => {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v);
    const port = m ? Number(m[3]) : 0;
    if (!m || port < 1 || port > 65535 || (m[1] && parseAddress(m[1])?.family !== 6)) {
      ctx.addIssue({ code: 'custom', message: 'must be host:port (IPv6 as [addr]:port), port 1-65535' });
    }
  });

export const HttpUrl = httpUrl('put the secret in auth_token');

const TlsCa = z
  .string()
  .max(64_000)
  .regex(/-----BEGIN CERTIFICATE-----/, 'must be PEM: one or more -----BEGIN CERTIFICATE----- blocks')
  .optional()
  .openapi({ description: 'over https: the CA bundle (or the self-signed certificate) the server’s certificate must chain to; never unverified' });

/** Settings shared by the BGP speakers (ExaBGP, GoBGP, BIRD 2, FRR) and webhooks. */
export const BgpAdapterConfig = z
  .strictObject({
    local_as: z.number().int().min(1).max(4294967295).optional(),
    communities: z
      .array(Community)
      .max(16)
      .optional()
      .openapi({ description: 'added to every blackhole announcement', example: ['65001:666'] }),
    next_hop: z
      .string()
      .refine((v) => parseAddress(v)?.family === 4 && !v.startsWith('127.'), 'must be an IPv4 address outside 127.0.0.0/8')
      .optional()
      .openapi({ description: 'IPv4 blackhole next hop (default 192.0.2.1)' }),
    next_hop_v6: z
      .string()
      .refine((v) => parseAddress(v)?.family === 6 && v !== '::1', 'must be an IPv6 address other than ::1')
      .optional()
      .openapi({ description: 'IPv6 blackhole next hop (default 2001:db8::1)' }),
    max_prefix_v4: z.number().int().min(16).max(32).optional().openapi({ description: 'broadest IPv4 prefix allowed (default 24)' }),
    max_prefix_v6: z.number().int().min(32).max(128).optional().openapi({ description: 'broadest IPv6 prefix allowed (default 48)' }),
    timeout_ms: z.number().int().min(100).max(60000).optional().openapi({ description: 'per-call timeout (default 5000)' }),
    tls_ca: TlsCa,
  })
  .openapi('AdapterConfig');

const F5Name = (what: string) => z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, `must be ${what} name (letters, digits, _ . -)`);
/** F5 BIG-IP: a blackhole route per rule, or the target in an AFM address list a drop rule of a firewall policy refers to. */
export const F5AdapterConfig = z
  .strictObject({
    mode: z
      .enum(['route', 'afm'])
      .optional()
      .openapi({
        description: 'route (default): a blackhole route per rule; afm: the target in the address list bulwark_<policy>, dropped by the rule bulwark_drop of config.policy',
      }),
    partition: F5Name('a partition').optional().openapi({ description: 'the partition routes, the policy and the address list are in (default Common)' }),
    policy: F5Name('a firewall policy')
      .optional()
      .openapi({ description: 'afm: the AFM firewall policy the drop rule goes in (made if missing; attach it to a context)', example: 'ddos_global' }),
    tls_ca: TlsCa,
    timeout_ms: z.number().int().min(100).max(60000).optional().openapi({ description: 'per-call timeout (default 5000)' }),
  })
  .superRefine((c, ctx) => {
    if (c.mode === 'afm' && c.policy === undefined)
      ctx.addIssue({ code: 'custom', path: ['policy'], message: 'is required with mode afm: the AFM firewall policy the drop rule goes in' });
    if (c.mode !== 'afm' && c.policy !== undefined) ctx.addIssue({ code: 'custom', path: ['policy'], message: 'is only for mode afm (blackhole routes belong to no policy)' });
  })
  .openapi('F5AdapterConfig');

/** Radware DefensePro, through Cyber Controller. */
export const RadwareAdapterConfig = z
  .strictObject({
    dp_ip: z
      .string()
      .refine((v) => parseAddress(v) !== null, 'must be the DefensePro’s address, as Cyber Controller knows it')
      .openapi({ example: '10.105.192.33' }),
    tls_ca: TlsCa,
    timeout_ms: z.number().int().min(100).max(60000).optional(),
  })
  .openapi('RadwareAdapterConfig');

const CloudflareId = (what: string) => z.string().regex(/^[0-9a-f]{32}$/, `must be the ${what} id (32 hex characters)`);
/** Where the cloudflare adapter blocks: Magic Firewall rules (an account), or IP access rules (a zone). */
export const CloudflareAdapterConfig = z
  .discriminatedUnion('mode', [
    z.strictObject({ mode: z.literal('magic_firewall'), account_id: CloudflareId('account'), timeout_ms: z.number().int().min(100).max(60000).optional() }),
    z.strictObject({ mode: z.literal('ip_access_rules'), zone_id: CloudflareId('zone'), timeout_ms: z.number().int().min(100).max(60000).optional() }),
  ])
  .openapi('CloudflareAdapterConfig', { description: 'magic_firewall: block rules in the account’s Magic Transit ruleset; ip_access_rules: block FlowSpec sources from a zone' });

/** Adapter types whose back end speaks BGP or takes our webhook events. */
export const BGP_LIKE_TYPES = ['exabgp', 'gobgp', 'bird2', 'frr', 'webhook'] as const;

/** A bridge beside a speaker: host:port, or https://host:port when it serves TLS. */
const BridgeEndpoint = z.string().superRefine((v, ctx) => {
  const hostPort = v.startsWith('https://') ? v.slice('https://'.length).replace(/\/$/, '') : v;
  if (!HostPort.safeParse(hostPort).success) ctx.addIssue({ code: 'custom', message: 'must be host:port, or https://host:port for a bridge serving TLS (IPv6 as [addr]:port)' });
});
/** Speakers are reached at host:port (bridge or gRPC); HTTP back ends by URL. */
const ENDPOINT_SCHEMA: Record<(typeof ADAPTER_TYPES)[number], z.ZodType<string>> = {
  exabgp: BridgeEndpoint,
  gobgp: HostPort,
  bird2: BridgeEndpoint,
  frr: BridgeEndpoint,
  webhook: HttpUrl,
  cloudflare: HttpUrl,
  radware: HttpUrl,
  f5: HttpUrl,
};

export const SaveAdapterBody = z
  .strictObject({
    id: bodyId().optional().openapi({ description: 'update this adapter instead of creating one' }),
    adapter_type: z.enum(ADAPTER_TYPES).openapi({ example: 'exabgp' }),
    name: z.string().trim().min(1).max(100).openapi({ example: 'Core Router BGP' }),
    endpoint: z.string().min(1).max(2000).openapi({ description: 'URL or host:port', example: '10.0.0.1:5000' }),
    auth_token: z.string().max(4096).nullable().optional().openapi({ description: 'stored encrypted, never returned; omit to keep the current one, null to clear' }),
    config: z.record(z.string(), z.unknown()).optional(),
    capabilities: z.array(z.enum(INTENT_TYPES)).min(1).max(3).optional(),
  })
  .superRefine((body, ctx) => {
    const endpoint = ENDPOINT_SCHEMA[body.adapter_type].safeParse(body.endpoint);
    if (!endpoint.success) ctx.addIssue({ code: 'custom', path: ['endpoint'], message: endpoint.error.issues[0]!.message });
    const configSchema = (BGP_LIKE_TYPES as readonly string[]).includes(body.adapter_type)
      ? BgpAdapterConfig
      : body.adapter_type === 'f5'
        ? F5AdapterConfig
        : body.adapter_type === 'cloudflare'
          ? CloudflareAdapterConfig
          : body.adapter_type === 'radware'
            ? RadwareAdapterConfig
            : null;
    if (body.adapter_type === 'radware' && body.config === undefined)
      ctx.addIssue({ code: 'custom', path: ['config'], message: 'is required: {"dp_ip": "<the DefensePro as Cyber Controller knows it>"}' });
    if ((body.adapter_type === 'radware' || body.adapter_type === 'f5') && body.capabilities?.includes('flowspec'))
      ctx.addIssue({
        code: 'custom',
        path: ['capabilities'],
        message: `the ${body.adapter_type} adapter blocks blackhole targets only; FlowSpec goes through exabgp, gobgp or bird2`,
      });
    if (blocksSourcesOnly(body.adapter_type, body.config) && body.capabilities?.includes('blackhole')) {
      ctx.addIssue({
        code: 'custom',
        path: ['capabilities'],
        message: 'ip_access_rules mode blocks FlowSpec rules’ sources from the zone, never a target: leave blackhole out (or use magic_firewall)',
      });
    }
    if (body.adapter_type === 'cloudflare' && body.config === undefined)
      ctx.addIssue({ code: 'custom', path: ['config'], message: 'is required: {"mode": "magic_firewall", "account_id"} or {"mode": "ip_access_rules", "zone_id"}' });
    if (configSchema && body.config !== undefined) {
      const r = configSchema.safeParse(body.config);
      // The config's own issues, placed under config (so they read "config.next_hop ...").
      for (const issue of r.error?.issues ?? []) ctx.addIssue({ ...issue, path: ['config', ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
    }
    if (body.adapter_type === 'frr' && body.capabilities?.includes('flowspec')) {
      ctx.addIssue({ code: 'custom', path: ['capabilities'], message: 'FRR cannot originate FlowSpec; use exabgp, gobgp or bird2' });
    }
  })
  .openapi('SaveAdapter');

export const AdapterSchema = z
  .object({
    id: z.number().int(),
    adapter_type: z.enum(ADAPTER_TYPES),
    name: z.string(),
    endpoint: z.string(),
    status: z.string().openapi({ example: 'configured' }),
    auth_token_set: z.boolean().openapi({ description: 'whether a token is stored (the token itself is never returned)' }),
    config: z.record(z.string(), z.unknown()),
    capabilities: z.array(z.enum(INTENT_TYPES)),
    active_rules: z.number().int(),
    last_reconciled_at: Timestamp.openapi({ description: 'when the reconciler last compared the back end with the rules (every type but webhook)' }),
    reconcile_error: z.string().nullable().openapi({ description: 'what went wrong then, if anything' }),
    recent_repairs: z
      .array(
        z.object({
          at: z.string(),
          kind: z.enum(REPAIR_KINDS),
          rule_id: z.number().int().nullable().openapi({ description: 'the rule whose route it was; null for a route no rule of this adapter announced' }),
          route: z.string(),
        }),
      )
      .openapi({ description: "the reconciler's last repairs at this speaker, newest first" }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Adapter');
