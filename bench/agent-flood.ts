// Benchmark: one node key flooding the API (2,000 requests/s over 256 connections by
// default) while another node polls its config and a user lists nodes. What the others
// feel is the figure: their latency with and without the flood. The API, worker, Temporal
// and PostgreSQL run as processes of their own (test/support/deployment.ts), so the load
// generator here does not share the API's event loop. Bounded: stops by itself. As root:
//   npm run bench:agent-flood [-- --rate 2000 --connections 256 --seconds 20]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'node:http';
import { openDb } from '../db/client.js';
import { createToken, createWorkspace } from '../db/workspaces.js';
import { startDeployment } from '../test/support/deployment.js';
import { latencyLine } from './stats.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '256' },
    seconds: { type: 'string', default: '20' },
  },
});
const RATE = Number(values.rate);
const CONNECTIONS = Number(values.connections);
const SECONDS = Number(values.seconds);

const figures = (label: string, xs: number[]) => latencyLine(label, xs);

/** Sequential probes every 100 ms: the latency of one caller that behaves. */
async function probe(url: string, key: string, until: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!until()) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`probe ${url}: ${res.status}`);
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 100));
  }
  return out;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('the benchmark runs its own PostgreSQL cluster: run it as root');
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-agent-flood-'));
  console.log(`agent flood: ${RATE} req/s over ${CONNECTIONS} connections for ${SECONDS} s; logs in ${dir}`);
  const deployment = await startDeployment({ dir, reconcileIntervalSeconds: 60 });
  const db = await openDb({ databaseUrl: deployment.databaseUrl, dataDir: dir });
  try {
    const ws = await createWorkspace(db.db, 'bench');
    const token = await createToken(db.db, ws.id);
    const node = async (name: string) => {
      const res = await fetch(`${deployment.apiUrl}/api/v1/nodes`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name, ip: '203.0.113.10' }) });
      return ((await res.json()) as { api_key: string }).api_key;
    };
    const [flooder, quiet] = [await node('flooder'), await node('quiet')];
    const configUrl = `${deployment.apiUrl}/api/v1/agent/config`;
    const nodesUrl = `${deployment.apiUrl}/api/v1/nodes`;

    // Quiet: no flood.
    let stopAt = Date.now() + 5000;
    const [calmConfig, calmNodes] = await Promise.all([probe(configUrl, quiet, () => Date.now() > stopAt), probe(nodesUrl, token, () => Date.now() > stopAt)]);

    // Flood: CONNECTIONS workers, each paced to RATE / CONNECTIONS requests a second.
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const heartbeat = () =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${deployment.apiUrl}/api/v1/agent/heartbeat`, { method: 'POST', agent, headers: { authorization: `Bearer ${flooder}`, 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end('{}');
      });
    const answers = new Map<string, number>();
    let sent = 0;
    stopAt = Date.now() + SECONDS * 1000;
    const every = (1000 * CONNECTIONS) / RATE;
    const flood = Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, i) => {
        await new Promise((r) => setTimeout(r, (i * every) / CONNECTIONS));
        for (let next = performance.now(); Date.now() < stopAt; ) {
          try {
            const status = String(await heartbeat());
            answers.set(status, (answers.get(status) ?? 0) + 1);
          } catch {
            answers.set('error', (answers.get('error') ?? 0) + 1);
          }
          sent++;
          next += every;
          const wait = next - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
      }),
    );
    const [floodConfig, floodNodes] = await Promise.all([probe(configUrl, quiet, () => Date.now() > stopAt), probe(nodesUrl, token, () => Date.now() > stopAt)]);
    await flood;
    agent.destroy();

    console.log(figures('quiet node GET /agent/config, no flood', calmConfig));
    console.log(figures('user GET /nodes, no flood', calmNodes));
    console.log(figures('quiet node GET /agent/config, under flood', floodConfig));
    console.log(figures('user GET /nodes, under flood', floodNodes));
    console.log(`flooding key: ${(sent / SECONDS).toFixed(0)} req/s sent; answers ${[...answers].map(([k, v]) => `${k}:${v}`).join(' ')}`);
  } finally {
    await db.close();
    await deployment.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
