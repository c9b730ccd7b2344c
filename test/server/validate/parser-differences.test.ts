// Homogeneous redundancy: on a page DOMParser and parse5 read differently
// (docs/extraction.md, "Known differences"), an honest tab's result differs
// from the hub's cheerio run. It must be judged by another browser, and never
// cost the tab a strike. The browsers' results here come from real Chromium.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, waitForCrawlEnd } from '../../helpers/hub.ts';
import { startNodeWorker } from '../../../server/worker/node-worker.ts';
import { launchChromium } from '../../../server/browser/chromium.ts';
import { browserExtractBundle } from '../../../server/extract/browser-bundle.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import type { ExtractFn } from '../../../shared/worker/loop.ts';
import type { ExtractResult } from '../../../shared/extract/engine.ts';

// Chromium keeps the quote inside <select> (customizable select); parse5 drops it.
const ODD_PAGE = `<!doctype html><html><body>
<div class="quote"><span class="text">outside</span><span><small>A</small></span></div>
<select><option>x</option><div class="quote"><span class="text">inside a select</span><span><small>B</small></span></div></select>
</body></html>`;

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
let browser: Browser;
let page: Page;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 4 }));
  site.setHandler((req, res) => {
    if (req.url !== '/odd/') return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(ODD_PAGE);
    return true;
  });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.addScriptTag({ content: await browserExtractBundle() });
});
after(async () => {
  await browser?.close();
  site.close();
});

const inChromium: ExtractFn = (html, spec, pageUrl, depth) =>
  page.evaluate(
    ([h, s, u, d]) => (globalThis as unknown as { crowdcrawlExtract: (...a: unknown[]) => ExtractResult }).crowdcrawlExtract(h, s, u, { depth: d }),
    [html, spec, pageUrl, depth] as const,
  );

const spec = () => quotesSpec(site.origin, { startUrls: [site.url('/odd/'), ...[1, 2, 3, 4].map((n) => site.url(`/page/${n}/`))], follow: [] });

test('the fixture really parses differently in Chromium and in parse5', async () => {
  const s = (await import('../../../shared/spec/schema.ts')).assertSpec(spec());
  const dom = await inChromium(ODD_PAGE, s, site.url('/odd/'), 0);
  const cheerio = extractHtml(ODD_PAGE, s, site.url('/odd/'), { depth: 0 });
  assert.equal(dom.items.length, 2);
  assert.equal(cheerio.items.length, 1);
});

test('two tabs agree on the odd page: their result is recorded, and no one is struck', async () => {
  const hub = await startTestHub();
  const tabs = [2, 3].map((n) => startNodeWorker({ hubUrl: hub.url, kind: 'tab', name: `tab-${n}`, concurrency: 2, localAddress: `127.0.0.${n}`, extract: inChromium }));
  try {
    await Promise.all(tabs.map((t) => t.ready()));
    const crawl = await hub.engine.createCrawl(spec());
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.deepEqual([summary.status, summary.pagesDone, summary.items], ['finished', 5, 42]);
    const texts = (hub.storage.db.prepare("SELECT json_extract(data, '$.text') AS t FROM items WHERE crawl_id = ?").all(crawl.id) as { t: string }[]).map((r) => r.t);
    assert.ok(texts.includes('inside a select'), 'the browsers\' reading of the page');
    assert.equal(summary.validation.rejected, 0);
    for (const row of hub.engine.trust.view().contributors) assert.equal(row.strikes, 0, row.label);
  } finally {
    await Promise.all(tabs.map((t) => t.stop()));
    await hub.cleanup();
  }
});

test('a tab beside a Node worker: whoever gets the odd page, no honest worker is struck and the crawl finishes', async () => {
  // No second browser to judge the tab: its check runs out (checkTimeoutMs) and the page goes back, without a strike.
  const hub = await startTestHub({ validation: { checkTimeoutMs: 1000 } });
  const tab = startNodeWorker({ hubUrl: hub.url, kind: 'tab', name: 'tab', concurrency: 2, localAddress: '127.0.0.2', extract: inChromium });
  const node = startNodeWorker({ hubUrl: hub.url, name: 'node', concurrency: 2, localAddress: '127.0.0.3' });
  try {
    await Promise.all([tab.ready(), node.ready()]);
    const crawl = await hub.engine.createCrawl(spec());
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.deepEqual([summary.status, summary.pagesDone, summary.validation.rejected], ['finished', 5, 0]);
    for (const row of hub.engine.trust.view().contributors) assert.equal(row.strikes, 0, row.label);
  } finally {
    await Promise.all([tab.stop(), node.stop()]);
    await hub.cleanup();
  }
});
