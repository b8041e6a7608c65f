// What every API handler can reach: injected once by createApp, never imported globally.
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { RuleStatusWatch } from '../db/rule-settled.js';
import type { SecretBox } from '../db/secrets.js';
import type { nodes } from '../db/schema.js';
import type { Workspace } from '../db/workspaces.js';
import type { TemporalDeps } from '../clients/temporal.js';
import type { TargetPolicy } from '../domain/http-targets.js';
import type { PcapQuota } from '../db/pcaps.js';

export interface AppDeps extends TemporalDeps {
  db: Db;
  /** Rules' status changes as their activities record them: what POST and withdraw wait on. */
  ruleStatus: RuleStatusWatch;
  /** Where HTTP integrations may connect, checked when one is saved (again when it connects). */
  targets: TargetPolicy;
  secrets: SecretBox;
  logger: Logger;
  /** What nodes and workspaces may keep of captures (default db/pcaps.ts DEFAULT_PCAP_QUOTA). */
  pcapQuota?: PcapQuota;
  /** How often a running diversion asks its provider whether it still diverts (default 30 s). */
  scrubbingWatchSeconds?: number;
  /** How often each adapter's speaker is compared with its rules (default 5 s). */
  reconcileIntervalSeconds?: number;
  /** Epoch ms now; tests set it to cross a minute boundary on purpose. */
  clock?: () => number;
  /** Requests one node key may have in flight at once (default 16). */
  agentMaxConcurrent?: number;
  /** Requests per minute per token when the workspace sets none. */
  defaultRateLimit?: number;
  /** Requests per minute per node key on the agent endpoints (default 600). */
  agentRateLimit?: number;
  /** How long POST /mitigation/rules and withdraw wait for the speaker before answering 202. */
  announceWaitMs?: number;
  /** How long POST /nodes/{uuid}/commands waits for the agent before answering "pending". */
  commandWaitMs?: number;
  /** The Temporal UI, for links to workflows (default http://127.0.0.1:8233). */
  temporalUiUrl?: string;
  /** How long an agent may stay silent while it owes a command's result (default 30 s). */
  commandHeartbeatTimeoutSeconds?: number;
}

export type AppEnv = {
  Variables: {
    deps: AppDeps;
    workspace: Workspace;
    tokenId: number;
  };
};

/** The /agent endpoints: authenticated by a node key instead of a deploy token. */
export type AgentEnv = {
  Variables: {
    deps: AppDeps;
    workspace: Workspace;
    node: typeof nodes.$inferSelect;
  };
};
