// End-to-end crawl speed with Node workers: pages/s and the hub's own CPU per
// page, crawling the 1000-page docs fixture site (wide) and a 1000-page quotes
// pager (a serial chain: each page links only to the next), beside a plain
// undici loop over the same URLs measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { quotesSite } from '../test/fixtures/site/quotes.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { docsCrawlSpec, median, printTable, rawFetchRate, root, spawnNodeWorkers, spawnUntil, stop, timeCrawl, waitForWorkers } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);

interface Figure {
  pagesPerSecond: number;
  hubCpuMsPerPage: number;
}

async function crawlOnce(spec: Record<string, unknown>, workers: number, concurrency: number, expectedPages: number): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-'));
  // BENCH_HUB_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the hub.
  const hubArgs = (process.env.BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const { child: hub, match } = await spawnUntil([...hubArgs, join(root, 'bench/hub-process.ts'), dir], /^READY (\S+)/);
  const hubUrl = match[1]!;
  const children: ChildProcess[] = [];
  try {
    children.push(...spawnNodeWorkers(hubUrl, workers, concurrency));
    await waitForWorkers(hubUrl, workers);
    const { pagesPerSecond, hubCpuSecondsPerPage } = await timeCrawl(hubUrl, hub.pid!, spec, expectedPages);
    return { pagesPerSecond, hubCpuMsPerPage: hubCpuSecondsPerPage * 1000 };
  } finally {
    await Promise.all(children.map((c) => stop(c, 'SIGINT')));
    await stop(hub);
    rmSync(dir, { recursive: true, force: true });
  }
}

const docs = docsSite({ pages: 1000 });
const quotes = quotesSite({ pages: 1000, tagPages: false });
const docsServer = await startFixtureServer(docs);
const quotesServer = await startFixtureServer(quotes);
try {
  const docsUrls = docs.paths.map((p) => docsServer.url(p));
  const quotesUrls = Array.from({ length: 1000 }, (_, i) => quotesServer.url(`/page/${i + 1}/`));
  const wideSpec = docsCrawlSpec(docsServer.url('/'));
  const serialSpec = {
    name: 'quotes',
    startUrls: [quotesServer.url('/page/1/')],
    items: [{ selector: 'div.quote', fields: { text: 'span.text::text', author: 'span small::text' } }],
    follow: [{ selector: 'li.next a::attr(href)' }],
    politeness: { obeyRobotsTxt: false, perHostConcurrency: 64, perHostDelayMs: 0 },
  };

  const rows: (string | number)[][] = [];
  const rawWide: number[] = [];
  const rawSerial: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    rawWide.push(await rawFetchRate(docsUrls, 16));
    rawSerial.push(await rawFetchRate(quotesUrls, 1));
  }
  const rawWideMedian = median(rawWide);
  const rawSerialMedian = median(rawSerial);
  for (const workers of WORKER_COUNTS) {
    const figures: Figure[] = [];
    for (let run = 0; run < RUNS; run++) figures.push(await crawlOnce(wideSpec, workers, 16, 1000));
    const rate = median(figures.map((f) => f.pagesPerSecond));
    rows.push([`wide, ${workers} Node worker(s)`, rate, median(figures.map((f) => f.hubCpuMsPerPage)), rawWideMedian, `${((rate / rawWideMedian) * 100).toFixed(0)}%`]);
  }
  const serial: Figure[] = [];
  for (let run = 0; run < RUNS; run++) serial.push(await crawlOnce(serialSpec, 1, 4, 1000));
  const serialRate = median(serial.map((f) => f.pagesPerSecond));
  rows.push(['serial chain, 1 Node worker', serialRate, median(serial.map((f) => f.hubCpuMsPerPage)), rawSerialMedian, `${((serialRate / rawSerialMedian) * 100).toFixed(0)}%`]);

  console.log(`End-to-end crawls, 1000 pages each, medians of ${RUNS} runs (hub in its own process; workers one process each)`);
  printTable(['crawl', 'pages/s', 'hub CPU ms/page', 'raw undici pages/s', 'of raw'], rows);
  console.log('raw undici: wide = 16 requests in flight over the same URL list; serial = one at a time (a chain cannot do better).');
} finally {
  await docsServer.close();
  await quotesServer.close();
}
