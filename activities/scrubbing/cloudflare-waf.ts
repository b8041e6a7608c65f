// Cloudflare WAF: no diversion (the zone's traffic already passes Cloudflare); while the
// diversion runs, each configured source gets an IP access rule on the zone with the
// configured mode (block or a challenge), and withdrawing deletes those rules again.
// Endpoints (https://developers.cloudflare.com/api/resources/firewall/subresources/access_rules/):
//   POST   /zones/{z}/firewall/access_rules/rules {mode, configuration: {target, value}, notes}
//   GET    /zones/{z}/firewall/access_rules/rules?notes=…&page=…&per_page=…
//   PATCH  /zones/{z}/firewall/access_rules/rules/{id} {mode}
//   DELETE /zones/{z}/firewall/access_rules/rules/{id}
//   GET    /user/tokens/verify and GET /zones/{z} (test)
// Our rules carry `${tag}: scrubbing diversion` in their notes; only those are ever changed
// or deleted, so the zone's own rules stay as they are.
import type { ScrubbingConfig, ScrubbingCredentials } from '../../domain/scrubbing.js';
import { formatPrefix, mustParsePrefix, parsePrefix, prefixesOverlap, type Prefix } from '../../domain/prefix.js';
import { cloudflareApi } from './cloudflare-api.js';
import { ProviderError, type ProviderSettings, type ScrubbingProvider } from './types.js';

interface AccessRule {
  id: string;
  mode: string;
  configuration: { target: string; value: string };
  notes?: string;
}

const PER_PAGE = 100;
/** A guard against an API that never ends its list (100 pages of 100 are far beyond any zone we mark). */
const MAX_PAGES = 100;

/** A source as an access rule's configuration: a single address is `ip`/`ip6`, anything wider `ip_range`. */
function target(p: Prefix): { target: 'ip' | 'ip6' | 'ip_range'; value: string } {
  const single = p.length === (p.family === 4 ? 32 : 128);
  const text = formatPrefix(p);
  if (!single) return { target: 'ip_range', value: text };
  return { target: p.family === 4 ? 'ip' : 'ip6', value: text.slice(0, text.indexOf('/')) };
}
/** The rule's value as we spell it (Cloudflare may write IPv6 differently), or null for non-IP rules. */
function valueKey(rule: AccessRule): string | null {
  const r = parsePrefix(rule.configuration?.value ?? '');
  return r.ok ? formatPrefix(r.prefix) : null;
}
const isDuplicate = (err: unknown) => err instanceof ProviderError && /\b10009\b|duplicate_of_existing/.test(err.message);

export function createWafProvider(s: ProviderSettings<ScrubbingConfig<'cloudflare_waf'>, ScrubbingCredentials<'cloudflare_waf'>>): ScrubbingProvider {
  const call = cloudflareApi(s, s.credentials.api_token);
  const zone = `/zones/${encodeURIComponent(s.config.zone_id)}`;
  const rulesPath = `${zone}/firewall/access_rules/rules`;
  const notes = `${s.tag}: scrubbing diversion`;
  const sources = s.config.sources.map((text) => ({ text, prefix: mustParsePrefix(text), key: formatPrefix(mustParsePrefix(text)) }));

  /** Every rule the query finds, page by page (a short page is the last). */
  async function list(query: Record<string, string>): Promise<AccessRule[]> {
    const all: AccessRule[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const q = new URLSearchParams({ ...query, page: String(page), per_page: String(PER_PAGE) });
      const rules = (await call<AccessRule[] | null>('GET', `${rulesPath}?${q}`)) ?? [];
      all.push(...rules);
      if (rules.length < PER_PAGE) return all;
    }
    throw new ProviderError(`Cloudflare zone ${s.config.zone_id} lists more than ${MAX_PAGES * PER_PAGE} access rules for the query ${JSON.stringify(query)}`, false);
  }
  /** Our rules: the notes search is a case-insensitive substring match ("bulwark-7" finds "bulwark-70"), so check exactly. */
  const ours = async () => (await list({ notes: s.tag })).filter((r) => r.notes === notes);

  async function create(source: (typeof sources)[number]) {
    try {
      await call('POST', rulesPath, { mode: s.config.mode, configuration: target(source.prefix), notes });
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      // A rule for this address exists: ours from an earlier try (fine), or the zone's own (never touched).
      const existing = (await list({ 'configuration.value': target(source.prefix).value })).find((r) => valueKey(r) === source.key);
      if (!existing) throw new ProviderError(`Cloudflare says zone ${s.config.zone_id} has an access rule for ${source.text} already, but does not list it yet`);
      if (existing.notes !== notes)
        throw new ProviderError(`Cloudflare zone ${s.config.zone_id} has its own access rule for ${source.text} (mode ${existing.mode}, notes "${existing.notes ?? ''}"); Bulwark does not change rules it did not make: remove it or drop ${source.text} from config.sources`, false);
    }
  }

  return {
    async enable(context) {
      // Defence in depth: the diversion's start refuses these already; a blocked allowlisted address must never happen.
      for (const a of context.allowlisted) {
        const hit = sources.find((src) => prefixesOverlap(mustParsePrefix(a), src.prefix));
        if (hit) throw new ProviderError(`refusing to block ${hit.text} at Cloudflare: it overlaps the allowlisted ${a}`, false);
      }
      const mine = await ours();
      const byKey = new Map(mine.map((r) => [valueKey(r), r]));
      for (const src of sources) {
        const rule = byKey.get(src.key);
        if (!rule) await create(src);
        else if (rule.mode !== s.config.mode) await call('PATCH', `${rulesPath}/${encodeURIComponent(rule.id)}`, { mode: s.config.mode });
      }
      // Ours for sources no longer configured (the config changed since): not part of this diversion.
      const wanted = new Set(sources.map((src) => src.key));
      for (const rule of mine) if (!wanted.has(valueKey(rule) ?? '')) await remove(rule);
    },
    async disable() {
      for (const rule of await ours()) await remove(rule);
    },
    async status() {
      const mine = await ours();
      const present = sources.filter((src) => mine.some((r) => valueKey(r) === src.key && r.mode === s.config.mode));
      return {
        state: present.length === sources.length ? 'on' : present.length === 0 ? 'off' : 'partial',
        detail: present.length === 0 ? `no ${s.config.mode} rule of ours on zone ${s.config.zone_id}` : `${s.config.mode}: ${present.map((p) => p.text).join(', ')}${present.length < sources.length ? ` (${present.length} of ${sources.length})` : ''}`,
      };
    },
    async test() {
      const t0 = performance.now();
      const token = await call<{ status?: string }>('GET', '/user/tokens/verify');
      const latencyMs = performance.now() - t0;
      const z = await call<{ name?: string; status?: string }>('GET', zone);
      return { latencyMs, detail: `token ${token?.status ?? 'verified'}; zone ${z?.name ?? s.config.zone_id} (${z?.status ?? 'found'})` };
    },
  };

  async function remove(rule: AccessRule) {
    // Only ever a rule whose notes carry our tag (the caller found it so); gone already is fine.
    if (rule.notes !== notes) throw new ProviderError(`refusing to delete Cloudflare access rule ${rule.id}: not Bulwark's`, false);
    try {
      await call('DELETE', `${rulesPath}/${encodeURIComponent(rule.id)}`);
    } catch (err) {
      if (!(err instanceof ProviderError && /HTTP 404/.test(err.message))) throw err;
    }
  }
}
