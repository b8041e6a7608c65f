// The chaos run: while clients create, withdraw and let rules expire through the API, kill
// -9 in turn the worker, the API, the Temporal server and PostgreSQL of a deployment of
// separate processes (test/support/deployment.ts), starting each again. Then, once the
// deployment settles, every rule's row must equal what the lab router holds: no route
// without a live rule, no active rule without its route, no rule the API accepted lost, no
// rule stuck in pending or withdrawing. Run by test/chaos.test.ts (one round) and
// bench/chaos.ts (many, with figures).
import { and, eq, inArray, like, sql } from 'drizzle-orm';
import { openDb, type DbHandle } from '../../db/client.js';
import { mitigationRules, routeRepairs, workspaces } from '../../db/schema.js';
import { createToken, createWorkspace } from '../../db/workspaces.js';
import { routerRib, type BgpLab } from './bgp-lab.js';
import { COMPONENTS, type Deployment } from './deployment.js';

/** Every chaos rule is a /128 in here, so the router's view of the run is easy to pick out. */
const RANGE = '2001:db8:c4a0:';
const TTLS = [0, 0, 3, 5, 8];

export interface RoundFigures {
  round: number;
  requests: number;
  /** Answers by status ("200", "409", "503", ...) and "network" for no answer at all. */
  answers: Record<string, number>;
  accepted: number;
  withdrawnByClient: number;
  /** Per component: kill -> serving again, ms. */
  downMs: Record<string, number>;
  /** Last restart -> rows and router agree, ms. */
  settleMs: number;
  rules: number;
  byStatus: Record<string, number>;
  repairs: number;
  crashes: number;
  /** What disagreed when the round gave up waiting; empty for a passing round. */
  problems: string[];
}

export interface ChaosTarget {
  deployment: Deployment;
  lab: BgpLab;
  db: DbHandle;
  token: string;
  adapterIds: number[];
}

/** A workspace, its token and one adapter per lab speaker, made through the running API. */
export async function prepareChaos(deployment: Deployment, lab: BgpLab): Promise<ChaosTarget> {
  const db = await openDb({ databaseUrl: deployment.databaseUrl, dataDir: '/nonexistent' });
  const ws = await createWorkspace(db.db, `chaos-${Date.now()}`);
  await db.db.update(workspaces).set({ rateLimitPerMinute: 1_000_000 }).where(eq(workspaces.id, ws.id));
  const token = await createToken(db.db, ws.id);
  const adapterIds: number[] = [];
  for (const type of ['gobgp', 'exabgp'] as const) {
    const res = await send(deployment.apiUrl, token, 'POST', '/api/v1/mitigation/adapters', {
      adapter_type: type,
      name: `chaos ${type}`,
      endpoint: type === 'exabgp' ? lab.exabgpBridge.endpoint : lab.gobgpSpeaker.endpoint,
      ...(type === 'exabgp' ? { auth_token: lab.exabgpBridge.token } : {}),
    });
    if (res.status !== 200) throw new Error(`adapter ${type}: ${res.status} ${JSON.stringify(res.body)}`);
    adapterIds.push(res.body.adapter.id);
  }
  return { deployment, lab, db, token, adapterIds };
}

type Status = number | 'network' | 'not_envelope';

async function send(base: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: Status; body: any }> {
  try {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(40_000),
    });
    const text = await res.text();
    // Every answer must be an envelope, even in an outage.
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { status: 'not_envelope', body: text.slice(0, 200) };
    }
    return typeof parsed?.ok === 'boolean' ? { status: res.status, body: parsed } : { status: 'not_envelope', body: parsed };
  } catch {
    return { status: 'network', body: null };
  }
}

