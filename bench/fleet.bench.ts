// The fleet on PostgreSQL (issue 12, docs/scale-out.md):
//
// 1. Leasing with 1,000,000 queued URLs (1,000 hosts): leases granted per
//    second by 1, 2 and 4 hub processes against one database, each claiming
//    rows into its window as the frontier does (bench/fleet-leaser.ts), and the
//    database's CPU per lease: the postmaster's children's CPU from /proc
//    (live backends, plus those that exited, from the postmaster's cutime).
// 2. Time from a hub's SIGKILL to the last of its leases (claimed rows) being
//    granted again by a surviving hub, with the default heartbeat (5 s) and
//    dead-after (20 s) settings.
//
// Reference beside the lease rate: the same rows read with a plain SELECT per
// window (no claim), one process: what the database costs without the fleet.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { PostgresStorage } from '../server/storage/postgres/postgres-storage.ts';
import { createTestDatabase } from '../test/helpers/postgres.ts';
import { median, printTable } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const URLS = Number(process.env.BENCH_FLEET_URLS ?? 1_000_000);
const HOSTS = 1000;
const DURATION_MS = 3000;
const leaser = new URL('./fleet-leaser.ts', import.meta.url).pathname;
const CLK_TCK = 100;

const db = await createTestDatabase();
const storage = await PostgresStorage.open(db.url);
const sql = new pg.Client({ connectionString: db.url });
await sql.connect();

const postmaster = await (async () => {
  const backend = Number((await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
  return Number(statFields(backend)[1]);
})();

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command: state is [0], ppid [1], utime [11], stime [12], cutime [13], cstime [14].
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds the database has used: the postmaster, its live children, and its exited children. */
function databaseCpuSeconds(): number {
  const own = statFields(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = statFields(Number(name));
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // The process ended while we read.
    }
  }
  return ticks / CLK_TCK;
}

interface Leaser {
  child: ChildProcess;
  line(pattern: RegExp): Promise<RegExpMatchArray>;
}

function startLeaser(crawlId: string, hosts: number, args: string[] = [], durationMs = DURATION_MS): Leaser {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', leaser, db.url, crawlId, String(hosts), String(durationMs), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seen: string[] = [];
  const waiting: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    seen.push(text);
    for (const w of [...waiting]) {
      const m = text.match(w.pattern);
      if (m) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  return {
    child,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        for (const text of seen) {
          const m = text.match(pattern);
          if (m) return resolve(m);
        }
        waiting.push({ pattern, resolve });
        child.once('exit', (code) => reject(new Error(`a leaser exited (${code}) before printing ${pattern}`)));
      }),
  };
}

async function resetClaims(): Promise<void> {
  await sql.query('UPDATE requests SET claimed_by = NULL WHERE claimed_by IS NOT NULL');
  await sql.query('UPDATE hubs SET gone = TRUE');
}

