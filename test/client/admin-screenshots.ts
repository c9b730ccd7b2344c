// Takes the admin console screenshots in docs/screenshots/ (admin-*.png):
//
//   node test/client/admin-screenshots.ts [OUT_DIR]
//
// A real hub, Node workers and the fixture quotes site (some author pages
// answer 404 and one host is unreachable, so the errors panel has something to
// show), and a worker that forges items, caught and banned so the trust table
// and the bans have something to show; the console driven by headless Chromium. Not a test: run it by hand
// after changing the console, and look at the pictures.
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from '../../server/browser/chromium.ts';
import { quotesSite } from '../fixtures/site/quotes.ts';
import { startFixtureServer } from '../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../helpers/hub.ts';
import { startNodeWorker } from '../../server/worker/node-worker.ts';
import { extractHtml } from '../../server/extract/cheerio.ts';

const out = process.argv[2] ? `${process.argv[2].replace(/\/$/, '')}/` : new URL('../../docs/screenshots/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

const site = await startFixtureServer(quotesSite({ pages: 150 }));
site.setHandler((req, res) => {
  // Every third author page is gone: final RELAY_HTTP_STATUS failures to show.
  const match = /^\/author\/([^/]+)\/?$/.exec(req.url ?? '');
  if (match && match[1]!.length % 3 === 0) {
    res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>gone</h1>');
    return true;
  }
  return false;
});
const hub = await startTestHub({ retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } });
const workers = [
  ...(await startWorkers(hub.url, 2, { concurrency: 2, minDelayMs: 300 })),
  ...(await startWorkers(hub.url, 1, { concurrency: 2, minDelayMs: 300, name: 'edge-berlin', kind: 'headless', localAddress: '127.0.0.2' })),
  // Forges every item's text: struck on its first checks, then banned with its address.
  startNodeWorker({
    hubUrl: hub.url,
    name: 'mallory',
    concurrency: 1,
    minDelayMs: 300,
    localAddress: '127.0.0.9',
    extract: (html, spec, pageUrl, depth) => {
      const honest = extractHtml(html, spec, pageUrl, { depth });
      return { ...honest, items: honest.items.map((item) => ({ ...item, data: { ...item.data, text: 'Buy cheap watches!' } })) };
    },
  }),
];
const browser = await launchChromium();
try {
  // An earlier crawl, finished.
  const earlier = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'quotes-first-pages', limits: { maxPages: 5 } }));
  await waitForCrawlEnd(hub, earlier.id);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${hub.url}/admin`);
  await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();

  // The new-crawl form, filled in, with its preview.
  await page.getByRole('link', { name: 'New crawl' }).first().click();
  await page.getByLabel('Crawl name').fill('quotes-and-authors');
  await page.getByLabel('Start URLs').fill(`${site.origin}/page/1/`);
  await page.getByLabel('Item selector').fill('div.quote');
  await page.getByLabel('Field 1 name').fill('text');
  await page.getByLabel('Field 1 selector').fill('span.text::text');
  await page.getByRole('button', { name: 'Add a field' }).click();
  await page.getByLabel('Field 2 name').fill('author');
  await page.getByLabel('Field 2 selector').fill('small.author::text');
  await page.getByRole('button', { name: 'Add a field' }).click();
  await page.getByLabel('Field 3 name').fill('tags');
  await page.getByLabel('Field 3 selector').fill('div.tags a.tag::text');
  await page.getByLabel('Field 3: every match').check();
  await page.getByLabel('Follow', { exact: true }).selectOption('selector');
  await page.getByLabel('Link selector').fill('li.next a, div.quote a[href^="/author/"]');
  await page.getByLabel('Pages at once per host').fill('4');
  await page.getByLabel('Obey robots.txt').uncheck();
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.locator('table.preview-items tbody tr').first().waitFor();
  await page.screenshot({ path: `${out}admin-new-crawl.png`, fullPage: true });

  // A JSON editor with a mistake in it.
  await page.getByRole('tab', { name: 'JSON' }).click();
  const json = await page.getByLabel('Spec as JSON').inputValue();
  await page.getByLabel('Spec as JSON').fill(json.replace('"span.text::text"', '"span.text::txt"'));
  await page.locator('#json-problems .problem').first().waitFor();
  await page.locator('section[aria-label="Spec"]').screenshot({ path: `${out}admin-json-error.png` });
  await page.getByLabel('Spec as JSON').fill(json);
  await page.getByRole('tab', { name: 'Form' }).click();

  // Start it and watch for a while.
  await page.getByRole('button', { name: 'Start crawl' }).click();
  await page.waitForURL(/\/admin\/crawls\//);
  await sleep(9000);
  await page.screenshot({ path: `${out}admin-crawl.png`, fullPage: true });

  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(page.url());
  await sleep(2500);
  await phone.screenshot({ path: `${out}admin-crawl-phone.png`, fullPage: false });

  await page.getByRole('link', { name: 'Crawls', exact: true }).click();
  await sleep(1500);
  await page.screenshot({ path: `${out}admin-crawls.png`, fullPage: true });

  await page.getByRole('link', { name: /Contributors/ }).click();
  await page.getByLabel('Token name').fill('edge-frankfurt');
  await page.getByRole('button', { name: 'Issue token' }).click();
  await page.locator('[data-issued-token]').waitFor();
  await sleep(4500);
  await page.screenshot({ path: `${out}admin-contributors.png`, fullPage: true });
  console.log(`screenshots in ${out}`);
} finally {
  await browser.close();
  await Promise.all(workers.map((w) => w.stop()));
  await hub.cleanup();
  await site.close();
}
