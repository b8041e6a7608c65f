// A local stand-in for the part of Vultr's API v2 the integration uses
// (https://www.vultr.com/api/): Bearer auth, GET /account, GET and PATCH /instances/{id}
// with `ddos_protection`, shown in the instance's `features`. It keeps state, can apply a
// change only after some status reads (as a provider that applies asynchronously), and can
// be told to fail.
import { randomUUID } from 'node:crypto';
import { startStandIn, type ProviderStandIn, type StandInAnswer } from './provider-stand-in.js';

export interface VultrApi extends ProviderStandIn {
  apiKey: string;
  /** Whether the instance's DDoS protection is on. */
  protectedNow(instanceId: string): boolean;
  /** Turns it on or off behind Bulwark's back (someone in the console). */
  set(instanceId: string, on: boolean): void;
  /** Every `ddos_protection` value PATCHed for the instance, in order (a duplicate enable shows as `true, true`). */
  switches(instanceId: string): boolean[];
  /** The value the instance is still applying (see applyAfterReads); undefined when none. */
  applying(instanceId: string): boolean | undefined;
}

export async function startVultrApi(instanceIds: string[] = []): Promise<VultrApi> {
  const apiKey = 'VULTRTESTKEY0123456789';
  const on = new Map(instanceIds.map((id) => [id, false]));
  const pending = new Map<string, { value: boolean; reads: number }>();
  const switches = new Map<string, boolean[]>();
  const instance = (id: string) => ({ id, main_ip: '203.0.113.10', features: on.get(id) ? ['ddos_protection', 'auto_backups'] : ['auto_backups'] });
  const error = (status: number, message: string): StandInAnswer => ({ status, body: { error: message, status } });

  const server = await startStandIn(
    '/v2',
    (req) => {
      if (req.headers.authorization !== `Bearer ${apiKey}`) return error(401, 'Invalid API token.');
      if (req.method === 'GET' && req.path === '/account') return { status: 200, body: { account: { name: 'Test Account', email: 'ops@example.com' } } };
      const m = /^\/instances\/([^/]+)$/.exec(req.path);
      const id = m ? decodeURIComponent(m[1]!) : '';
      if (!on.has(id)) return error(404, 'Invalid instance-id.');
      if (req.method === 'PATCH') {
        if (req.json === undefined) return error(400, 'Invalid JSON.');
        const value: unknown = req.json.ddos_protection;
        if (typeof value !== 'boolean') return error(400, 'ddos_protection must be a boolean');
        switches.set(id, [...(switches.get(id) ?? []), value]);
        if (api.applyAfterReads > 0) pending.set(id, { value, reads: api.applyAfterReads });
        else on.set(id, value);
        return { status: 202, body: { instance: instance(id) } };
      }
      if (req.method === 'GET') {
        const p = pending.get(id);
        if (p && --p.reads <= 0) {
          on.set(id, p.value);
          pending.delete(id);
        }
        return { status: 200, body: { instance: instance(id) } };
      }
      return error(405, 'Method not allowed');
    },
    (status) => ({ error: 'simulated failure', status }),
  );

  const api: VultrApi = {
    ...server,
    type: 'vultr',
    apiKey,
    applyAfterReads: 0,
    protectedNow: (id) => on.get(id) ?? false,
    set: (id, value) => void on.set(id, value),
    switches: (id) => switches.get(id) ?? [],
    applying: (id) => pending.get(id)?.value,
    integration() {
      const id = randomUUID();
      on.set(id, false);
      return { config: { prefixes: ['203.0.113.10/32'], instance_id: id }, credentials: { api_key: apiKey } };
    },
    badCredentials: () => ({ api_key: 'VULTRWRONGKEY000000' }),
    diverting: (config) => (on.get(config.instance_id as string) ? 'on' : 'off'),
    turnOff: (config) => void on.set(config.instance_id as string, false),
  };
  return api;
}
