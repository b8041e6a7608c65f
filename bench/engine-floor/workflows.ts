// The smallest workflows the rule handshakes can use: the engine's own floor for what a
// rule's POST and withdraw pay (bench/engine-floor.ts).
import { condition, defineSignal, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from '../engine-floor.js';

export const goUpdate = defineUpdate<string>('go');
export const goSignal = defineSignal('go');

const { reached } = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10s' });

export async function emptyWorkflow(): Promise<void> {
  let done = false;
  setHandler(goUpdate, () => {
    done = true;
    return 'ok';
  });
  await condition(() => done);
}

/** Start, then report through a local activity (what the rule's announce does); a signal, then report again (its withdraw). */
export async function notifyingWorkflow(key: string): Promise<void> {
  let go = false;
  setHandler(goSignal, () => void (go = true));
  await reached(`${key}:started`);
  await condition(() => go);
  await reached(`${key}:signalled`);
}
