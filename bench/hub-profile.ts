// The hub's CPU per page, cold and warm, and optionally its CPU profile:
// a freshly started hub (validation on, as for volunteers) crawls the docs
// fixture site with 2 Node workers (8 pages in flight each), then crawls it
// again warm. Not part of `npm run bench` (its name has no .bench):
//   node bench/hub-profile.ts [PAGES] [RUNS]
//   HUB_PROFILE_DIR=/tmp/prof node bench/hub-profile.ts   # --cpu-prof, one profile a thread
// Prints the hub process's CPU (all threads, /proc) per page for the cold crawl
// (start-up included) and the warm one, the medians over RUNS fresh hubs, and
// a raw undici loop over the same URLs in the same run (its own CPU per page).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { ADMIN_TOKEN, api, docsCrawlSpec, median, peakRssMb, processCpuSeconds, root, spawnNodeWorkers, spawnUntil, stop, waitForEnd, waitForWorkers } from './lib.ts';
import { rawLoop } from './references.ts';

const PAGES = Number(process.argv[2] ?? 1200);
const RUNS = Number(process.argv[3] ?? 3);
const profileDir = process.env.HUB_PROFILE_DIR;
const docs = docsSite({ pages: PAGES });
const site = await startFixtureServer(docs);
const spec = (name: string) => ({ ...docsCrawlSpec(site.url('/')), name, politeness: { obeyRobotsTxt: false, perHostConcurrency: 16, perHostDelayMs: 0 } });

async function crawl(url: string, name: string): Promise<void> {
  const created = await api(url, '/crawls', spec(name));
  const detail = await waitForEnd(url, created.id as string);
  if (detail.pagesDone !== PAGES) throw new Error(`expected ${PAGES} pages: ${JSON.stringify(detail)}`);
}

interface Run {
  cold: number;
  warm: number;
  rss: number;
  raw: number;
}

async function run(): Promise<Run> {
  const raw = await rawLoop(docs.paths.map((p) => site.url(p)), 16);
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-hub-profile-'));
  const args = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const { child, match } = await spawnUntil([...args, join(root, 'bench/hub-process.ts'), dir], /^READY (\S+)/);
  const url = match[1]!;
  const workers = spawnNodeWorkers(url, 2, 8);
  try {
    await waitForWorkers(url, 2);
    await crawl(url, 'cold');
    const cold = processCpuSeconds(child.pid!);
    await crawl(url, 'warm');
    const warm = processCpuSeconds(child.pid!) - cold;
    // How many writes each storage transaction held (group commit), over both crawls.
    const metrics = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    const figure = (name: string) => Number(metrics.match(new RegExp(`^${name} (\\S+)`, 'm'))?.[1]);
    const commits = figure('crowdcrawl_storage_commit_seconds_count');
    console.log(`  storage: ${commits} transactions, ${(figure('crowdcrawl_storage_writes_total') / commits).toFixed(2)} writes each, ${((2 * PAGES) / commits).toFixed(2)} pages each`);
    return { cold: (cold * 1000) / PAGES, warm: (warm * 1000) / PAGES, rss: peakRssMb(child.pid!), raw: raw.cpuMsPerPage };
  } finally {
    await Promise.all(workers.map((w) => stop(w, 'SIGINT')));
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await run();
    console.log(`run ${i + 1}: hub CPU ms/page cold ${r.cold.toFixed(2)}, warm ${r.warm.toFixed(2)}; hub peak RSS ${r.rss.toFixed(0)} MB; raw undici loop ${r.raw.toFixed(3)} ms/page`);
    runs.push(r);
  }
  const m = (pick: (r: Run) => number) => median(runs.map(pick)).toFixed(2);
  console.log(`median of ${RUNS}: hub CPU ms/page cold ${m((r) => r.cold)}, warm ${m((r) => r.warm)}; raw undici loop ${m((r) => r.raw)} ms/page (${PAGES} pages, 2 Node workers × 8 in flight, validation on)`);
} finally {
  await site.close();
}
