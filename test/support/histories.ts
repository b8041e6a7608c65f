// Replay fixtures: a finished workflow's history replayed against the current code, and
// kept under test/histories/<name>.history.pb when RECORD_HISTORIES is set (binary
// protobuf: the SDK's JSON history conversion does not load under vitest).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

export const HISTORIES = join(dirname(fileURLToPath(import.meta.url)), '..', 'histories');

export async function replayAndRecord(client: Client, workflowBundlePath: string, workflowId: string, name: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.result().catch(() => undefined);
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: { codePath: workflowBundlePath } }, history, workflowId);
  if (process.env.RECORD_HISTORIES) writeFileSync(join(HISTORIES, `${name}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
}
