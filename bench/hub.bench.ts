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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { io } from 'socket.io-client';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { BOARD_NAMESPACE, PROTOCOL_VERSION } from '../shared/protocol.ts';
import { api, crawlRate, docsCrawlSpec, median, peakRssMb, printTable, processCpuSeconds, root, spawnNodeWorkers, spawnUntil, stop, waitForEnd, waitForWorkers } from './lib.ts';
import { crawleeCrawl, crawleeMissing, rawLoop, scrapyCrawl, scrapyMissing, type Reference } from './references.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGES = Number(process.env.BENCH_PAGES ?? 1200);
const IN_FLIGHT = 16;
const SWARM = Number(process.env.BENCH_SWARM ?? 2000);

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

async function crawl(hubUrl: string, name: string): Promise<Record<string, unknown>> {
  const created = await api(hubUrl, '/crawls', spec(name));
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

interface SwarmFigure {
  connected: number;
  boardGapMaxMs: number;
  boardGapMedianMs: number;
  boardLagMaxMs: number;
  rate: number;
  cpuMs: number;
  referenceCpuMs: number;
  hubRssMb: number;
}

/** A crawl by `count` lightweight sockets (worker token: the same trust as the reference's one Node worker). */
async function swarmRun(count: number): Promise<SwarmFigure> {
  // One address per 60 sockets (the hub's per-address limit is 64); leases per address as for 60 workers.
  const hub = await startHubProcess({ validation: { maxLeasesPerAddress: 512 } });
  const children: ChildProcess[] = [];
  const board = io(`${hub.url}${BOARD_NAMESPACE}`, { transports: ['websocket'], auth: { protocolVersion: PROTOCOL_VERSION } });
  try {
    const token = (await api(hub.url, '/worker-tokens', { name: 'bench swarm' })).token as string;
    // The reference: one Node worker with the token, 16 in flight, on this fresh hub (warmed by its own crawl).
    const reference = spawnNodeWorkers(hub.url, 1, IN_FLIGHT, token);
    await waitForWorkers(hub.url, 1);
    await crawl(hub.url, 'warm-up');
    let cpu = processCpuSeconds(hub.child.pid!);
    await crawl(hub.url, 'reference');
    const referenceCpuMs = ((processCpuSeconds(hub.child.pid!) - cpu) * 1000) / PAGES;
    await Promise.all(reference.map((w) => stop(w, 'SIGINT')));

    const halves = [Math.ceil(count / 2), Math.floor(count / 2)].filter((n) => n > 0);
    let first = 0;
    const connected = await Promise.all(
      halves.map(async (n) => {
        const { child, match } = await spawnUntil([join(root, 'bench/swarm-process.ts'), hub.url, String(n), String(first), token], /^CONNECTED (\d+)/);
        first += n;
        children.push(child);
        return Number(match[1]);
      }),
    );
    await waitForWorkers(hub.url, count);
    const gaps: number[] = [];
    const lags: number[] = [];
    let last = 0;
    board.on('board:delta', (delta: { at: number }) => {
      const now = Date.now();
      if (last > 0) gaps.push(now - last);
      lags.push(now - delta.at);
      last = now;
    });
    cpu = processCpuSeconds(hub.child.pid!);
    const detail = await crawl(hub.url, 'swarm');
    return {
      connected: connected.reduce((a, b) => a + b, 0),
      boardGapMaxMs: Math.max(...gaps),
      boardGapMedianMs: median(gaps),
      boardLagMaxMs: Math.max(...lags),
      rate: crawlRate(detail),
      cpuMs: ((processCpuSeconds(hub.child.pid!) - cpu) * 1000) / PAGES,
      referenceCpuMs,
      hubRssMb: peakRssMb(hub.child.pid!),
    };
  } finally {
    board.close();
    await Promise.all(children.map((c) => stop(c)));
    await hub.close();
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n.toFixed(2)) : '');
try {
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

  if (SWARM > 0) {
    const swarm: SwarmFigure[] = [];
    for (let run = 0; run < RUNS; run++) swarm.push(await swarmRun(SWARM));
    const s = (pick: (f: SwarmFigure) => number) => median(swarm.map(pick));
    console.log(`\n${SWARM} lightweight socket workers (2 processes, 1 page in flight each, worker token), the same crawl, medians of ${RUNS} runs`);
    printTable(['figure', 'value', 'reference (1 Node worker, same hub, same run)'], [
      ['connected', s((f) => f.connected), ''],
      ['board: longest gap between updates (ms)', s((f) => f.boardGapMaxMs), ''],
      ['board: median gap between updates (ms)', s((f) => f.boardGapMedianMs), ''],
      ['board: longest lag, hub stamp to receipt (ms)', s((f) => f.boardLagMaxMs), ''],
      ['pages/s', s((f) => f.rate), ''],
      ['hub CPU ms/page', s((f) => f.cpuMs), s((f) => f.referenceCpuMs)],
      ['hub peak RSS MB', s((f) => f.hubRssMb), ''],
    ]);
    console.log('Targets: board updates within 1 s; hub CPU per page under 2× the reference.');
  }
} finally {
  await site.close();
}
