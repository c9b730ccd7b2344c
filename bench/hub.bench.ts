// The hub's own costs on a docs-shaped crawl (issue 11): a freshly started hub
// (validation on, as for volunteers) crawls a 1,200-page wide docs fixture
// site with one Node worker, 16 pages in flight, perHostConcurrency 16, then
// crawls it again warm. Printed: pages/s, the hub process's CPU per page (all
// threads; cold = from its start, start-up included; warm = the second crawl),
// peak RSS of the hub and of the Node worker, and the site's connections (its
// requests in flight are proved in test/server/relay/connections.test.ts). Beside them, in the same run: a raw undici loop over
// the same URLs, and Scrapy and Crawlee when installed.
// Then the crowd: 2,000 lightweight socket workers in two processes crawl the
// same site; printed: connected count, the board's update gaps and latency,
// the hub's CPU per page and RSS, beside one Node worker on the same settings.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { api, crawlRate, docsCrawlSpec, median, peakRssMb, printTable, processCpuSeconds, root, spawnNodeWorkers, spawnUntil, stop, waitForEnd, waitForWorkers } from './lib.ts';
import { swarmRun, type SwarmFigure } from './swarm.ts';
import { crawleeCrawl, crawleeMissing, rawLoop, scrapyCrawl, scrapyMissing, type Reference } from './references.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGES = Number(process.env.BENCH_PAGES ?? 1200);
const IN_FLIGHT = 16;
const SWARM = Number(process.env.BENCH_SWARM ?? 2000);
/** BENCH_SWARM_ONLY=1 skips the first part (one Node worker, the references) and runs the crowd alone. */
const SWARM_ONLY = process.env.BENCH_SWARM_ONLY === '1';

const docs = docsSite({ pages: PAGES });
const site = await startFixtureServer(docs);
const spec = (name: string) => ({ ...docsCrawlSpec(site.url('/')), name, politeness: { obeyRobotsTxt: false, perHostConcurrency: IN_FLIGHT, perHostDelayMs: 0 } });


// BENCH_HUB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the hub.
const hubArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
async function startHubProcess(options: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-hub-'));
  const { child, match } = await spawnUntil([...hubArgs, join(root, 'bench/hub-process.ts'), dir, JSON.stringify(options)], /^READY (\S+)/);
  return { child, url: match[1]!, async close() { await stop(child); rmSync(dir, { recursive: true, force: true }); } };
}

async function crawl(hubUrl: string, name: string, onCreated?: (id: string) => void): Promise<Record<string, unknown>> {
  const created = await api(hubUrl, '/crawls', spec(name));
  onCreated?.(created.id as string);
  const detail = await waitForEnd(hubUrl, created.id as string);
  if (detail.pagesDone !== PAGES) throw new Error(`expected ${PAGES} pages, got ${JSON.stringify(detail)}`);
  return detail;
}

interface HubFigure {
  coldRate: number;
  coldCpuMs: number;
  warmRate: number;
  warmCpuMs: number;
  hubRssMb: number;
  workerRssMb: number;
  connections: number;
}

async function hubRun(): Promise<HubFigure> {
  const hub = await startHubProcess();
  let workers: ChildProcess[] = [];
  try {
    workers = spawnNodeWorkers(hub.url, 1, IN_FLIGHT);
    await waitForWorkers(hub.url, 1);
    const connectionsBefore = site.connections;
    const cold = await crawl(hub.url, 'cold');
    const coldCpu = processCpuSeconds(hub.child.pid!);
    const connections = site.connections - connectionsBefore;
    const warmCpuBefore = processCpuSeconds(hub.child.pid!);
    const warm = await crawl(hub.url, 'warm');
    const warmCpu = processCpuSeconds(hub.child.pid!) - warmCpuBefore;
    return {
      coldRate: crawlRate(cold),
      coldCpuMs: (coldCpu * 1000) / PAGES,
      warmRate: crawlRate(warm),
      warmCpuMs: (warmCpu * 1000) / PAGES,
      hubRssMb: peakRssMb(hub.child.pid!),
      workerRssMb: peakRssMb(workers[0]!.pid!),
      connections,
    };
  } finally {
    await Promise.all(workers.map((w) => stop(w, 'SIGINT')));
    await hub.close();
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(2)) : '');

