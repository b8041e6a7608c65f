// The smallest workflow an update can start and answer: the engine's own floor for the
// handshake a rule's POST uses (bench/engine-floor.ts).
import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

export const goUpdate = defineUpdate<string>('go');

export async function emptyWorkflow(): Promise<void> {
  let done = false;
  setHandler(goUpdate, () => {
    done = true;
    return 'ok';
  });
  await condition(() => done);
}
