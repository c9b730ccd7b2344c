// Headless edge tabs: pages/s with N Chromium tabs of the contributor page
// (N = 1, 2, 4; 4 pages in flight each) crawling the 1000-page docs fixture
// site, following every link, with the hub's own CPU seconds per 1000 pages.
// Beside them, in the same run: Node workers with the same pages in flight,
// and the raw-fetch ceiling (a plain undici loop over the same 1000 URLs).
// Then the serial chain (the 1000-page quotes pager, each page linking only to
// the next) with 2 tabs, beside a one-at-a-time undici loop over the same URLs.
// BENCH_TABS picks the tab counts, BENCH_NODE=0 leaves the Node workers out,
// BENCH_SERIAL=0 the serial chain.
// The hub runs in its own process, so its CPU time is its alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { docsSite } from '../test/fixtures/site/docs.ts';
import { quotesSite } from '../test/fixtures/site/quotes.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { EdgeTabs } from '../server/worker/edge-tabs.ts';
import { ensureClientBuilt } from '../server/cli/client-build.ts';
import { docsCrawlSpec, median, printTable, rawFetchRate, root, spawnNodeWorkers, spawnUntil, stop, timeCrawl, waitForWorkers } from './lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
// BENCH_TABS=0: no tabs (the Node workers only).
const TAB_COUNTS = (process.env.BENCH_TABS ?? '1,2,4').split(',').map(Number).filter((n) => n > 0);
const PER_TAB = 4;
const PAGES = 1000;

interface Figure {
  pagesPerSecond: number;
  hubCpuSecondsPer1000: number;
}

type Workers = { kind: 'tabs'; count: number; browser: Browser } | { kind: 'node'; count: number };

async function crawlOnce(spec: Record<string, unknown>, workers: Workers): Promise<Figure> {
  const dir = mkdtempSync(join(tmpdir(), 'crowdcrawl-bench-tabs-'));
  const { child: hub, match } = await spawnUntil([join(root, 'bench/hub-process.ts'), dir], /^READY (\S+)/);
  const hubUrl = match[1]!;
  let children: ChildProcess[] = [];
  let edge: EdgeTabs | undefined;
  try {
    if (workers.kind === 'tabs') {
      edge = await EdgeTabs.start({
        hubUrl,
        tabs: workers.count,
        name: 'bench-tabs',
        clientId: randomBytes(16).toString('base64url'),
        concurrency: PER_TAB,
        browser: workers.browser,
      });
    } else {
      children = spawnNodeWorkers(hubUrl, workers.count, PER_TAB);
    }
    await waitForWorkers(hubUrl, workers.count);
    const { pagesPerSecond, hubCpuSecondsPerPage } = await timeCrawl(hubUrl, hub.pid!, spec, PAGES);
    return { pagesPerSecond, hubCpuSecondsPer1000: hubCpuSecondsPerPage * 1000 };
  } finally {
    await edge?.stop();
    await Promise.all(children.map((c) => stop(c, 'SIGINT')));
    await stop(hub);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (!(await ensureClientBuilt())) throw new Error('the contributor page is not built (npm run build)');
const docs = docsSite({ pages: PAGES });
const server = await startFixtureServer(docs);
const quotes = quotesSite({ pages: PAGES, tagPages: false });
const quotesServer = await startFixtureServer(quotes);
const browser = await launchChromium();
try {
  const urls = docs.paths.map((p) => server.url(p));
  const spec = docsCrawlSpec(server.url('/'));

  const raw: number[] = [];
  for (let run = 0; run < RUNS; run++) raw.push(await rawFetchRate(urls, 16));
  const rawMedian = median(raw);

  const rows: (string | number)[][] = [];
  const measure = async (label: string, workers: Workers) => {
    const figures: Figure[] = [];
    for (let run = 0; run < RUNS; run++) figures.push(await crawlOnce(spec, workers));
    const rate = median(figures.map((f) => f.pagesPerSecond));
    rows.push([label, String(workers.count * PER_TAB), rate, median(figures.map((f) => f.hubCpuSecondsPer1000)), `${((rate / rawMedian) * 100).toFixed(0)}%`]);
  };
  for (const count of TAB_COUNTS) await measure(`${count} headless tab${count > 1 ? 's' : ''}`, { kind: 'tabs', count, browser });
  if (process.env.BENCH_NODE !== '0') for (const count of new Set([1, Math.max(1, ...TAB_COUNTS)])) await measure(`${count} Node worker${count > 1 ? 's' : ''}`, { kind: 'node', count });
  rows.push(['raw undici loop (no hub)', '16', rawMedian, '', '100%']);

  console.log(`Headless edge tabs vs Node workers: the ${PAGES}-page docs site, every link followed, medians of ${RUNS} runs`);
  printTable(['workers', 'in flight', 'pages/s', 'hub CPU s/1000 pages', 'of raw'], rows);
  console.log(`Each tab or Node worker keeps ${PER_TAB} pages in flight; tabs run in one Chromium, one browser context each.`);

  if (process.env.BENCH_SERIAL !== '0') {
    const quotesUrls = Array.from({ length: PAGES }, (_, i) => quotesServer.url(`/page/${i + 1}/`));
    const rawSerial: number[] = [];
    for (let run = 0; run < RUNS; run++) rawSerial.push(await rawFetchRate(quotesUrls, 1));
    const rawSerialMedian = median(rawSerial);
    const serialSpec = {
      name: 'quotes',
      startUrls: [quotesServer.url('/page/1/')],
      items: [{ selector: 'div.quote', fields: { text: 'span.text::text', author: 'span small::text' } }],
      follow: [{ selector: 'li.next a::attr(href)' }],
      politeness: { obeyRobotsTxt: false, perHostConcurrency: 64, perHostDelayMs: 0 },
    };
    const serial: Figure[] = [];
    for (let run = 0; run < RUNS; run++) serial.push(await crawlOnce(serialSpec, { kind: 'tabs', count: 2, browser }));
    const rate = median(serial.map((f) => f.pagesPerSecond));
    console.log(`\nThe serial chain: the ${PAGES}-page quotes pager (each page links only to the next), medians of ${RUNS} runs`);
    printTable(
      ['workers', 'pages/s', 'ms from page to page', 'hub CPU s/1000 pages', 'raw undici pages/s (one at a time)', 'of raw'],
      [['2 headless tabs', rate, 1000 / rate, median(serial.map((f) => f.hubCpuSecondsPer1000)), rawSerialMedian, `${((rate / rawSerialMedian) * 100).toFixed(0)}%`]],
    );
  }
} finally {
  await browser.close();
  await server.close();
  await quotesServer.close();
}