async function hubFigures(): Promise<void> {
  const urls = docs.paths.map((p) => site.url(p));
  const figures: HubFigure[] = [];
  const raw: Reference[] = [];
  const scrapy: Reference[] = [];
  const crawlee: Reference[] = [];
  const noScrapy = scrapyMissing();
  const noCrawlee = await crawleeMissing();
  for (let run = 0; run < RUNS; run++) {
    raw.push(await rawLoop(urls, IN_FLIGHT));
    figures.push(await hubRun());
    if (!noScrapy) scrapy.push(await scrapyCrawl(site.url('/'), IN_FLIGHT));
    if (!noCrawlee) crawlee.push(await crawleeCrawl(site.url('/'), IN_FLIGHT, root));
  }
  const m = (pick: (f: HubFigure) => number) => median(figures.map(pick));
  const ref = (list: Reference[], pick: (r: Reference) => number) => (list.length ? median(list.map(pick)) : Number.NaN);
  console.log(`Hub costs: wide ${PAGES}-page docs site, 1 Node worker, ${IN_FLIGHT} in flight, validation on, medians of ${RUNS} runs`);
  printTable(['crawler', 'pages/s', 'CPU ms/page', 'peak RSS MB', 'site connections'], [
    ['crowdcrawl, fresh hub (start-up included): hub', m((f) => f.coldRate), m((f) => f.coldCpuMs), m((f) => f.hubRssMb), String(m((f) => f.connections))],
    ['crowdcrawl, warm hub (second crawl): hub', m((f) => f.warmRate), m((f) => f.warmCpuMs), '', ''],
    ['crowdcrawl: the Node worker', '', '', m((f) => f.workerRssMb), ''],
    ['raw undici loop (same URLs, no parsing)', ref(raw, (r) => r.pagesPerSecond), ref(raw, (r) => r.cpuMsPerPage), '', ''],
    ['Scrapy (whole process)', noScrapy ? 'skipped' : fmt(ref(scrapy, (r) => r.pagesPerSecond)), noScrapy ? '' : fmt(ref(scrapy, (r) => r.cpuMsPerPage)), noScrapy ? '' : fmt(ref(scrapy, (r) => r.peakRssMb)), ''],
    ['Crawlee CheerioCrawler (whole process)', noCrawlee ? 'skipped' : fmt(ref(crawlee, (r) => r.pagesPerSecond)), noCrawlee ? '' : fmt(ref(crawlee, (r) => r.cpuMsPerPage)), noCrawlee ? '' : fmt(ref(crawlee, (r) => r.peakRssMb)), ''],
  ]);
  for (const reason of [noScrapy, noCrawlee]) if (reason) console.log(`skipped: ${reason}`);
  console.log('Targets: hub CPU ≤ 1 ms/page cold and warm; hub and Node worker peak RSS < 150 MB; connections = perHostConcurrency.');
}

/** The open-files limit of this process (its children inherit it), from /proc. */
function openFilesLimit(): number {
  return Number(readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+)/m)?.[1] ?? NaN);
}

async function swarmFigures(): Promise<void> {
  // The hub holds a descriptor per socket (plus the site's connections, the
  // database, the relay's): the swarm needs about SWARM + 200 open files a process.
  const limit = openFilesLimit();
  if (limit < SWARM + 200) console.log(`warning: ulimit -n is ${limit}; ${SWARM} sockets need about ${SWARM + 200} (ulimit -n ${SWARM + 200} or more)`);
  const swarm: SwarmFigure[] = [];
  const setup = { pages: PAGES, inFlight: IN_FLIGHT, crawl, startHub: startHubProcess };
  for (let run = 0; run < RUNS; run++) swarm.push(await swarmRun(setup, SWARM));
  const s = (pick: (f: SwarmFigure) => number) => median(swarm.map(pick));
  console.log(`\n${SWARM} lightweight socket workers (2 processes, 1 page in flight each, worker token), the same crawl, medians of ${RUNS} runs (ulimit -n ${limit})`);
  printTable(['figure', `${SWARM} sockets`, '1 Node worker, 16 in flight (same hub, same run)'], [
    ['connected', s((f) => f.connected), '1'],
    ['hub CPU while idle, all connected (ms per s)', s((f) => f.idleCpuMsPerSecond), ''],
    ['board: result to board, median (ms)', s((f) => f.boardLatencyMedianMs), ''],
    ['board: result to board, 95th percentile (ms)', s((f) => f.boardLatencyP95Ms), ''],
    ['board: result to board, longest (ms)', s((f) => f.boardLatencyMaxMs), ''],
    ['board: longest gap between updates (ms)', s((f) => f.boardGapMaxMs), ''],
    ['pages/s', s((f) => f.rate), s((f) => f.referenceRate)],
    ['hub CPU ms/page', s((f) => f.cpuMs), s((f) => f.referenceCpuMs)],
    ['hub RSS MB, all connected / peak of the run', `${fmt(s((f) => f.hubRssMb))} / ${fmt(s((f) => f.hubPeakRssMb))}`, ''],
  ]);
  console.log('Targets: the board shows a result within 1 s (a page goes out within board.promptMs, 250 ms; rows once a second, board.intervalMs); hub CPU per page under 2× the reference.');
}

try {
  if (!SWARM_ONLY) await hubFigures();
  if (SWARM > 0) await swarmFigures();
} finally {
  await site.close();
}
