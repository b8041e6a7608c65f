// The channel family's way in: a test message through a channel, run by the worker and
// visible in the Temporal UI.
import { randomUUID } from 'node:crypto';
import { channelTestWorkflowId, type ChannelTestOutcome } from '../workflows/channel-test.contract.js';
import { channelTestWorkflow } from '../workflows/channel-test.js';
import type { TemporalDeps } from './temporal.js';

export async function testChannel(t: TemporalDeps, channelId: number): Promise<ChannelTestOutcome> {
  return t.temporal.workflow.execute(channelTestWorkflow, { workflowId: channelTestWorkflowId(channelId, randomUUID()), taskQueue: t.taskQueue, args: [channelId] });
}