export async function chaosRound(t: ChaosTarget, round: number, opts: { clients: number; loadBeforeKillMs: number; outageMs: number; settleTimeoutMs: number; log: (line: string) => void }): Promise<RoundFigures> {
  const { deployment, lab, token } = t;
  const answers: Record<string, number> = {};
  const accepted = new Set<number>();
  const pendingWithdrawals: Promise<unknown>[] = [];
  let requests = 0;
  let withdrawnByClient = 0;
  let seq = 0;
  let loading = true;
  const count = (status: Status) => (answers[String(status)] = (answers[String(status)] ?? 0) + 1);

  const client = async (n: number) => {
    while (loading) {
      const i = seq++;
      const prefix = `${RANGE}${round.toString(16)}::${(i + 1).toString(16)}/128`;
      const res = await send(deployment.apiUrl, token, 'POST', '/api/v1/mitigation/rules', {
        target_ip: prefix,
        intent_type: 'blackhole',
        adapter_id: t.adapterIds[i % t.adapterIds.length],
        ttl: TTLS[i % TTLS.length],
        reason: `chaos round ${round} client ${n}`,
      });
      requests++;
      count(res.status);
      if ((res.status === 200 || res.status === 202) && res.body?.rule?.id) {
        const id = res.body.rule.id as number;
        accepted.add(id);
        // About a third are withdrawn by hand, a moment later.
        if (i % 3 === 0) {
          pendingWithdrawals.push(
            new Promise((r) => setTimeout(r, 200 + (i % 7) * 300)).then(async () => {
              const w = await send(deployment.apiUrl, token, 'POST', `/api/v1/mitigation/rules/${id}/withdraw`);
              requests++;
              count(w.status);
              if (w.status === 200) withdrawnByClient++;
            }),
          );
        }
      } else if (typeof res.status !== 'number' || res.status >= 500) {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };

  const load = Promise.all(Array.from({ length: opts.clients }, (_, n) => client(n)));
  const downMs: Record<string, number> = {};
  const crashesBefore = Object.values(deployment.crashes).reduce((a, b) => a + b, 0);
  try {
    for (const c of COMPONENTS) {
      await new Promise((r) => setTimeout(r, opts.loadBeforeKillMs));
      const t0 = Date.now();
      await deployment.kill(c);
      opts.log(`round ${round}: killed ${c}`);
      await new Promise((r) => setTimeout(r, opts.outageMs));
      await deployment.start(c);
      downMs[c] = Date.now() - t0;
      opts.log(`round ${round}: ${c} back after ${downMs[c]} ms`);
    }
    await new Promise((r) => setTimeout(r, opts.loadBeforeKillMs));
  } finally {
    loading = false;
    await load;
    await Promise.all(pendingWithdrawals);
  }

  // Settle: the TTLs run out, the reconciler repairs, orphans start; then rows == router.
  const settledFrom = Date.now();
  let problems: string[] = [];
  for (;;) {
    problems = await disagreements(t, round, accepted);
    if (problems.length === 0 || Date.now() - settledFrom > opts.settleTimeoutMs) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const settleMs = Date.now() - settledFrom;

  const rows = await roundRules(t, round);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const ids = rows.map((r) => r.id);
  const [repairs] = ids.length ? await t.db.db.select({ n: sql<number>`count(*)::int` }).from(routeRepairs).where(inArray(routeRepairs.ruleId, ids)) : [{ n: 0 }];

  // Clean slate for the next round: withdraw what is left, and wait for the router to agree.
  for (const r of rows.filter((r) => r.status === 'active')) await send(deployment.apiUrl, token, 'POST', `/api/v1/mitigation/rules/${r.id}/withdraw`);
  const deadline = Date.now() + 30_000;
  while ((await chaosRoutes(lab, round)).size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  if (answers.not_envelope) problems.push(`${answers.not_envelope} answers were not the JSON envelope`);
  const left = await chaosRoutes(lab, round);
  if (left.size > 0) problems.push(`after withdrawing every rule the router still holds ${[...left].join(', ')}`);

  return {
    round,
    requests,
    answers,
    accepted: accepted.size,
    withdrawnByClient,
    downMs,
    settleMs,
    rules: rows.length,
    byStatus,
    repairs: repairs?.n ?? 0,
    crashes: Object.values(deployment.crashes).reduce((a, b) => a + b, 0) - crashesBefore,
    problems,
  };
}

const roundRules = (t: ChaosTarget, round: number) =>
  t.db.db
    .select({ id: mitigationRules.id, status: mitigationRules.status, targetIp: mitigationRules.targetIp, expiresAt: mitigationRules.expiresAt })
    .from(mitigationRules)
    .where(and(like(mitigationRules.targetIp, `${RANGE}${round.toString(16)}::%`), inArray(mitigationRules.adapterId, t.adapterIds)));

/** The round's prefixes the router holds now. */
async function chaosRoutes(lab: BgpLab, round: number): Promise<Set<string>> {
  const rib = await routerRib(lab, 'ipv6');
  return new Set(rib.map((e) => e.prefix).filter((p) => p.startsWith(`${RANGE}${round.toString(16)}::`)));
}

/** Everything about the round's rules that is not as it must be once settled; empty when all is well. */
async function disagreements(t: ChaosTarget, round: number, accepted: Set<number>): Promise<string[]> {
  let rows: Awaited<ReturnType<typeof roundRules>>;
  try {
    rows = await roundRules(t, round);
  } catch (err) {
    return [`database: ${(err as Error).message}`];
  }
  const routes = await chaosRoutes(t.lab, round);
  const problems: string[] = [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const id of accepted) if (!byId.has(id)) problems.push(`rule ${id} was accepted (200/202) but has no row`);
  const now = Date.now();
  for (const r of rows) {
    if (r.status === 'pending' || r.status === 'withdrawing') problems.push(`rule ${r.id} stuck in ${r.status}`);
    if (r.status === 'active' && !routes.has(r.targetIp)) problems.push(`rule ${r.id} is active but ${r.targetIp} is not at the router`);
    if (r.status === 'active' && r.expiresAt && r.expiresAt.getTime() < now - 2000) problems.push(`rule ${r.id} is active ${Math.round((now - r.expiresAt.getTime()) / 1000)} s past its TTL`);
  }
  const live = new Set(rows.filter((r) => r.status === 'active' || r.status === 'withdrawing' || r.status === 'pending').map((r) => r.targetIp));
  for (const p of routes) if (!live.has(p)) problems.push(`${p} is at the router but no live rule holds it`);
  return problems;
}
