// The side effects of runbook executions: step results and the execution's end written
// for the API, and each step that leaves the worker (a channel, a webhook, Cloudflare, the
// checks before a node command or a diversion). Every id a step names is looked up inside
// the execution's workspace again here: a runbook never reaches another tenant's channel,
// integration or node. Also: which runbooks an incident triggers, and the incident's
// notifications.
import { ApplicationFailure } from '@temporalio/activity';
import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { loadAllowlist } from '../db/allowlist.js';
import { channelsHearing, findChannel } from '../db/channels.js';
import type { Db } from '../db/client.js';
import { recordIncidentEvent } from '../db/incidents.js';
import { activeRunbooks, createExecution, finishExecution, incidentContext, loadRunbook, setStepResult } from '../db/runbooks.js';
import { findScrubbing } from '../db/scrubbing.js';
import { incidents, nodeProfiles, nodes, runbookExecutions, runbooks, type StepStatus } from '../db/schema.js';
import type { SecretBox } from '../db/secrets.js';
import type { ChannelEvent } from '../domain/channels.js';
import { catalogueEntry, catalogueRuleSet } from '../domain/firewall-catalogue.js';
import type { TargetPolicy } from '../domain/http-targets.js';
import { incidentNotice, runbookNotice } from '../domain/notices.js';
import { formatPrefix } from '../domain/prefix.js';
import { unmetConditions } from '../domain/runbook.js';
import type { RunbookContext, RunInfo, StepSecrets } from '../domain/runbook-context.js';
import { renderJson } from '../domain/runbook-placeholders.js';
import type { RunbookStep, StepConfig } from '../domain/runbook-schemas.js';
import { refuseDiversion } from '../domain/scrubbing.js';
import { config as wafConfig, credentials as wafCredentials } from '../domain/scrubbing/cloudflare-waf.js';
import type { NodeCommand } from '../domain/node-command.js';
import { runbookExecutionWorkflowId, STEP_REFUSED, type ExecutionOutcome, type RunbookExecutionInput } from '../workflows/runbook.contract.js';
import { createChannelSender, signedHeaders } from './channels.js';
import { httpCall, TargetRefused } from './http-client.js';
import { cloudflareApi } from './scrubbing/cloudflare-api.js';
import { PROVIDER_TIMEOUT_MS } from './scrubbing/index.js';
import { ProviderError } from './scrubbing/types.js';

const refuse = (message: string) => ApplicationFailure.nonRetryable(message, STEP_REFUSED);


