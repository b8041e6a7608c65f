// First start: a workspace named "default" and a deploy token for it, written to
// <DATA_DIR>/deploy-token (0600) so the operator can find it again.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../db/client.js';
import { createToken, createWorkspace, findWorkspace } from '../db/workspaces.js';

/** Returns the new token on first start, null when the default workspace existed. */
export async function bootstrapDefaultWorkspace(db: Db, dataDir: string): Promise<string | null> {
  if (await findWorkspace(db, 'default')) return null;
  const ws = await createWorkspace(db, 'default', 'active');
  const token = await createToken(db, ws.id);
  const file = join(dataDir, 'deploy-token');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
