// The kinds of mitigation back end and what each can announce. Pure: the API, the rule-request path and the worker's adapter registry
// (activities/adapters/) share this one answer.

export const ADAPTER_TYPES = ['exabgp', 'gobgp', 'cloudflare', 'webhook', 'bird2', 'frr', 'radware', 'f5'] as const;
export type AdapterType = (typeof ADAPTER_TYPES)[number];

export const INTENT_TYPES = ['blackhole', 'flowspec', 'scrubbing'] as const;
export type IntentType = (typeof INTENT_TYPES)[number];

/**
 * Types whose endpoint is an HTTP API a tenant names (an appliance's or a cloud's, or the
 * tenant's own receiver): the deployment's target policy applies (domain/http-targets.ts).
 * BGP speakers' bridges live on the operator's own network, where private addresses are
 * the rule; link-local is refused for every type.
 */
export const HTTP_INTEGRATION_TYPES: readonly AdapterType[] = ['webhook', 'cloudflare', 'radware', 'f5'];

/** Types whose back end can say what it announces, so a reconciler keeps it equal to the rules. */
export const RECONCILED_ADAPTER_TYPES: readonly AdapterType[] = ['exabgp', 'gobgp', 'bird2', 'frr', 'f5', 'cloudflare', 'radware'];

/** What an adapter announces when it is saved without `capabilities`. */
export const DEFAULT_CAPABILITIES: Record<AdapterType, IntentType[]> = {
  exabgp: ['blackhole', 'flowspec'],
  gobgp: ['blackhole', 'flowspec'],
  bird2: ['blackhole', 'flowspec'],
  frr: ['blackhole'],
  webhook: ['blackhole', 'flowspec'],
  cloudflare: ['blackhole', 'flowspec'],
  radware: ['blackhole'],
  f5: ['blackhole'],
};

/**
 * Whether a cloudflare adapter blocks sources from a zone (IP access rules), where only a
 * FlowSpec rule's source can be blocked: a blackhole (a target) has no meaning there.
 */
export const blocksSourcesOnly = (adapterType: AdapterType, config: AdapterConfig | undefined) => adapterType === 'cloudflare' && config?.mode === 'ip_access_rules';

/** What an adapter announces when it is saved without `capabilities`, as its type and config allow. */
export function defaultCapabilities(adapterType: AdapterType, config: AdapterConfig | undefined): IntentType[] {
  return blocksSourcesOnly(adapterType, config) ? ['flowspec'] : DEFAULT_CAPABILITIES[adapterType];
}

/** Adapter-specific settings as stored (snake_case), validated by the API (api/schemas/adapters.ts). */
export interface AdapterConfig {
  local_as?: number;
  communities?: string[];
  next_hop?: string;
  next_hop_v6?: string;
  max_prefix_v4?: number;
  max_prefix_v6?: number;
  timeout_ms?: number;
  /** PEM CA bundle that signed a bridge's TLS certificate (endpoint https://host:port). */
  tls_ca?: string;
  [key: string]: unknown;
}

export type AdapterRefusal = { code: 'unsupported'; reason: string };

/** Why this adapter cannot announce `intentType`, or null when it can. */
export function adapterRefusal(
  adapter: { id: number; adapterType: AdapterType; capabilities: readonly IntentType[]; config?: AdapterConfig },
  intentType: IntentType,
): AdapterRefusal | null {
  // An adapter saved before its capabilities were checked against its mode may still list blackhole.
  if (intentType === 'blackhole' && blocksSourcesOnly(adapter.adapterType, adapter.config)) {
    return {
      code: 'unsupported',
      reason: `adapter ${adapter.id} blocks sources from a Cloudflare zone (ip_access_rules): FlowSpec rules with a source only, not blackhole; use magic_firewall to block a target`,
    };
  }
  if (!adapter.capabilities.includes(intentType)) {
    return { code: 'unsupported', reason: `adapter ${adapter.id} supports ${adapter.capabilities.join(', ')}, not ${intentType}` };
  }
  return null;
}
