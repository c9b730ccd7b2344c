// The frontier at scale (issue #6): a crawl with 1,000,000 queued URLs keeps
// leasing fast while the hub's memory stays bounded, and a restarted hub
// resumes a crawl of 100,000 queued URLs quickly.
//
// Each measurement runs in a child process of its own, so its RSS is the hub's
// alone: the URLs are inserted with the store in one transaction, then a
// Engine (the hub without HTTP) is opened on the database as a restarted hub
// would be, and leases are granted and completed in a loop through the real
// path (the engine's dispatcher pushes leases to a worker session; each result
// goes through Engine.submitResult and storage's group commit). Beside it, the raw
// reference: the same number of rows marked done with one plain UPDATE each,
// in transactions of the same size (what storage alone costs).
// The resume figure is a full hub process (startHub, HTTP and Socket.IO) from
// spawn to READY, and from READY to the first lease a worker receives; beside
// it, the same hub started on an empty data dir, and `node -e 0`.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../server/storage/sqlite/sqlite-storage.ts';
import { transaction } from '../server/storage/sqlite/group-commit.ts';
import { Engine } from '../server/engine/engine.ts';
import { hubOptionsSchema } from '../server/options.ts';
import { silentLogger } from '../server/log.ts';
import type { LeaseRecord } from '../server/lease/leases.ts';
import type { Lease } from '../shared/protocol.ts';
import { median, printTable, root, spawnUntil, stop } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const QUEUED = Number(process.env.BENCH_FRONTIER_URLS ?? 1_000_000);
const LEASED_PER_RUN = 100_000;
const RESUME_URLS = 100_000;
const BATCH = 64;
const MB = 1024 * 1024;

const spec = (name: string) => ({
  name,
  startUrls: ['http://h0.example/'],
  politeness: { obeyRobotsTxt: false, perHostConcurrency: 64, perHostDelayMs: 0 },
});

/** Queues `count` URLs spread over `hosts` hosts in one transaction; returns the crawl id and the time taken. */
async function seed(dataDir: string, count: number, hosts: number, status: 'running' | 'created'): Promise<{ crawlId: string; insertMs: number }> {
  const storage = SqliteStorage.open(dataDir);
  const crawlId = `bench-${hosts}`;
  const started = performance.now();
  const startUrls = Array.from({ length: count }, (_, i) => {
    const host = `h${i % hosts}.example`;
    const url = `http://${host}/page/${i}`;
    return { url, key: url, host, depth: 0 };
  });
  await storage.createCrawl({ id: crawlId, name: 'bench', spec: JSON.stringify(spec('bench')), specVersion: 1, createdAt: Date.now(), startUrls, sources: [] });
  if (status === 'running') await storage.setCrawlStatus(crawlId, { status: 'running', finishReason: null, startedAt: Date.now(), finishedAt: null });
  const insertMs = performance.now() - started;
  await storage.close();
  return { crawlId, insertMs };
}

interface LeaseFigures {
  loadMs: number;
  leasesPerSecond: number;
  rawPerSecond: number;
  /** The process with the hub's modules loaded, before it opens the database. */
  rssBaselineMb: number;
  rssAfterLoadMb: number;
  rssPeakMb: number;
  /** Live JavaScript heap after a full GC at the end: what the hub really holds. */
  heapLiveMb: number;
}

