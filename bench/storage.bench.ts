// One hub on PostgreSQL against one on SQLite, same crawl, same run: the
// 1000-page docs fixture crawled wide by 2 Node workers, pages/s and the hub's
// own CPU per page (target: PostgreSQL within 1.5x of SQLite's), and the
// database server's CPU per page (PostgreSQL's postmaster and backends; SQLite
// runs inside the hub, so its cost is already in the hub's figure). The runs
// alternate between the backends so that the machine's load falls on both.
// PostgreSQL is a throwaway cluster started here (test/setup/postgres.ts), with
// fsync on as an operator would run it; each run gets a new database.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { startPostgresCluster } from '../test/setup/postgres.ts';
import { withDatabase } from '../test/helpers/postgres.ts';
import { docsCrawlSpec, median, printTable, root, spawnNodeWorkers, spawnUntil, stop, timeCrawl, waitForWorkers } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGES = 1000;
const WARMUP = 300;

/** CPU seconds of a process and, for the postmaster, of its backends alive and gone (cutime/cstime). */
function stat(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
}
function clusterCpuSeconds(postmaster: number): number {
  const own = stat(postmaster);
  let ticks = own[11]! + own[12]! + own[13]! + own[14]!;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = stat(Number(name));
      if (s[1] === postmaster) ticks += s[11]! + s[12]!;
    } catch {
      // gone meanwhile: its time is in the postmaster's cutime now
    }
  }
  return ticks / 100;
}

interface Figure {
  pagesPerSecond: number;
  hubCpuMsPerPage: number;
  dbCpuMsPerPage: number;
}

// Stopped early (Ctrl-C, a timeout): exit, so the cluster's exit handler stops it.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));

const site = docsSite({ pages: PAGES });
const server = await startFixtureServer(site);
const cluster = await startPostgresCluster({ fsync: true, quiet: true });
const postmaster = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
const admin = new pg.Client({ connectionString: cluster.url });
await admin.connect();

async function crawlOnce(backend: 'SQLite' | 'PostgreSQL', run: number): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-'));
  let options = {};
  if (backend === 'PostgreSQL') {
    const name = `bench_${process.pid}_${run}`;
    await admin.query(`CREATE DATABASE ${name}`);
    options = { databaseUrl: withDatabase(cluster.url, name) };
  }
  const { child: hub, match } = await spawnUntil([join(root, 'bench/hub-process.ts'), dir, JSON.stringify(options)], /^READY (\S+)/);
  const hubUrl = match[1]!;
  const children: ChildProcess[] = [];
  try {
    children.push(...spawnNodeWorkers(hubUrl, 2, 16));
    await waitForWorkers(hubUrl, 2);
    const spec = docsCrawlSpec(server.url('/'));
    await timeCrawl(hubUrl, hub.pid!, { ...spec, name: 'warmup', limits: { maxPages: WARMUP } }, WARMUP, 0);
    const dbBefore = clusterCpuSeconds(postmaster);
    const { pagesPerSecond, hubCpuSecondsPerPage } = await timeCrawl(hubUrl, hub.pid!, spec, PAGES, 0);
    const dbCpu = backend === 'PostgreSQL' ? clusterCpuSeconds(postmaster) - dbBefore : 0;
    return { pagesPerSecond, hubCpuMsPerPage: hubCpuSecondsPerPage * 1000, dbCpuMsPerPage: (dbCpu / PAGES) * 1000 };
  } finally {
    await Promise.all(children.map((c) => stop(c, 'SIGINT')));
    await stop(hub);
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const figures: Record<'SQLite' | 'PostgreSQL', Figure[]> = { SQLite: [], PostgreSQL: [] };
  for (let run = 0; run < RUNS; run++) {
    for (const backend of ['SQLite', 'PostgreSQL'] as const) {
      const f = await crawlOnce(backend, run);
      figures[backend].push(f);
      console.log(`  run ${run + 1}, ${backend}: ${f.pagesPerSecond.toFixed(1)} pages/s, hub ${f.hubCpuMsPerPage.toFixed(2)} ms CPU/page, database ${f.dbCpuMsPerPage.toFixed(2)} ms CPU/page`);
    }
  }
  const m = (backend: 'SQLite' | 'PostgreSQL', key: keyof Figure) => median(figures[backend].map((f) => f[key]));
  const rows = (['SQLite', 'PostgreSQL'] as const).map((b) => [b, m(b, 'pagesPerSecond'), m(b, 'hubCpuMsPerPage'), b === 'SQLite' ? '(in the hub)' : m(b, 'dbCpuMsPerPage')]);
  console.log(`One hub, ${PAGES}-page docs site crawled wide by 2 Node workers (16 pages each at once), medians of ${RUNS} runs, backends alternating`);
  printTable(['storage', 'pages/s', 'hub CPU ms/page', 'database CPU ms/page'], rows);
  const ratio = m('PostgreSQL', 'hubCpuMsPerPage') / m('SQLite', 'hubCpuMsPerPage');
  console.log(`hub CPU per page, PostgreSQL / SQLite: ${ratio.toFixed(2)}x (target: at most 1.5x)`);
} finally {
  await admin.end();
  cluster.stop();
  await server.close();
}
