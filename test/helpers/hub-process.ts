// Runs a hub in its own process so a test can SIGKILL it: prints one line
// `READY <url>` on stdout once it listens. Usage: node hub-process.ts DATA_DIR [PORT] [DATABASE_URL]
// (with a DATABASE_URL, on PostgreSQL; the data dir then holds only the admin token).
import { startHub } from '../../server/app.ts';
import { TEST_ADMIN_TOKEN } from './hub.ts';

const [dataDir, port, databaseUrl] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: hub-process.ts DATA_DIR [PORT] [DATABASE_URL]');
  process.exit(2);
}
const hub = await startHub({
  port: Number(port ?? 0),
  dataDir,
  ...(databaseUrl ? { databaseUrl } : {}),
  allowHosts: ['127.0.0.1'],
  adminToken: TEST_ADMIN_TOKEN,
  leaseSweepMs: 200,
  log: () => {},
});
console.log(`READY ${hub.url}`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
