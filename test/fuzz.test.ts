// A seeded fuzz over every endpoint (test/support/fuzz.ts): mutated requests never get a
// 5xx, always get the envelope, and always a documented code with its status. A short run
// here; `npm run bench:fuzz` runs many seeds.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fuzzApi, prepareFuzz, type FuzzTarget } from './support/fuzz.js';
import { startStack, type Stack } from './support/stack.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

let stack: Stack;
let hooks: WebhookReceiver;
let target: FuzzTarget;

beforeAll(async () => {
  // Commands answer at once (no agent polls here), so a valid one does not hold the run up.
  stack = await startStack(inject('env'), { commandWaitMs: 100, announceWaitMs: 5000 });
  hooks = await startWebhookReceiver();
  target = await prepareFuzz(stack, hooks.url);
});
afterAll(async () => {
  await stack?.stop();
  await hooks?.close();
});

describe('fuzzed requests', () => {
  it.each([1, 2, 3])('seed %i: 150 requests, never a 5xx, always the envelope with a documented code', async (seed) => {
    const failures = await fuzzApi({ ...target, seed, requests: 150 });
    expect(failures, JSON.stringify(failures.slice(0, 5), null, 2)).toEqual([]);
  });
});