export function createRunbookActivities({ db, secrets, targets, logger }: { db: Db; secrets: SecretBox; targets: TargetPolicy; logger: Logger }) {
  const sender = createChannelSender({ db, secrets, targets, logger });

  async function integrationOf(workspaceId: number, id: number) {
    const row = await findScrubbing(db, workspaceId, id);
    if (!row) throw refuse(`scrubbing integration ${id} does not exist in this workspace (deleted?)`);
    return row;
  }

  async function cloudflareZone(workspaceId: number, integrationId: number) {
    const row = await integrationOf(workspaceId, integrationId);
    if (row.type !== 'cloudflare_waf') throw refuse(`scrubbing integration ${integrationId} is ${row.type}; Under Attack Mode needs a cloudflare_waf one (its zone and token)`);
    const config = wafConfig.parse(row.config);
    const { api_token } = wafCredentials.parse(JSON.parse(secrets.open(row.credentialsEnc)));
    const api = cloudflareApi({ baseUrl: row.baseUrl ?? 'https://api.cloudflare.com/client/v4', timeoutMs: PROVIDER_TIMEOUT_MS, targets, tag: `bulwark-${row.id}`, config, credentials: { api_token } }, api_token);
    const path = `/zones/${config.zone_id}/settings/security_level`;
    const call = async <T>(method: string, body?: unknown): Promise<T> => {
      try {
        return await api<T>(method, path, body);
      } catch (err) {
        if (err instanceof ProviderError && !err.retryable) throw refuse(err.message);
        throw err;
      }
    };
    return { zone: config.zone_id, call };
  }

  return {
    async recordStep(executionId: number, index: number, status: StepStatus, output: string | null, error: string | null): Promise<void> {
      await setStepResult(db, executionId, index, status, output, error);
    },

    async finishExecution(executionId: number, outcome: ExecutionOutcome): Promise<void> {
      await finishExecution(db, executionId, outcome.status, outcome.status === 'failed' ? outcome.error : null);
      logger.info({ executionId, ...outcome }, 'runbook execution ended');
    },

    async noteExecution(executionId: number, note: string): Promise<void> {
      await db
        .update(runbookExecutions)
        .set({ notes: sql`${runbookExecutions.notes} || ${JSON.stringify([note])}::jsonb` })
        .where(eq(runbookExecutions.id, executionId));
    },

    async incidentResolved(incidentId: number): Promise<boolean> {
      const [row] = await db.select({ status: incidents.status }).from(incidents).where(eq(incidents.id, incidentId));
      // Deleted with its node: nothing left to wait for.
      return row === undefined || row.status === 'resolved';
    },

    /** What a simulated step would have done. */
    async describeStep(workspaceId: number, step: RunbookStep, ctx: RunbookContext): Promise<string> {
      switch (step.action_type) {
        case 'iptables': {
          const c = step.action_config;
          return c.cmd === 'remove' ? `would remove ${c.name} from the node's firewall` : `would apply ${c.cmd} (${catalogueEntry(c.cmd)!.title}) in the node's firewall`;
        }
        case 'cloudflare_uam': {
          const row = await integrationOf(workspaceId, step.action_config.integration_id);
          return `would turn on Under Attack Mode on the Cloudflare zone of "${row.name}"`;
        }
        case 'scrubbing_enable': {
          const row = await integrationOf(workspaceId, step.action_config.integration_id);
          const refused = refuseDiversion(row, await loadAllowlist(db, workspaceId, 'network'));
          if (refused) throw refuse(`the diversion through "${row.name}" would be refused: ${refused}`);
          return `would divert ${ctx.target}'s traffic through ${row.type} "${row.name}"`;
        }
        default:
          return step.action_type;
      }
    },

    async logStep(run: RunInfo, ctx: RunbookContext, message: string): Promise<string> {
      logger.info({ runbookId: run.runbookId, executionId: run.executionId, incidentId: ctx.incidentId }, message);
      if (ctx.incidentId !== null) {
        await recordIncidentEvent(db, ctx.incidentId, { kind: 'runbook', message: `runbook "${run.runbookName}": ${message}`, detail: { execution_id: run.executionId }, dedupeKey: `runbook-exec:${run.executionId}:log:${message.slice(0, 100)}` });
      }
      return message;
    },

    async notifyStep(workspaceId: number, run: RunInfo, ctx: RunbookContext, index: number, config: StepConfig<'notify_channel'>): Promise<string> {
      const channel = await findChannel(db, workspaceId, config.channel_id);
      if (!channel) throw refuse(`channel ${config.channel_id} does not exist in this workspace (deleted?)`);
      const message = config.message === undefined ? undefined : String(renderJson(config.message, ctx, run));
      return sender.deliver(channel, runbookNotice(run, ctx, message, new Date()), `runbook-exec:${run.executionId}:step:${index}`, ctx.incidentId);
    },

    async webhookStep(workspaceId: number, run: RunInfo, ctx: RunbookContext, index: number, config: StepConfig<'webhook'>): Promise<string> {
      const runbook = await loadRunbook(db, run.runbookId);
      if (!runbook || runbook.workspaceId !== workspaceId) throw refuse(`runbook ${run.runbookId} is gone`);
      const stepSecrets = (runbook.secretsEnc ? (JSON.parse(secrets.open(runbook.secretsEnc)) as StepSecrets) : {})[index] ?? {};
      const body = config.body === undefined || config.method === 'GET' ? undefined : JSON.stringify(renderJson(config.body, ctx, run));
      const headers: Record<string, string> = {
        'user-agent': 'Bulwark-Runbook/1',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(stepSecrets.headers ?? {}),
        ...(stepSecrets.hmac_secret ? signedHeaders(stepSecrets.hmac_secret, body ?? '', new Date()) : {}),
        'x-bulwark-execution': String(run.executionId),
      };
      const started = Date.now();
      let answer;
      try {
        answer = await httpCall(config.method, config.url, body, headers, config.timeout_seconds * 1000, targets);
      } catch (err) {
        if (err instanceof TargetRefused) throw refuse(err.message);
        throw new Error(`${config.method} ${config.url}: ${(err as Error).message}`);
      }
      const what = `${config.method} ${config.url}: HTTP ${answer.status} in ${Date.now() - started} ms`;
      if (answer.status >= 200 && answer.status < 300) return what;
      if (answer.status === 429 || answer.status >= 500) throw new Error(`${what} ${answer.body.slice(0, 200)}`);
      throw refuse(`${what} ${answer.body.slice(0, 200)}`.trim());
    },

    /** Turns Under Attack Mode on; answers the level it replaced, to restore later. */
    async enableUnderAttackMode(workspaceId: number, integrationId: number): Promise<{ previous: string; output: string }> {
      const { zone, call } = await cloudflareZone(workspaceId, integrationId);
      const { value: previous } = await call<{ value: string }>('GET');
      if (previous !== 'under_attack') await call('PATCH', { value: 'under_attack' });
      return { previous, output: previous === 'under_attack' ? `zone ${zone} was already under attack mode` : `zone ${zone}: security level ${previous} -> under_attack` };
    },

    async restoreSecurityLevel(workspaceId: number, integrationId: number, previous: string): Promise<string> {
      const { zone, call } = await cloudflareZone(workspaceId, integrationId);
      const { value } = await call<{ value: string }>('GET');
      // Someone changed it since: theirs to keep.
      if (value !== 'under_attack') return `zone ${zone}: security level is ${value} (changed by someone else); left as it is`;
      await call('PATCH', { value: previous });
      return `zone ${zone}: security level restored to ${previous}`;
    },

    /** The command an iptables step sends to the execution's node, in the suite the node uses. */
    async planFirewallStep(workspaceId: number, ctx: RunbookContext, config: StepConfig<'iptables'>): Promise<{ nodeId: number; nodeUuid: string; command: NodeCommand; description: string }> {
      if (ctx.nodeId === null) throw refuse('no node to apply it on');
      const [node] = await db.select().from(nodes).where(and(eq(nodes.id, ctx.nodeId), eq(nodes.workspaceId, workspaceId)));
      if (!node) throw refuse(`node ${ctx.nodeUuid} no longer exists`);
      const [profile] = await db.select({ suite: nodeProfiles.suite }).from(nodeProfiles).where(eq(nodeProfiles.nodeId, node.id));
      // The node's own choice first: its profile's suite; the step names one otherwise.
      const suite = config.suite ?? profile?.suite ?? 'iptables';
      const name = config.cmd === 'remove' ? config.name! : config.cmd;
      if (config.cmd === 'remove') {
        return { nodeId: node.id, nodeUuid: node.uuid, command: { type: 'remove_ruleset', suite, name: catalogueEntry(name)!.ruleset }, description: `removed ${name} from ${node.name} (${suite})` };
      }
      const allowlisted = (await loadAllowlist(db, workspaceId, { nodeUuid: node.uuid })).map((a) => formatPrefix(a.prefix));
      return {
        nodeId: node.id,
        nodeUuid: node.uuid,
        command: { type: 'apply_ruleset', suite, ruleset: catalogueRuleSet(name, allowlisted) },
        description: `applied ${name} on ${node.name} (${suite}, ${allowlisted.length} allowlisted ${allowlisted.length === 1 ? 'entry' : 'entries'} accepted first)`,
      };
    },

    /** Before a diversion starts: the integration is the workspace's, and covers nothing allowlisted. */
    async checkDiversion(workspaceId: number, integrationId: number): Promise<string> {
      const row = await integrationOf(workspaceId, integrationId);
      const refused = refuseDiversion(row, await loadAllowlist(db, workspaceId, 'network'));
      if (refused) throw refuse(`the diversion through "${row.name}" is refused: ${refused}`);
      return `${row.type} "${row.name}"`;
    },

    // ---------------------------------------------------------------- incidents

    /**
     * The executions an incident starts now: every active runbook of its workspace whose
     * conditions it meets and that it has not triggered before (recorded here, once).
     */
    async triggerRunbooks(incidentId: number, tier: number): Promise<RunbookExecutionInput[]> {
      const ctx = await incidentContext(db, incidentId, tier);
      if (!ctx) return [];
      for (const rb of await activeRunbooks(db, ctx.workspaceId)) {
        if (unmetConditions(rb.triggerConditions, ctx.context).length > 0) continue;
        const row = await createExecution(
          db,
          { workspaceId: ctx.workspaceId, runbookId: rb.id, incidentId, trigger: 'incident', simulated: false, context: ctx.context, steps: rb.steps, fromStep: 0, retryOf: null },
          runbookExecutionWorkflowId,
        );
        if (!row) continue; // triggered already (a retried activity, an earlier tier)
        await recordIncidentEvent(db, incidentId, { kind: 'runbook', message: `runbook "${rb.name}" started (execution ${row.id})`, detail: { runbook_id: rb.id, execution_id: row.id, workflow_id: row.workflowId }, dedupeKey: `runbook-exec:${row.id}` });
      }
      return running(incidentId);
    },

    async recordNotifyFailure(incidentId: number, event: ChannelEvent, error: string, key: string): Promise<void> {
      await recordIncidentEvent(db, incidentId, { kind: 'notified', message: `${event.replace('_', ' ')}: gave up after retries: ${error}`, detail: { event, failed: true }, dedupeKey: `notify-failed:${key}` });
    },

    /** Tells the channels that hear `event`; each channel once per key, what was sent on the timeline. */
    async notifyIncident(incidentId: number, event: ChannelEvent, key: string): Promise<string[]> {
      const [row] = await db.select({ incident: incidents, node: nodes }).from(incidents).leftJoin(nodes, eq(nodes.id, incidents.nodeId)).where(eq(incidents.id, incidentId));
      if (!row) return [];
      const { incident, node } = row;
      const notice = incidentNotice(
        event,
        { id: incident.id, family: incident.family, subtype: incident.subtype, severity: incident.severity, target: incident.targetIp, node: node?.name ?? `the nodes of ${incident.targetIp}`, pps: incident.currentPps, bps: incident.currentBps, tier: incident.tier },
        new Date(),
      );
      const results: string[] = [];
      const failures: string[] = [];
      for (const channel of await channelsHearing(db, incident.workspaceId, event)) {
        try {
          results.push(await sender.deliver(channel, notice, `${key}:${event}`, incidentId));
        } catch (err) {
          failures.push(`${channel.type} channel "${channel.name}" (${channel.id}): ${(err as Error).message}`);
        }
      }
      for (const r of results.filter((x) => !x.endsWith('already sent'))) {
        await recordIncidentEvent(db, incidentId, { kind: 'notified', message: `${event.replace('_', ' ')}: ${r}`, detail: { event }, dedupeKey: `notify:${key}:${event}:${r}` });
      }
      if (failures.length > 0) {
        // Retried with backoff by Temporal; the channels that took it are not sent it again.
        throw new Error(`not delivered: ${failures.join('; ')}`);
      }
      return results;
    },
  };

  /**
   * The incident's triggered executions still running: all of them are (re)started by the
   * caller, idempotently by workflow id, so a crash between recording one and starting its
   * workflow loses nothing.
   */
  async function running(incidentId: number): Promise<RunbookExecutionInput[]> {
    const rows = await db
      .select({ e: runbookExecutions, name: runbooks.name })
      .from(runbookExecutions)
      .innerJoin(runbooks, eq(runbooks.id, runbookExecutions.runbookId))
      .where(and(eq(runbookExecutions.incidentId, incidentId), eq(runbookExecutions.trigger, 'incident'), eq(runbookExecutions.status, 'running')))
      .orderBy(runbookExecutions.id);
    return rows.map(({ e, name }) => ({ run: { runbookId: e.runbookId, runbookName: name, executionId: e.id }, workspaceId: e.workspaceId, steps: e.steps, context: e.context, fromStep: 0, simulated: false }));
  }
}

export type RunbookActivities = ReturnType<typeof createRunbookActivities>;
