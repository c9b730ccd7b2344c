// Runs a hub in its own process so a test can SIGKILL it: prints one line
// `READY <url>` on stdout once it listens. Usage: node hub-process.ts DATA_DIR [PORT]
import { startHub } from '../../server/app.ts';
import { TEST_ADMIN_TOKEN } from './hub.ts';

const [dataDir, port] = process.argv.slice(2);
if (!dataDir) {
  console.error('usage: hub-process.ts DATA_DIR [PORT]');
  process.exit(2);
}
const hub = await startHub({
  port: Number(port ?? 0),
  dataDir,
  allowHosts: ['127.0.0.1'],
  adminToken: TEST_ADMIN_TOKEN,
  leaseSweepMs: 200,
  log: () => {},
});
console.log(`READY ${hub.url}`);
process.on('SIGTERM', () => void hub.close().then(() => process.exit(0)));
