// Cloudflare WAF IP access rules through the provider itself, against a local stand-in of
// Cloudflare's API: one rule per configured source with the configured mode and our tag in
// its notes, the zone's own rules (look-alike notes included) left byte-for-byte, idempotent
// repeats and a retry after a half-done start, pagination, allowlisted sources refused,
// ranges Cloudflare cannot hold refused at save time, refused tokens and zones, a failing
// API, and rules Cloudflare applies late.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createWafProvider } from '../activities/scrubbing/cloudflare-waf.js';
import { config as configSchema } from '../domain/scrubbing/cloudflare-waf.js';
import { refusal } from './support/expect-error.js';
import { startCloudflareWafApi, type CloudflareWafApi } from './support/cloudflare-waf-api.js';

const TAG = 'bulwark-7';
const NOTES = `${TAG}: scrubbing diversion`;
const SOURCES = ['198.51.100.23', '100.64.0.0/16', '2001:db8:bad::/48', '2001:db8::7/128'];
/** The zone's own rules, one with notes that a notes search for our tag also finds. */
const USER_RULES = [
  { mode: 'whitelist', target: 'ip', value: '192.0.2.10', notes: 'office' },
  { mode: 'block', target: 'ip_range', value: '203.0.113.0/24', notes: 'bulwark-70: scrubbing diversion' },
  { mode: 'challenge', target: 'ip6', value: '2001:db8:1::1', notes: '' },
];

let cf: CloudflareWafApi;
beforeAll(async () => {
  cf = await startCloudflareWafApi();
});
afterAll(async () => {
  await cf?.close();
});
beforeEach(() => {
  cf.applyAfterReads = 0;
  cf.failNext(0);
});

function provider(config: Record<string, unknown>, apiToken = cf.apiToken) {
  return createWafProvider({ baseUrl: cf.baseUrl, timeoutMs: 2000, targets: { allowPrivate: true }, tag: TAG, config: configSchema.parse(config), credentials: { api_token: apiToken } });
}
/** An integration on a fresh zone holding `userRules`. */
function made(extra: Record<string, unknown> = {}, userRules = USER_RULES) {
  const zone_id = cf.addZone(userRules);
  const config = { prefixes: ['203.0.113.10/32'], zone_id, sources: SOURCES, ...extra };
  return { zone: zone_id, config, p: provider(config) };
}
const ours = (zone: string) => cf.rules(zone).filter((r) => r.notes === NOTES);
const summary = (zone: string) =>
  ours(zone)
    .map((r) => `${r.mode} ${r.configuration.target} ${r.configuration.value}`)
    .sort();

