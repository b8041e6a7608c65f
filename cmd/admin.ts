// `npm run admin -- <command>`: workspaces and deploy tokens (cmd/admin-commands.ts). On
// the embedded database while `npm start` runs, the command runs inside the running stack
// (through its admin socket), so no write is lost; otherwise against the database itself.
// Output meant for scripts (a new token) goes alone on stdout; everything else to stderr.
import { openDb } from '../db/client.js';
import { runAdminCommand, type AdminOutcome } from './admin-commands.js';
import { runInRunningStack } from './admin-socket.js';
import { loadConfig } from './config.js';

const args = process.argv.slice(2);
const config = loadConfig();

async function direct(): Promise<AdminOutcome> {
  const handle = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, maxConnections: 1 });
  try {
    await handle.migrate();
    return await runAdminCommand(handle.db, args);
  } finally {
    await handle.close();
  }
}

let outcome: AdminOutcome;
try {
  outcome = (!config.databaseUrl && (await runInRunningStack(config.dataDir, args))) || (await direct());
} catch (err) {
  outcome = { code: 1, stdout: '', stderr: `error: ${(err as Error).message}\n` };
}
process.stdout.write(outcome.stdout);
process.stderr.write(outcome.stderr);
process.exit(outcome.code);
