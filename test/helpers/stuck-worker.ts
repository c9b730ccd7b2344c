// A worker process that takes leases, fetches their pages through the relay and
// then hangs without ever answering: killed with SIGKILL by a test, it stands for
// a volunteer whose machine died mid-lease. Prints `HOLDING <n>` once it holds n.
// Usage: node stuck-worker.ts HUB_URL CAPACITY
import { connectRawWorker } from './raw-worker.ts';

const [hubUrl, capacity] = process.argv.slice(2);
const worker = await connectRawWorker(hubUrl!, { capacity: Number(capacity ?? 1), name: 'doomed' });
const leases = await worker.waitForLeases(Number(capacity ?? 1), 30_000);
for (const lease of leases) await (await worker.relay(lease.id)).text();
console.log(`HOLDING ${leases.length}`);
setInterval(() => {}, 1 << 30);