/** Child: opens a hub core on seeded data, as a restarted hub; leases and completes LEASED_PER_RUN pages. Prints JSON. */
async function leaseChild(dir: string, crawlId: string): Promise<void> {
  globalThis.gc?.();
  const rssBaselineMb = process.memoryUsage().rss / MB;
  const loadStarted = performance.now();
  const storage = SqliteStorage.open(dir);
  const db = storage.db;
  const core = await Engine.start(storage, {
    leaseTtlMs: 600_000,
    leaseSweepMs: 60_000,
    retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 },
    robots: hubOptionsSchema.shape.robots.parse(undefined),
    validation: hubOptionsSchema.shape.validation.parse(undefined),
    log: silentLogger,
  });
  const crawl = core.crawls.require(crawlId);
  const inbox: Lease[] = [];
  let wake: (() => void) | undefined;
  const worker = core.joinWorker({
    name: 'bench-worker',
    kind: 'node',
    clientId: 'bench',
    address: '127.0.0.1',
    capacity: BATCH,
    // The frontier is measured here, not validation: an operator's worker is believed.
    operatorTrusted: true,
    tokenId: null,
    send: (leases) => {
      inbox.push(...leases);
      wake?.();
    },
    revoke: () => {},
    disconnect: () => {},
  });
  const loadMs = performance.now() - loadStarted;
  globalThis.gc?.();
  const rssAfterLoadMb = process.memoryUsage().rss / MB;
  let rssPeakMb = rssAfterLoadMb;
  const started = performance.now();
  let done = 0;
  while (done < LEASED_PER_RUN) {
    if (inbox.length === 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 5000);
      });
      wake = undefined;
    }
    const leases = inbox.splice(0);
    if (leases.length === 0) throw new Error(`no lease after ${done} pages: ${JSON.stringify(crawl.summary())}`);
    const commits: Promise<unknown>[] = [];
    for (const lease of leases) {
      const record = core.leaseFor(worker, lease.id) as LeaseRecord;
      core.relay.relayFetched(record, { fetched: { finalUrl: lease.url, status: 200, contentHash: '0'.repeat(64), contentType: 'text/html', fetchedAt: Date.now() }, payload: Buffer.alloc(0), charset: 'utf-8' }, 0);
      commits.push(core.submitResult(worker, { leaseId: lease.id, items: [], links: [] }));
    }
    await Promise.all(commits);
    done += leases.length;
    if (done % 8192 < BATCH) rssPeakMb = Math.max(rssPeakMb, process.memoryUsage().rss / MB);
  }
  const leasesPerSecond = done / ((performance.now() - started) / 1000);
  rssPeakMb = Math.max(rssPeakMb, process.memoryUsage().rss / MB);
  if (crawl.pagesDone !== done) throw new Error(`recorded ${crawl.pagesDone}, leased ${done}`);
  globalThis.gc?.();
  const heapLiveMb = process.memoryUsage().heapUsed / MB;
  core.close();

  // The raw reference: mark the next LEASED_PER_RUN queued rows done, BATCH to a transaction.
  // In queue order (round-robin over hosts, as leases go), so both touch the same pages of the table.
  const keys = db.prepare('SELECT key FROM requests WHERE crawl_id = ? AND state = 0 ORDER BY seq LIMIT ?').all(crawlId, LEASED_PER_RUN) as { key: string }[];
  const update = db.prepare('UPDATE requests SET state = 2, done_at = ? WHERE crawl_id = ? AND key = ? AND state = 0');
  const rawStarted = performance.now();
  for (let i = 0; i < keys.length; i += BATCH) {
    transaction(db, () => {
      for (const { key } of keys.slice(i, i + BATCH)) update.run(Date.now(), crawlId, key);
    });
  }
  const rawPerSecond = keys.length / ((performance.now() - rawStarted) / 1000);
  await storage.close();
  const figures: LeaseFigures = { loadMs, leasesPerSecond, rawPerSecond, rssBaselineMb, rssAfterLoadMb, rssPeakMb, heapLiveMb };
  console.log(`RESULT ${JSON.stringify(figures)}`);
}

