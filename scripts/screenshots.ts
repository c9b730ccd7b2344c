// Regenerates the contributor page screenshots in docs/screenshots/ from a real
// crawl: a hub, a slowed-down local quotes site, a few contributors (some with
// totals from an earlier crawl and gone offline, some online: tabs, headless
// tabs, a Node worker), and the page itself contributing as "ada".
//
//   node scripts/screenshots.ts
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startHub } from '../server/app.ts';
import { launchChromium } from '../server/browser/chromium.ts';
import { startNodeWorker, type NodeWorker } from '../server/worker/node-worker.ts';
import { EdgeTabs } from '../server/worker/edge-tabs.ts';
import { ensureClientBuilt } from '../server/cli/client-build.ts';
import { demoSpec } from '../server/cli/demo.ts';
import { quotesSite } from '../test/fixtures/site/quotes.ts';
import { startFixtureServer } from '../test/fixtures/site/server.ts';
import { tempDir } from '../test/helpers/hub.ts';

const OUT = new URL('../docs/screenshots/', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function volunteerTab(browser: Browser, hubUrl: string, name: string, viewport: { width: number; height: number }, scale = 1): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: scale, colorScheme: 'light', locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(hubUrl);
  await page.getByTestId('nickname').fill(name);
  await page.getByTestId('contribute').click();
  return page;
}

if (!(await ensureClientBuilt())) throw new Error('the contributor page is not built (npm run build)');
mkdirSync(OUT, { recursive: true });
const dir = tempDir('crowdcrawl-screenshots-');
const site = await startFixtureServer(quotesSite({ pages: 400 }));
const hub = await startHub({ port: 0, dataDir: dir.path, allowHosts: ['127.0.0.1'], adminToken: randomBytes(18).toString('base64url'), log: () => {} });
const browser = await launchChromium();
const nodeWorkers: NodeWorker[] = [];
let edge: EdgeTabs | undefined;
try {
  // Earlier contributors: a short crawl, then they go offline with their totals kept.
  const earlier = ['grace', 'linus', 'hedy'].map((name, i) => startNodeWorker({ hubUrl: hub.url, name, concurrency: 2 + i, kind: i === 1 ? 'headless' : 'tab' }));
  await Promise.all(earlier.map((w) => w.ready()));
  const warmup = await hub.engine.createCrawl({ ...demoSpec(site.origin, 0), name: 'warm-up', limits: { maxPages: 160 } });
  while (warmup.status === 'running') await sleep(50);
  await Promise.all(earlier.map((w) => w.stop()));

  // Now a slow site, so the page is caught mid-crawl with pages in flight.
  site.setHandler(async () => {
    await sleep(150 + Math.random() * 400);
    return false;
  });
  edge = await EdgeTabs.start({ hubUrl: hub.url, tabs: 2, name: 'edge-berlin', clientId: randomBytes(16).toString('base64url'), concurrency: 3, browser });
  nodeWorkers.push(startNodeWorker({ hubUrl: hub.url, name: 'lab-node-1', concurrency: 3 }));
  const desktop = await volunteerTab(browser, hub.url, 'ada', { width: 1280, height: 800 });
  const other = await volunteerTab(browser, hub.url, 'mira', { width: 800, height: 600 });
  await hub.engine.createCrawl({ ...demoSpec(site.origin, 0), name: 'quotes' });
  await hub.engine.createCrawl({ ...demoSpec(site.origin, 0), name: 'quotes-authors', startUrls: [`${site.origin}/page/200/`] });
  await sleep(12_000);
  const phone = await volunteerTab(browser, hub.url, 'sam', { width: 390, height: 844 }, 2);
  await sleep(4_000);
  await desktop.screenshot({ path: join(OUT, 'contributor-desktop.png') });
  await phone.screenshot({ path: join(OUT, 'contributor-phone.png') });
  await phone.screenshot({ path: join(OUT, 'contributor-phone-full.png'), fullPage: true });
  console.log(`wrote ${OUT}contributor-desktop.png, contributor-phone.png and contributor-phone-full.png`);
  await other.context().close();
} finally {
  site.setHandler(null);
  await edge?.stop();
  await Promise.all(nodeWorkers.map((w) => w.stop()));
  await browser.close();
  await hub.close();
  await site.close();
  dir.remove();
}
