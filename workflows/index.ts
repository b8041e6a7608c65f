// Every workflow the worker runs; bundled by @temporalio/worker.
export { ruleWorkflow } from './rule.js';
export { ruleBatchWorkflow } from './rule-batch.js';
export { adapterTestWorkflow } from './adapter-test.js';
export { incidentWorkflow } from './incident.js';
export { nodeCommandWorkflow } from './node-command.js';
export { metricsRetentionWorkflow, pcapRetentionWorkflow } from './retention.js';
export { reconcileWorkflow } from './reconcile.js';
export { orphanRulesWorkflow } from './orphan-rules.js';
export { scrubbingCheckWorkflow, scrubbingWorkflow } from './scrubbing.js';
export { profileRolloutWorkflow } from './profile-rollout.js';
export { runbookExecutionWorkflow } from './runbook.js';
export { channelTestWorkflow } from './channel-test.js';
