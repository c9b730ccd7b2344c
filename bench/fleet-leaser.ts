// One "hub" of the fleet leasing bench (bench/fleet.bench.ts), in a process of
// its own: it opens the PostgreSQL storage as a hub does, registers in the
// fleet, and claims queued rows into its window host after host, as the
// frontier's refills do (up to 256 rows a read), each claimed row being a lease
// it can grant. It beats every HEARTBEAT_MS and gives dead hubs' rows back.
//
//   node fleet-leaser.ts DB_URL CRAWL_ID HOSTS DURATION_MS [--hold]
// prints `READY <hubId>` once registered, `CLAIMED <n>` after its first pass
// over the hosts, then (without --hold) `DONE <leases> <ms>` after DURATION_MS.
// With --hold it claims one window per host and then only beats (a hub to kill);
// a hub that is not holding reads the hosts again from the start as soon as
// dead hubs' rows were given back (as a hub's frontier resync does), printing
// `REREAD <epoch ms>`.
import { PostgresStorage } from '../server/storage/postgres/postgres-storage.ts';

const [url, crawlId, hostsArg, durationArg] = process.argv.slice(2);
const hold = process.argv.includes('--hold');
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 5000);
const DEAD_AFTER_MS = Number(process.env.DEAD_AFTER_MS ?? 20_000);
const WINDOW = 256;
const hosts = Array.from({ length: Number(hostsArg) }, (_, i) => `h${i}.example`);
const storage = await PostgresStorage.open(url!, { maxConnections: 4 });
const id = `bench-${process.pid}`;
const now = Date.now();
await storage.registerHub({ id, address: `pid:${process.pid}`, version: 'bench', startedAt: now, heartbeatAt: now, workers: 0, leases: 0, pagesPerSec: 0, state: 'alive' });
console.log(`READY ${id}`);

let cursors = new Map<string, number>();
/** Hosts this hub holds (Storage.holdHost): only their rows are claimed, as the frontier does; the others are another hub's. */
let held = new Set<string>();
let reread = false;
setInterval(() => {
  const at = Date.now();
  void storage.heartbeat(id, { heartbeatAt: at, workers: 0, leases: 0, pagesPerSec: 0 });
  void storage.reclaimDeadHubs(at - DEAD_AFTER_MS, at - 86_400_000).then((r) => {
    if (r.rows > 0) {
      reread = true;
      console.log(`REREAD ${Date.now()}`);
    }
  });
}, HEARTBEAT_MS);

/** One pass over the hosts: a window's worth of each host's rows claimed; dead hubs' rows given back start it again at once. */
async function pass(): Promise<number> {
  let claimed = 0;
  for (let h = 0; h < hosts.length; h++) {
    if (reread && !hold) {
      // Dead hubs' rows and hosts are free again: hold and read them from the start.
      reread = false;
      cursors = new Map();
      held = new Set();
      h = 0;
    }
    const host = hosts[h]!;
    if (!held.has(host)) {
      if (!(await storage.holdHost(crawlId!, host)).held) continue;
      held.add(host);
    }
    const rows = await storage.loadQueued(crawlId!, host, cursors.get(host) ?? 0, WINDOW);
    if (rows.length > 0) cursors.set(host, rows[rows.length - 1]!.seq);
    claimed += rows.length;
  }
  return claimed;
}

const start = Date.now();
const first = await pass();
console.log(`CLAIMED ${first}`);
if (!hold) {
  let leases = first;
  const until = start + Number(durationArg);
  while (Date.now() < until) {
    leases += await pass();
  }
  console.log(`DONE ${leases} ${Date.now() - start}`);
  await storage.close();
  process.exit(0);
}