function runChild<T>(args: string[], nodeFlags: string[] = []): T {
  const result = spawnSync(process.execPath, [...nodeFlags, '--expose-gc', '--disable-warning=ExperimentalWarning', new URL(import.meta.url).pathname, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * MB,
  });
  const line = result.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (result.status !== 0 || !line) throw new Error(`child ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** Spawn to READY, and READY to the first lease, of a hub restarted on a crawl of RESUME_URLS queued URLs. */
async function resumeOnce(dataDir: string): Promise<{ readyMs: number; firstLeaseMs: number }> {
  const { connectRawWorker } = await import('../test/helpers/raw-worker.ts');
  const started = performance.now();
  const { child, match } = await spawnUntil([join(root, 'bench/hub-process.ts'), dataDir], /^READY (\S+)/);
  const readyMs = performance.now() - started;
  try {
    const readyAt = performance.now();
    const worker = await connectRawWorker(match[1]!, { capacity: 1 });
    await worker.waitForLeases(1, 60_000);
    const firstLeaseMs = performance.now() - readyAt;
    worker.close();
    return { readyMs, firstLeaseMs };
  } finally {
    await stop(child, 'SIGKILL');
  }
}

function nodeStartMs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '-e', '0'], { stdio: 'ignore' });
    child.once('exit', () => resolve(performance.now() - started));
    child.once('error', reject);
  });
}

async function main(): Promise<void> {
  const shapes = [
    { label: '1,000 hosts', hosts: 1000 },
    { label: 'every URL its own host', hosts: QUEUED },
  ];
  // V8 sizes its young generation by allocation rate: up to 64 MB semi-spaces (Node 24) when a
  // process allocates as fast as this loop does. The second figure caps them at 16 MB.
  const variants = [
    { label: '', flags: [] as string[] },
    { label: ', --max-semi-space-size=16', flags: ['--max-semi-space-size=16'] },
  ];
  const rows: (string | number)[][] = [];
  for (const shape of shapes) {
    const runs: LeaseFigures[][] = variants.map(() => []);
    const inserts: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const dirs = variants.map(() => mkdtempSync(join(tmpdir(), 'crowdcrawl-frontier-bench-')));
      try {
        const seeded = runChild<{ crawlId: string; insertMs: number }>(['--seed', dirs[0]!, String(QUEUED), String(shape.hosts)]);
        inserts.push(seeded.insertMs);
        for (const dir of dirs.slice(1)) cpSync(dirs[0]!, dir, { recursive: true });
        for (const [i, variant] of variants.entries()) runs[i]!.push(runChild<LeaseFigures>(['--lease', dirs[i]!, seeded.crawlId], variant.flags));
      } finally {
        for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      }
    }
    for (const [i, variant] of variants.entries()) {
      const m = (pick: (f: LeaseFigures) => number) => median(runs[i]!.map(pick));
      rows.push([
        `${shape.label}${variant.label}`,
        i === 0 ? (QUEUED / median(inserts)) * 1000 : '',
        m((f) => f.loadMs),
        m((f) => f.leasesPerSecond),
        m((f) => f.rawPerSecond),
        m((f) => f.rssBaselineMb),
        m((f) => f.rssAfterLoadMb),
        m((f) => f.rssPeakMb),
        m((f) => f.heapLiveMb),
      ]);
    }
  }
  console.log(`Frontier with ${QUEUED.toLocaleString('en')} queued URLs: ${LEASED_PER_RUN.toLocaleString('en')} pages leased and recorded per run, medians of ${RUNS} runs`);
  printTable(
    ['URLs on', 'insert URLs/s', 'hub load ms', 'leases/s (grant+commit)', 'raw UPDATE rows/s', 'RSS modules MB', 'RSS loaded MB', 'RSS peak MB', 'live heap MB'],
    rows,
  );
  console.log('raw UPDATE: the same rows marked done by primary key in queue order, one statement each, 64 to a transaction (storage alone).');
  console.log('RSS modules: the process with the hub\'s code loaded, before the database is opened. live heap: after a full GC at the end.');
  console.log('Target: RSS peak under 300 MB. Most of the RSS is fixed (code, SQLite\'s 32 MB page cache) or V8\'s young generation.');

  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-resume-bench-'));
  const emptyDir = mkdtempSync(join(tmpdir(), 'crowdcrawl-empty-bench-'));
  try {
    await seed(dir, RESUME_URLS, 100, 'running');
    const resumes = [];
    const empty = [];
    const raw = [];
    for (let run = 0; run < Math.max(RUNS, 5); run++) {
      resumes.push(await resumeOnce(dir));
      empty.push(await emptyHubReadyMs(emptyDir));
      raw.push(await nodeStartMs());
    }
    console.log(`\nHub restart on a crawl of ${RESUME_URLS.toLocaleString('en')} queued URLs (100 hosts), medians of ${resumes.length} restarts`);
    printTable(
      ['measure', 'ms'],
      [
        ['spawn to READY (hub listening)', median(resumes.map((r) => r.readyMs))],
        ['READY to first lease at a worker', median(resumes.map((r) => r.firstLeaseMs))],
        ['reference: spawn to READY, empty data dir', median(empty)],
        ['raw: spawn of `node -e 0` to exit', median(raw)],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(emptyDir, { recursive: true, force: true });
  }
}

/** Spawn to READY of a hub with no crawl at all: what a restart costs before any crawl is read. */
async function emptyHubReadyMs(dataDir: string): Promise<number> {
  const started = performance.now();
  const { child } = await spawnUntil([join(root, 'bench/hub-process.ts'), dataDir], /^READY (\S+)/);
  const readyMs = performance.now() - started;
  await stop(child, 'SIGKILL');
  return readyMs;
}

if (process.argv[2] === '--seed') {
  const [dir, count, hosts] = process.argv.slice(3);
  console.log(`RESULT ${JSON.stringify(await seed(dir!, Number(count), Number(hosts), 'running'))}`);
} else if (process.argv[2] === '--lease') await leaseChild(process.argv[3]!, process.argv[4]!);
else await main();
