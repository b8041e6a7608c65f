// A test message through one channel, run as a workflow so that the API never talks to a
// service itself and every test is visible in the Temporal UI.
import { proxyActivities } from '@temporalio/workflow';
import type { ChannelActivities } from '../activities/channels.js';
import type { ChannelTestOutcome } from './channel-test.contract.js';

const { testChannel } = proxyActivities<ChannelActivities>({
  startToCloseTimeout: '60s',
  // A test reports what it saw; retrying would hide a flaky endpoint (and could post twice).
  retry: { maximumAttempts: 1 },
});

export async function channelTestWorkflow(channelId: number): Promise<ChannelTestOutcome> {
  return testChannel(channelId);
}
