// Runs a hub in its own process so a test can SIGKILL it: prints one line
// `READY <url>` on stdout once it listens. Usage: node hub-process.ts DATA_DIR [PORT] [DATABASE_URL]
// (with a DATABASE_URL, on PostgreSQL; the data dir then holds only the admin token and the hub's id).
// A `hub-settings.json` in DATA_DIR, if any, holds more of the hub's settings, as `crowdcrawl hub --config FILE`
// reads them (the fleet fault tests' short heartbeats: hubHeartbeatMs, hubDeadAfterMs, fleetSyncMs).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHub } from '../../server/app.ts';
import type { HubOptions } from '../../server/options.ts';
import { TEST_ADMIN_TOKEN } from './hub.ts';

const [dataDir, port, databaseUrl] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: hub-process.ts DATA_DIR [PORT] [DATABASE_URL]');
  process.exit(2);
}
const settingsFile = join(dataDir, 'hub-settings.json');
const settings = existsSync(settingsFile) ? (JSON.parse(readFileSync(settingsFile, 'utf8')) as HubOptions) : {};
const hub = await startHub({
  leaseSweepMs: 200,
  ...settings,
  port: Number(port ?? 0),
  dataDir,
  ...(databaseUrl ? { databaseUrl } : {}),
  allowHosts: ['127.0.0.1'],
  adminToken: TEST_ADMIN_TOKEN,
  log: () => {},
});
console.log(`READY ${hub.url}`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