describe('cloudflare_waf provider', () => {
  it('adds one tagged rule per source with the configured mode, then removes exactly those', async () => {
    const { zone, config, p } = made();
    const before = cf.rules(zone);
    expect((await p.test()).detail).toMatch(/token active; zone zone-\w+\.example\.com \(active\)/);
    expect((await p.status()).state).toBe('off');

    await p.enable({ allowlisted: [] });
    // Single addresses are `ip`/`ip6` without a length; ranges `ip_range`.
    expect(summary(zone)).toEqual(['block ip 198.51.100.23', 'block ip6 2001:db8::7', 'block ip_range 100.64.0.0/16', 'block ip_range 2001:db8:bad::/48']);
    expect(cf.rules(zone).slice(0, before.length)).toEqual(before);
    expect(cf.rules(zone)).toHaveLength(before.length + SOURCES.length);
    expect(cf.diverting(config)).toBe('on');
    expect(await p.status()).toEqual({ state: 'on', detail: `block: ${SOURCES.join(', ')}` });

    await p.disable();
    expect(cf.rules(zone)).toEqual(before); // the look-alike "bulwark-70" rule too
    expect(cf.diverting(config)).toBe('off');
    expect((await p.status()).state).toBe('off');
  });

  it('is idempotent: a second enable creates nothing, a second disable deletes nothing', async () => {
    const { zone, p } = made();
    await p.enable({ allowlisted: [] });
    const after = cf.rules(zone);
    const n = cf.requests.length;
    await p.enable({ allowlisted: [] });
    expect(cf.requests.slice(n).filter((r) => !r.startsWith('GET '))).toEqual([]);
    expect(cf.rules(zone)).toEqual(after);

    await p.disable();
    const m = cf.requests.length;
    await p.disable();
    expect(cf.requests.slice(m).filter((r) => !r.startsWith('GET '))).toEqual([]);
    expect(cf.rules(zone)).toHaveLength(USER_RULES.length);
  });

  it('finishes a half-done start: rules of ours already there are kept, a stale one is removed, a changed mode is switched', async () => {
    const { zone, p } = made({ mode: 'managed_challenge' }, [
      ...USER_RULES,
      { mode: 'managed_challenge', target: 'ip', value: '198.51.100.23', notes: NOTES },
      { mode: 'block', target: 'ip_range', value: '100.64.0.0/16', notes: NOTES },
      { mode: 'block', target: 'ip', value: '198.51.100.99', notes: NOTES }, // a source no longer configured
    ]);
    const kept = cf.rules(zone).find((r) => r.configuration.value === '198.51.100.23')!;
    expect((await p.status()).state).toBe('partial'); // the block rule does not do what the config asks
    await p.enable({ allowlisted: [] });
    expect(summary(zone)).toEqual(['managed_challenge ip 198.51.100.23', 'managed_challenge ip6 2001:db8::7', 'managed_challenge ip_range 100.64.0.0/16', 'managed_challenge ip_range 2001:db8:bad::/48']);
    expect(cf.rules(zone).find((r) => r.id === kept.id)).toEqual(kept);
    expect((await p.status()).state).toBe('on');
  });

  it('treats a rule Cloudflare calls a duplicate as ours once it shows, and refuses to take over the zone’s own', async () => {
    // Rules made by a first try show only after some reads: a retry's POST is told "duplicate".
    const { zone, config, p } = made();
    cf.applyAfterReads = 3;
    await p.enable({ allowlisted: [] });
    expect(ours(zone)).toEqual([]);
    const notYet = await refusal(p.enable({ allowlisted: [] }));
    expect(notYet.retryable).toBe(true);
    expect(notYet.message).toContain('does not list it yet');
    await p.enable({ allowlisted: [] });
    expect(summary(zone)).toHaveLength(SOURCES.length);
    expect(cf.diverting(config)).toBe('on');

    // The zone has its own rule for a configured source: left alone, and the start refused plainly.
    const other = made({}, [...USER_RULES, { mode: 'whitelist', target: 'ip', value: '198.51.100.23', notes: 'partner' }]);
    const before = cf.rules(other.zone);
    const err = await refusal(other.p.enable({ allowlisted: [] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('its own access rule for 198.51.100.23 (mode whitelist, notes "partner")');
    expect(cf.rules(other.zone).slice(0, before.length)).toEqual(before);
  });

  it('refuses, without a request, to block a source that overlaps an allowlisted prefix', async () => {
    const { zone, p } = made();
    const n = cf.requests.length;
    const err = await refusal(p.enable({ allowlisted: ['192.0.2.0/24', '2001:db8:bad:1::/64'] }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('2001:db8:bad::/48');
    expect(err.message).toContain('2001:db8:bad:1::/64');
    expect(cf.requests.length).toBe(n);
    expect(ours(zone)).toEqual([]);
    // Allowlisted prefixes elsewhere do not stand in the way.
    await p.enable({ allowlisted: ['192.0.2.0/24', '2001:db8:7::/48'] });
    expect((await p.status()).state).toBe('on');
  });

  it('refuses at save time sources Cloudflare cannot hold as one rule, naming config.sources', () => {
    const base = { prefixes: ['203.0.113.10/32'], zone_id: '0123456789abcdef0123456789abcdef' };
    for (const bad of ['10.0.0.0/8', '192.0.2.0/23', '2001:db8::/56', '2001:db8::/31']) {
      const r = configSchema.safeParse({ ...base, sources: ['198.51.100.23', bad] });
      expect(r.success, bad).toBe(false);
      expect(r.error!.issues[0]!.path, bad).toEqual(['sources', 1]);
      expect(r.error!.issues[0]!.message, bad).toContain('Cloudflare IP access rules take single addresses or');
    }
    expect(configSchema.safeParse({ ...base, sources: ['198.51.100.23', '198.51.100.23/32'] }).success).toBe(false);
    expect(configSchema.parse({ ...base, sources: ['10.1.0.0/16', '10.2.3.0/24', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:1:2::/64', '2001:db8::1/128'] }).mode).toBe('block');
  });

  it('reads every page of a long list and keeps look-alike rules', async () => {
    // 150 rules whose notes a search for "bulwark-7" also finds: ours are on the second page.
    const lookAlikes = Array.from({ length: 150 }, (_, i) => ({ mode: 'block', target: 'ip', value: `10.7.${i >> 8}.${i & 255}`, notes: `bulwark-7${i}: scrubbing diversion` }));
    const { zone, p } = made({}, lookAlikes);
    await p.enable({ allowlisted: [] });
    const n = cf.requests.length;
    expect((await p.status()).state).toBe('on');
    expect(cf.requests.slice(n).some((r) => r.includes('page=2'))).toBe(true);
    await p.disable();
    expect(cf.rules(zone).map((r) => r.notes)).toEqual(lookAlikes.map((r) => r.notes));
  });

  it('says partial when some of our rules were deleted in the dashboard, and puts them back', async () => {
    const { zone, config, p } = made();
    await p.enable({ allowlisted: [] });
    cf.deleteRule(zone, ours(zone)[0]!.id);
    expect(cf.diverting(config)).toBe('partial');
    expect(await p.status()).toMatchObject({ state: 'partial', detail: expect.stringContaining(`(3 of 4)`) });
    cf.turnOff(config);
    expect((await p.status()).state).toBe('off');
    await p.enable({ allowlisted: [] });
    expect((await p.status()).state).toBe('on');
  });

  it('checks the token and the zone as Cloudflare does, never retrying a refusal', async () => {
    const { config } = made();
    const wrong = provider(config, 'cf-waf-wrong-token-000000000000');
    for (const call of [() => wrong.enable({ allowlisted: [] }), () => wrong.disable(), () => wrong.status(), () => wrong.test()]) {
      const err = await refusal(call());
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/HTTP 40[13] \((10000 Authentication error|1000 Invalid API Token)\)/);
    }
    const elsewhere = provider({ ...config, zone_id: 'ffffffffffffffffffffffffffffffff' });
    const err = await refusal(elsewhere.test());
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('9109 Unauthorized to access requested resource');
  });

  it('lets a retry mend a failing API (5xx, timeouts) and leaves nothing half-marked', async () => {
    const { zone, p } = made();
    cf.failNext(1, 503);
    const err = await refusal(p.enable({ allowlisted: [] }));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('HTTP 503');
    cf.failNext(1, 0);
    expect((await refusal(provider({ prefixes: ['203.0.113.10/32'], zone_id: zone, sources: SOURCES }).status())).retryable).toBe(true);
    cf.failNext(0);
    await p.enable({ allowlisted: [] });
    expect(summary(zone)).toHaveLength(SOURCES.length);
  });

  it('says on only once Cloudflare lists every rule, and off only once it dropped them all', async () => {
    const { config, p } = made();
    cf.applyAfterReads = 2;
    await p.enable({ allowlisted: [] });
    expect(cf.diverting(config)).toBe('off');
    expect((await p.status()).state).toBe('off'); // read 1
    expect((await p.status()).state).toBe('on'); // read 2: applied
    await p.disable();
    expect((await p.status()).state).toBe('on');
    expect((await p.status()).state).toBe('off');
    expect(cf.diverting(config)).toBe('off');
  });
});