console.log(`queueing ${URLS.toLocaleString('en')} URLs on ${HOSTS} hosts ...`);
const t0 = Date.now();
await storage.createCrawl({ id: 'fleet', name: 'fleet', spec: '{}', specVersion: 1, createdAt: t0, startUrls: [], sources: [] });
// One INSERT … SELECT: the bench measures leasing, not queueing.
await sql.query(
  `INSERT INTO requests (crawl_id, key, url, host, depth, seq, state)
   SELECT 'fleet', u, u, h, 0, i, 0 FROM (SELECT i, 'h' || (i % $2) || '.example' AS h, 'http://h' || (i % $2) || '.example/p/' || i AS u
   FROM generate_series(1, $1::bigint) AS i) s`,
  [URLS, HOSTS],
);
await sql.query('UPDATE crawls SET next_seq = $1 WHERE id = $2', [URLS + 1, 'fleet']);
await sql.query('VACUUM ANALYZE requests');
console.log(`queued in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// The reference: one process reading windows with a plain SELECT (no claim), for DURATION_MS.
async function referenceRate(): Promise<number> {
  const start = Date.now();
  let rows = 0;
  const cursors = new Map<string, number>();
  while (Date.now() - start < DURATION_MS) {
    for (let h = 0; h < HOSTS && Date.now() - start < DURATION_MS; h++) {
      const host = `h${h}.example`;
      const r = await sql.query<{ seq: string }>(
        'SELECT key, url, host, depth, seq, attempts, not_before FROM requests WHERE crawl_id = $1 AND host = $2 AND state = 0 AND seq > $3 ORDER BY seq LIMIT 256',
        ['fleet', host, cursors.get(host) ?? 0],
      );
      if (r.rows.length > 0) cursors.set(host, Number(r.rows[r.rows.length - 1]!.seq));
      rows += r.rows.length;
    }
  }
  return rows / ((Date.now() - start) / 1000);
}

const rows: (string | number)[][] = [];
const reference = median(await Promise.all([referenceRate()]));
for (const hubs of [1, 2, 4]) {
  const rates: number[] = [];
  const cpuPerLease: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    await resetClaims();
    const leasers = Array.from({ length: hubs }, () => startLeaser('fleet', HOSTS));
    await Promise.all(leasers.map((l) => l.line(/^READY/)));
    const cpuBefore = databaseCpuSeconds();
    const done = await Promise.all(leasers.map((l) => l.line(/^DONE (\d+) (\d+)/)));
    await Promise.all(leasers.map((l) => new Promise((resolve) => (l.child.exitCode !== null ? resolve(null) : l.child.once('exit', resolve)))));
    const cpu = databaseCpuSeconds() - cpuBefore;
    const leases = done.reduce((n, m) => n + Number(m[1]), 0);
    const seconds = Math.max(...done.map((m) => Number(m[2]))) / 1000;
    rates.push(leases / seconds);
    cpuPerLease.push((cpu / leases) * 1e6);
  }
  rows.push([`${hubs} hub process${hubs > 1 ? 'es' : ''}`, median(rates), median(cpuPerLease), reference]);
}
console.log('\nLeasing from 1,000,000 queued URLs on PostgreSQL (rows claimed into hubs\' windows; target ≥ 10,000 leases/s)');
printTable(['hubs', 'leases/s', 'DB CPU µs/lease', 'plain SELECT rows/s (1 process)'], rows);

// A hub SIGKILLed: how long until the last of its claimed rows is claimed again by a survivor.
await resetClaims();
const KILL_HOSTS = 100;
const doomed = startLeaser('fleet', KILL_HOSTS, ['--hold']);
const doomedId = (await doomed.line(/^READY (\S+)/))[1]!;
await doomed.line(/^CLAIMED/);
// The survivor claims the hosts' other rows, then keeps reading; it reads from the start once dead hubs' rows come back.
const survivor = startLeaser('fleet', KILL_HOSTS, [], 120_000);
const survivorId = (await survivor.line(/^READY (\S+)/))[1]!;
await survivor.line(/^CLAIMED/);
await sql.query('DROP TABLE IF EXISTS doomed_rows');
await sql.query('CREATE TABLE doomed_rows AS SELECT crawl_id, key FROM requests WHERE claimed_by = $1', [doomedId]);
const held = Number((await sql.query<{ n: string }>('SELECT COUNT(*) AS n FROM doomed_rows')).rows[0]!.n);
const killedAt = Date.now();
doomed.child.kill('SIGKILL');
let regranted = 0;
for (;;) {
  regranted = Number(
    (await sql.query<{ n: string }>('SELECT COUNT(*) AS n FROM doomed_rows d JOIN requests r USING (crawl_id, key) WHERE r.claimed_by = $1', [survivorId])).rows[0]!.n,
  );
  if (regranted >= held || Date.now() - killedAt > 120_000) break;
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const recoveryMs = Date.now() - killedAt;
// (rows come back only through a reclaim, which the survivor prints)
const rereadAt = regranted >= held ? Number((await survivor.line(/^REREAD (\d+)/))[1]) : Number.NaN;
survivor.child.kill('SIGTERM');
console.log(`\nA hub SIGKILLed holding ${held.toLocaleString('en')} claimed rows: the last of them granted again after ${(recoveryMs / 1000).toFixed(1)} s (${regranted} of ${held}; heartbeat 5 s, dead after 20 s: bound 25 s)`);
console.log(`  given back to the queue (and the survivor's windows read again) after ${((rereadAt - killedAt) / 1000).toFixed(1)} s; claimed again in the ${((killedAt + recoveryMs - rereadAt) / 1000).toFixed(1)} s after that`);

await sql.end();
await storage.close();
await db.drop();
process.exit(0);
