// Every activity the worker registers, built from real dependencies.
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { SecretBox } from '../db/secrets.js';
import type { TargetPolicy } from '../domain/http-targets.js';
import { AdapterRegistry } from './adapters/index.js';
import { createAdapterActivities } from './adapter-test.js';
import { createIncidentActivities } from './incident.js';
import { createNodeCommandActivities } from './node-command.js';
import { createOrphanRuleActivities } from './orphan-rules.js';
import { createProfileRolloutActivities } from './profile-rollout.js';
import { createReconcileActivities } from './reconcile.js';
import { createRetentionActivities } from './retention.js';
import { createRuleActivities } from './rule.js';
import { createRuleBatchActivities } from './rule-batch.js';
import { createScrubbingActivities } from './scrubbing.js';
import { createRunbookActivities } from './runbook.js';
import { createChannelActivities } from './channels.js';

export function createActivities(deps: { db: Db; secrets: SecretBox; logger: Logger; targets: TargetPolicy; adapters?: AdapterRegistry }) {
  const adapters = deps.adapters ?? new AdapterRegistry(deps.targets);
  return {
    activities: {
      ...createRuleActivities({ ...deps, adapters }),
      ...createRuleBatchActivities({ ...deps, adapters }),
      ...createAdapterActivities({ ...deps, adapters }),
      ...createIncidentActivities(deps),
      ...createNodeCommandActivities(deps),
      ...createRetentionActivities(deps),
      ...createReconcileActivities({ ...deps, adapters }),
      ...createOrphanRuleActivities(deps),
      ...createScrubbingActivities(deps),
      ...createProfileRolloutActivities(deps),
      ...createRunbookActivities(deps),
      ...createChannelActivities(deps),
    },
    adapters,
  };
}
