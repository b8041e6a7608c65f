// The operator console in a real browser (Debian's chromium, driven by playwright-core)
// against the real stack and the BGP lab: sign-in, an incident appearing live, a rule
// withdrawn from the console and gone at the lab's router, a bad allowlist value shown
// beside its field, CSRF and another workspace's ids refused. Screenshots of each page go
// to test/output/console/ (README shows the main ones, from docs/).
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentApiClient } from '../agent/api-client.js';
import { PcapUploader } from '../agent/pcap-uploader.js';
import { dnsResponse, ipv4, pcapFile, udp } from './support/packets.js';
import { routerRib, startBgpLab, waitForRib, type BgpLabInfo } from './support/bgp-lab.js';
import { request, startStack, type Caller, type Stack } from './support/stack.js';
import { startVultrApi, type VultrApi } from './support/vultr-api.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SHOTS = join(dirname(fileURLToPath(import.meta.url)), 'output', 'console');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: Stack;
let lab: BgpLabInfo & { stop(): Promise<void> };
let browser: Browser;
let tenant: { id: number; token: string; call: Caller };
let adapterId: number;
let hooks: WebhookReceiver;
let vultr: VultrApi | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [lab, stack, browser] = await Promise.all([startBgpLab(), startStack(inject('env')), chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })]);
  tenant = await stack.tenant();
  hooks = await startWebhookReceiver();
  const adapter = await tenant.call('POST', '/api/v1/mitigation/adapters', {
    adapter_type: 'gobgp',
    name: 'lab gobgp',
    endpoint: lab.gobgpSpeaker.endpoint,
    config: { local_as: 65002 },
  });
  expect(adapter.status, JSON.stringify(adapter.body)).toBe(200);
  adapterId = adapter.body.adapter.id;
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await hooks?.close();
  await vultr?.close();
  await stack?.stop();
  await lab?.stop();
});

