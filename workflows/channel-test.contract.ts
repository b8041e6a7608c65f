// The channel-test family's contract: one test message through one channel
// (`channel-test:<id>:<nonce>`). Pure; shared by the workflow, its activity
// (activities/channels.ts) and its client (clients/channels.ts).
export const channelTestWorkflowId = (channelId: number, nonce: string) => `channel-test:${channelId}:${nonce}`;

export type ChannelTestOutcome = { ok: true; latencyMs: number; detail: string } | { ok: false; latencyMs: number; error: string };