async function signedIn(viewport = { width: 1280, height: 860 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL: stack.baseUrl, viewport, colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto('/console');
  await expect.poll(() => page.url()).toMatch(/\/console\/signin$/);
  await page.getByLabel('Deploy token').fill(tenant.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);
  return { context, page };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('the operator console', () => {
  it('refuses a wrong token beside the field, and signs in with a session cookie the page cannot read', async () => {
    const context = await browser.newContext({ baseURL: stack.baseUrl, colorScheme: 'dark' });
    const page = await context.newPage();
    const csp: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && csp.push(m.text()));
    await page.goto('/console/signin');
    await page.getByLabel('Deploy token').fill('0'.repeat(64));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Unknown or revoked deploy token');
    expect(await page.getByLabel('Deploy token').getAttribute('aria-invalid')).toBe('true');
    await shot(page, 'signin-error');

    await page.getByLabel('Deploy token').fill(tenant.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console$/);
    expect(page.url()).not.toContain(tenant.token);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'bulwark_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    expect(session!.value).not.toBe(tenant.token);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // The page's script and styles load under the strict policy: nothing refused.
    await page.waitForFunction(() => 'htmx' in window);
    expect(csp).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/signin$/);
    await page.goto('/console');
    await page.waitForURL(/\/console\/signin$/);
    await context.close();
  }, 60_000);

  it('shows an incident appear live, with its figures, while the agent reports it', async () => {
    const triggered = await tenant.call('POST', '/api/v1/runbooks', {
      name: 'Log big floods',
      trigger_conditions: { min_pps: 2_000_000 },
      steps: [{ action_type: 'log', action_config: { message: 'flood {{incident.target}}' } }],
    });
    expect(triggered.status, JSON.stringify(triggered.body)).toBe(200);
    const { context, page } = await signedIn();
    await expect.poll(() => page.getByText('No open incidents.').count()).toBe(1);
    const node = await tenant.call('POST', '/api/v1/nodes', { name: 'edge-1', ip: '203.0.113.30' });
    const agent = (path: string, body: unknown) => request(stack.baseUrl, 'POST', `/api/v1/agent${path}`, body, { authorization: `Bearer ${node.body.api_key}` });
    const opened = await agent('/incidents', { ref: 'console-1', started_at: new Date().toISOString(), pps: 2_500_000, bps: 9.6e9, classification: { family: 'udp_flood' } });
    expect(opened.status, JSON.stringify(opened.body)).toBeLessThan(300);
    // No reload: the live panel polls.
    const row = page.getByRole('row', { name: new RegExp(`#${opened.body.incident.id}`) });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    expect(await row.textContent()).toMatch(/2\.50 Mpps/);
    expect(await row.textContent()).toMatch(/9\.60 Gbps/);
    await shot(page, 'overview');

    // The agent's capture of the flood, uploaded as the agent does.
    const spool = mkdtempSync(join(tmpdir(), 'bwk-console-spool-'));
    const client = new AgentApiClient({ baseUrl: stack.baseUrl, nodeKey: node.body.api_key });
    const uploader = new PcapUploader(spool, client, { chunkBytes: 64 * 1024, log: () => undefined });
    const sources = ['175.45.176.9', '31.6.16.15', '198.51.100.7'];
    const capture = pcapFile(Array.from({ length: 600 }, (_, i) => ipv4({ src: sources[i % 3]!, dst: '203.0.113.30', protocol: 17 }, udp(53, 40000 + i, dnsResponse(1200)))));
    uploader.add('console-1', capture, new Date());
    await uploader.drained();

    await row.getByRole('link').click();
    await page.waitForURL(new RegExp(`/console/incidents/${opened.body.incident.id}$`));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(`Incident #${opened.body.incident.id}`);
    expect(await page.getByRole('link', { name: `incident:${opened.body.incident.id}` }).getAttribute('href')).toContain('/namespaces/default/workflows/incident%3A');
    // The runbook the incident triggered, step by step.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByRole('region', { name: /^Execution \d+$/ }).textContent();
        },
        { timeout: 15_000 },
      )
      .toMatch(/succeeded.*flood 203\.0\.113\.30/);
    await shot(page, 'incident');

    // Its forensic analysis, and the raw file as uploaded.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download' }).click()]);
    const saved = join(spool, 'downloaded.pcap');
    await download.saveAs(saved);
    expect(readFileSync(saved).equals(capture)).toBe(true);
    await page.getByRole('link', { name: 'Analysis' }).click();
    await page.waitForURL(/\/console\/pcaps\/\d+/);
    expect(await page.getByRole('main').textContent()).toMatch(/dns.*reflection|DNS/i);
    expect(await page.getByRole('cell', { name: '175.45.176.9', exact: true }).count()).toBe(1);
    expect(await page.getByRole('region', { name: 'Recommended mitigation' }).textContent()).toMatch(/flowspec/);
    await shot(page, 'capture');
    await agent('/incidents/console-1/resolve', {});
    await context.close();
  }, 60_000);

  it('withdraws a rule after a confirmation, and the route is gone at the router', async () => {
    const prefix = '2001:db8:c0::1/128';
    const created = await tenant.call('POST', '/api/v1/mitigation/rules', { target_ip: prefix, intent_type: 'blackhole', adapter_id: adapterId, ttl: 0 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    await waitForRib(lab, 'ipv6', (rib) => rib.some((e) => e.prefix === prefix), 5000);

    const { context, page } = await signedIn({ width: 390, height: 844 });
    await page.getByRole('link', { name: `Withdraw rule ${created.body.rule.id} (${prefix})` }).click();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(`Withdraw rule #${created.body.rule.id}?`);
    await shot(page, 'withdraw-confirm-phone');
    // Not yet: the confirmation page changes nothing.
    expect((await routerRib(lab, 'ipv6')).some((e) => e.prefix === prefix)).toBe(true);
    await page.getByRole('button', { name: `Withdraw rule #${created.body.rule.id}` }).click();
    await page.waitForURL(/\/console\?notice=/);
    expect(await page.getByRole('status').textContent()).toContain('withdrawn: the route is gone');
    expect((await routerRib(lab, 'ipv6')).some((e) => e.prefix === prefix)).toBe(false);
    const rule = await tenant.call('GET', `/api/v1/mitigation/rules/${created.body.rule.id}`);
    expect(rule.body.rule).toMatchObject({ status: 'withdrawn', status_reason: 'withdrawn from the console' });
    await shot(page, 'overview-phone');
    await context.close();
  }, 60_000);

  it('shows the API refusal of a bad allowlist value beside the field, and adds a good one', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Allowlist' }).click();
    await page.getByLabel('Address or prefix').fill('203.0.113.300');
    await page.getByRole('button', { name: 'Add' }).click();
    const field = page.getByLabel('Address or prefix');
    await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').textContent()).toMatch(/^ip_address: .*203\.0\.113\.300.* not a valid IPv4 or IPv6 address/);
    await shot(page, 'allowlist-error');
    await field.fill('198.51.100.0/24');
    await page.getByLabel('Label').fill('monitoring');
    await page.getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => page.getByRole('cell', { name: '198.51.100.0/24', exact: true }).count()).toBe(1);
    const listed = await tenant.call('GET', '/api/v1/allowlist');
    expect(listed.body.entries.map((e: { ip_address: string }) => e.ip_address)).toContain('198.51.100.0/24');
    await context.close();
  }, 60_000);

  it('runs a runbook by hand, shows the broken step, and re-runs it from that step once fixed', async () => {
    const made = await tenant.call('POST', '/api/v1/runbooks', {
      name: 'Page the on-call',
      trigger_conditions: { min_pps: 1_000_000 },
      steps: [
        { action_type: 'log', action_config: { message: 'starting' } },
        { action_type: 'webhook', action_config: { url: `${hooks.url}?n=1`, body: { incident: '{{incident.id}}' } } },
        { action_type: 'log', action_config: { message: 'done' } },
      ],
    });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const id = made.body.runbook.id;
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Runbooks' }).click();
    await page.getByRole('link', { name: 'Page the on-call' }).click();
    hooks.failNext(1, 400);
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(new RegExp(`/console/runbooks/${id}\\?notice=`));
    // The execution's panel refreshes itself until the run ends.
    const first = page.getByRole('region', { name: /^Execution \d+$/ }).first();
    await expect.poll(() => first.textContent(), { timeout: 15_000 }).toMatch(/failed/);
    expect(await first.textContent()).toMatch(/step 2 \(webhook\).*HTTP 400/);
    expect(await first.getByRole('link', { name: /^workflow runbook/ }).getAttribute('href')).toMatch(/\/namespaces\/default\/workflows\//);
    await shot(page, 'runbook-failed');

    // The on-call engineer fixes the step (through the API here) and re-runs it from the console.
    const steps = (await tenant.call('GET', `/api/v1/runbooks/${id}`)).body.runbook.steps;
    steps[1].action_config.url = hooks.url;
    expect((await tenant.call('PATCH', `/api/v1/runbooks/${id}`, { steps })).status).toBe(200);
    const before = hooks.received.length;
    await first.getByRole('button', { name: 'Re-run from the failed step' }).click();
    await page.waitForURL(/notice=/);
    expect(await page.getByRole('status').textContent()).toMatch(/re-runs #\d+ from step 2/);
    const second = page.getByRole('region', { name: /^Execution \d+$/ }).first();
    await expect.poll(() => second.textContent(), { timeout: 15_000 }).toMatch(/succeeded/);
    expect(await second.textContent()).toMatch(/re-run of #\d+ from step 2/);
    expect(hooks.received.length).toBe(before + 1);
    await shot(page, 'runbook-retried');

    await page.getByRole('link', { name: 'Runbooks' }).click();
    await page.getByRole('button', { name: 'Deactivate Page the on-call' }).click();
    await page.waitForURL(/\/console\/runbooks$/);
    expect((await tenant.call('GET', `/api/v1/runbooks/${id}`)).body.runbook.active).toBe(false);
    expect(await page.getByRole('row', { name: /Page the on-call/ }).textContent()).toMatch(/inactive/i);
    await shot(page, 'runbooks');
    await context.close();
  }, 90_000);

  it('edits the escalation policy, with the API refusal beside the field it names', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Policy' }).click();
    const tier1 = page.getByRole('region', { name: 'Tier 1' });
    const tier2 = page.getByRole('region', { name: 'Tier 2' });
    await tier1.getByLabel('Bits per second at or above').fill('5000000000');
    await tier2.getByLabel('Bits per second at or above').fill('1000000000');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const bps2 = tier2.getByLabel('Bits per second at or above');
    await expect.poll(() => bps2.getAttribute('aria-invalid')).toBe('true');
    expect(await tier2.getByRole('alert').allTextContents()).toEqual([expect.stringMatching(/^thresholds\.tier2_bps must be greater than tier1_bps \(5000000000\)/)]);
    // What was typed stays in the form.
    expect(await bps2.inputValue()).toBe('1000000000');
    await shot(page, 'policy-error');
    expect((await tenant.call('GET', '/api/v1/mitigation/escalation')).body.policy.thresholds.tier1_bps).not.toBe(5_000_000_000);

    await bps2.fill('10000000000');
    await tier2.getByLabel('Rule TTL (seconds)').fill('900');
    await page.getByLabel('Adapter the BGP tiers announce through').selectOption(String(adapterId));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.waitForURL(/\/console\/policy\?notice=/);
    const saved = (await tenant.call('GET', '/api/v1/mitigation/escalation')).body.policy;
    expect(saved).toMatchObject({ thresholds: { tier1_bps: 5_000_000_000, tier2_bps: 10_000_000_000 }, adapter_id: adapterId });
    expect(saved.ttl.tier2).toBe(900);

    // A per-host override: refused beside its field, then saved, listed and removed.
    const overrides = page.getByRole('region', { name: 'Per-host thresholds' });
    await overrides.getByLabel('Host or prefix').fill('203.0.113.0/33');
    await overrides.getByLabel('Tier 1 packets per second').fill('200000');
    await overrides.getByRole('button', { name: 'Save override' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Per-host thresholds' }).getByLabel('Host or prefix').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('region', { name: 'Per-host thresholds' }).getByRole('alert').first().textContent()).toMatch(/^target_ip/);
    await page.getByRole('region', { name: 'Per-host thresholds' }).getByLabel('Host or prefix').fill('203.0.113.0/24');
    await page.getByRole('region', { name: 'Per-host thresholds' }).getByRole('button', { name: 'Save override' }).click();
    await page.waitForURL(/notice=/);
    expect(await page.getByRole('cell', { name: '203.0.113.0/24', exact: true }).count()).toBe(1);
    expect((await tenant.call('GET', '/api/v1/mitigation/thresholds')).body.thresholds).toMatchObject([{ target_ip: '203.0.113.0/24', thresholds: { tier1_pps: 200000 } }]);
    await shot(page, 'policy');
    await page.getByRole('button', { name: 'Remove the override for 203.0.113.0/24' }).click();
    await page.waitForURL(/notice=/);
    expect((await tenant.call('GET', '/api/v1/mitigation/thresholds')).body.thresholds).toEqual([]);
    await context.close();
  }, 60_000);

  it('sets geo lockdown and the scrubbing integration on the policy page, refusing an unknown country and another workspace’s integration beside their fields', async () => {
    // A scrubbing integration here (a local stand-in of Vultr's API), and one of another workspace.
    vultr = await startVultrApi();
    const scrubbing = (caller: Caller, name: string) => {
      const made = vultr!.integration();
      return caller('POST', '/api/v1/scrubbing', { type: 'vultr', name, config: made.config, credentials: made.credentials, base_url: vultr!.baseUrl });
    };
    const ours = await scrubbing(tenant.call, 'vultr edge');
    expect(ours.status, JSON.stringify(ours.body)).toBe(200);
    const theirs = await scrubbing((await stack.tenant()).call, 'not yours');
    expect(theirs.status, JSON.stringify(theirs.body)).toBe(200);
    const before = (await tenant.call('GET', '/api/v1/mitigation/escalation')).body.policy;

    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Policy' }).click();
    const geo = page.getByRole('region', { name: 'Geo lockdown' });
    const integration = page.getByLabel('Scrubbing integration the scrubbing tier diverts through');
    const countries = geo.getByLabel('Countries (ISO 3166-1 codes)');
    expect(await integration.locator('option').allTextContents()).toEqual(['none', `vultr edge (vultr, #${ours.body.integration.id})`]);
    // The other workspace's id, sent as a crafted form would.
    const foreign = String(theirs.body.integration.id);
    await integration.evaluate((select, id) => (select as HTMLSelectElement).add(new Option(`#${id}`, id)), foreign);
    await integration.selectOption(foreign);
    await geo.getByLabel('Geo lockdown on').check();
    await countries.fill('kp, ZZ');
    await geo.getByLabel('Dropped by').selectOption('firewall');
    await geo.getByLabel('Firewall', { exact: true }).selectOption('iptables');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => integration.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#scrubbing_id-error').textContent()).toBe(`scrubbing_id: scrubbing integration ${foreign} not found`);
    // What was sent stays: the foreign id (shown as not listed), the countries as typed.
    expect(await integration.inputValue()).toBe(foreign);
    expect(await countries.inputValue()).toBe('kp, ZZ');
    expect(await geo.getByLabel('Geo lockdown on').isChecked()).toBe(true);

    await integration.selectOption(String(ours.body.integration.id));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => countries.getAttribute('aria-invalid')).toBe('true');
    expect(await geo.getByRole('alert').allTextContents()).toEqual(['geo_lockdown.countries: ZZ not in the GeoIP data set']);
    expect(await integration.getAttribute('aria-invalid')).toBeNull();
    // A code that is not two letters: the schema's refusal of one element goes beside the list.
    await countries.fill('KP KPX');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect.poll(() => geo.getByRole('alert').allTextContents()).toEqual([expect.stringMatching(/^geo_lockdown\.countries\.1 must be ISO 3166-1 alpha-2 codes/)]);
    expect(await countries.inputValue()).toBe('KP KPX');
    await shot(page, 'policy-geo-error');
    // Nothing refused was saved.
    expect((await tenant.call('GET', '/api/v1/mitigation/escalation')).body.policy).toMatchObject({ scrubbing_id: before.scrubbing_id, geo_lockdown: before.geo_lockdown });

    await countries.fill('kp, IR');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.waitForURL(/\/console\/policy\?notice=/);
    const saved = (await tenant.call('GET', '/api/v1/mitigation/escalation')).body.policy;
    expect(saved).toMatchObject({
      scrubbing_id: ours.body.integration.id,
      geo_lockdown: { enabled: true, countries: ['KP', 'IR'], action: 'firewall', suite: 'iptables' },
      // The rest of the policy is kept as it was.
      thresholds: before.thresholds,
      ttl: before.ttl,
      adapter_id: before.adapter_id,
    });
    // The page shows what was saved.
    expect(await countries.inputValue()).toBe('KP, IR');
    expect(await integration.inputValue()).toBe(String(ours.body.integration.id));
    expect(await geo.getByLabel('Dropped by').inputValue()).toBe('firewall');
    expect(await geo.getByLabel('Firewall', { exact: true }).inputValue()).toBe('iptables');
    await shot(page, 'policy-geo');

    // Turned off again from the console: the countries stay for next time, the integration goes.
    await geo.getByLabel('Geo lockdown on').uncheck();
    await integration.selectOption('');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.waitForURL(/\/console\/policy\?notice=/);
    expect((await tenant.call('GET', '/api/v1/mitigation/escalation')).body.policy).toMatchObject({
      scrubbing_id: null,
      geo_lockdown: { enabled: false, countries: ['KP', 'IR'] },
    });
    await context.close();
  }, 60_000);

  it('tests an adapter from the integrations page and shows its latency', async () => {
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('button', { name: 'Test lab gobgp' }).click();
    await page.waitForURL(/\/console\/integrations\?notice=/);
    expect(await page.getByRole('status').textContent()).toMatch(new RegExp(`^Adapter #${adapterId}: reachable in \\d+ ms`));
    await shot(page, 'integrations');
    await context.close();
  }, 60_000);

  it('renders the API reference locally, grouped by resource, the agent protocol last', async () => {
    const context = await browser.newContext({ baseURL: stack.baseUrl });
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (m) => m.text().includes('Content Security Policy') && refused.push(m.text()));
    const remote: string[] = [];
    page.on('request', (r) => !r.url().startsWith(stack.baseUrl) && !r.url().startsWith('data:') && remote.push(r.url()));
    await page.goto('/api/v1/docs');
    const groups = page.locator('.opblock-tag-section h3');
    await expect.poll(() => groups.count(), { timeout: 15_000 }).toBeGreaterThan(10);
    const names = (await groups.allTextContents()).map((t) => t.trim());
    expect(names[0]).toMatch(/^Mitigation rules/);
    expect(names.at(-1)).toMatch(/^Agent protocol/);
    expect(await page.getByText('/mitigation/rules/{id}/withdraw', { exact: true }).count()).toBeGreaterThan(0);
    expect(remote).toEqual([]);
    expect(refused.filter((m) => m.includes('script'))).toEqual([]);
    await shot(page, 'api-reference');
    await context.close();
  }, 60_000);

  it('has no serious accessibility violations on its pages (axe-core), dark or light', async () => {
    const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    const found: string[] = [];
    for (const colorScheme of ['dark', 'light'] as const) {
      const { context, page } = await signedIn();
      await page.emulateMedia({ colorScheme });
      for (const path of ['/console', '/console/runbooks', '/console/policy', '/console/integrations', '/console/allowlist']) {
        await page.goto(path);
        // Injected beside the page (the console's CSP would refuse it, as it should).
        await page.evaluate(axe);
        const result = await page.evaluate(async () =>
          (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run(),
        );
        for (const v of result.violations) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${colorScheme} ${path}: ${v.id} (${v.nodes.length})`);
      }
      // The check can fail: an input without a label is found.
      await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<input id="unlabelled">'));
      const control = await page.evaluate(async () => (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string }> }> } }).axe.run());
      expect(control.violations.map((v) => v.id)).toContain('label');
      await context.close();
    }
    expect(found).toEqual([]);
  }, 90_000);

  it('refuses a form without its CSRF token or from another site, and shows another workspace only as not found', async () => {
    const { context, page } = await signedIn();
    const other = await stack.tenant();
    const theirs = await other.call('POST', '/api/v1/allowlist', { ip_address: '192.0.2.77' });
    const adapter = await other.call('POST', '/api/v1/mitigation/adapters', {
      adapter_type: 'gobgp',
      name: 'theirs',
      endpoint: lab.gobgpSpeaker.endpoint,
      config: { local_as: 65002 },
    });
    const rule = await other.call('POST', '/api/v1/mitigation/rules', { target_ip: '2001:db8:c0::2/128', intent_type: 'blackhole', adapter_id: adapter.body.adapter.id, ttl: 0 });
    expect(rule.status).toBe(200);

    // The browser's own cookie, sent without the form's token: refused.
    const noToken = await page.evaluate(
      async (id) => (await fetch(`/console/rules/${id}/withdraw`, { method: 'POST', body: new URLSearchParams({ reason: 'x' }) })).status,
      rule.body.rule.id,
    );
    expect(noToken).toBe(403);
    // With the token, the other workspace's rule and allowlist entry do not exist here.
    await page.goto(`/console/rules/${rule.body.rule.id}/withdraw`);
    expect(await page.getByRole('alert').textContent()).toContain(`rule ${rule.body.rule.id} not found`);
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const removed = await page.evaluate(
      async ([id, token]) => (await fetch(`/console/allowlist/${id}/delete`, { method: 'POST', body: new URLSearchParams({ _csrf: token! }) })).status,
      [String(theirs.body.entry.id), csrf] as const,
    );
    expect(removed).toBe(404);
    expect((await other.call('GET', '/api/v1/allowlist')).body.entries).toHaveLength(1);
    expect((await other.call('GET', `/api/v1/mitigation/rules/${rule.body.rule.id}`)).body.rule.status).toBe('active');

    // Another site's form, even carrying a valid token, is refused by its Origin.
    const crossSite = await fetch(`${stack.baseUrl}/console/allowlist`, {
      method: 'POST',
      headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; '), origin: 'http://evil.example' },
      body: new URLSearchParams({ _csrf: csrf, ip_address: '192.0.2.78' }),
    });
    expect(crossSite.status).toBe(403);
    expect((await tenant.call('GET', '/api/v1/allowlist')).body.entries.map((e: { ip_address: string }) => e.ip_address)).not.toContain('192.0.2.78');
    await other.call('POST', `/api/v1/mitigation/rules/${rule.body.rule.id}/withdraw`);
    await context.close();
  }, 60_000);
});
