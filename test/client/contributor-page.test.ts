import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../server/browser/chromium.ts';
import { quotesSite, expectedQuotes } from '../fixtures/site/quotes.ts';
import { startFixtureServer } from '../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../helpers/hub.ts';
import type { PageGlobals } from '../../server/worker/edge-tabs.ts';
import type { VolunteerStatus } from '../../shared/page-api.ts';
import { scaled } from '../helpers/wait.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
type TestHub = Awaited<ReturnType<typeof startTestHub>>;

let browser: Browser;
let site: Site;
const PAGES = 40;

before(async () => {
  browser = await launchChromium();
  site = await startFixtureServer(quotesSite({ pages: PAGES }));
});
after(async () => {
  await browser?.close();
  await site?.close();
});

/** The quotes crawl, fanned out: the next-page chain plus every author page (which have no quotes). */
function sharedSpec(origin: string) {
  return quotesSpec(origin, { follow: [{ selector: 'li.next a' }, { selector: 'div.quote a[href^="/author/"]' }] });
}

function status(page: Page): Promise<VolunteerStatus | undefined> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).crowdcrawl?.status());
}

async function waitForState(page: Page, states: string[]): Promise<void> {
  await page.waitForFunction((wanted) => wanted.includes((globalThis as unknown as PageGlobals).crowdcrawl?.status().state ?? ''), states, { timeout: 30_000 });
}

/** A volunteer's tab in a browser context of its own (its own localStorage, so its own clientId). */
async function volunteer(hub: TestHub, nickname: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(hub.url);
  await page.getByTestId('nickname').fill(nickname);
  await page.getByTestId('contribute').click();
  await waitForState(page, ['idle', 'working']);
  return { context, page };
}

/** Waits until the board on the page lists `name` with `pages` pages (the board updates about once a second). */
async function waitForBoardRow(page: Page, name: string, pages: string): Promise<void> {
  await page.waitForFunction(
    ([name, pages]) =>
      [...document.querySelectorAll('[data-testid=board] tbody tr')].some(
        (tr) => tr.querySelector('[data-testid=board-name]')?.textContent === name && tr.querySelector('[data-testid=board-pages]')?.textContent === pages,
      ),
    [name, pages] as const,
    { timeout: 30_000 },
  );
}

async function quoteTexts(hub: TestHub, crawlId: string): Promise<string[]> {
  return (await Array.fromAsync(hub.storage.iterateItems(crawlId))).map((row) => (JSON.parse(row.data) as { text: string }).text);
}

async function assertEveryQuoteOnce(hub: TestHub, crawlId: string): Promise<void> {
  const texts = await quoteTexts(hub, crawlId);
  const expected = Array.from({ length: PAGES }, (_, i) => expectedQuotes(i + 1).map((q) => q.text)).flat();
  assert.equal(texts.length, expected.length, 'as many items as quotes on the site');
  assert.equal(new Set(texts).size, texts.length, 'no item stored twice');
  assert.deepEqual(new Set(texts), new Set(expected));
}

async function assertEveryPageOnce(hub: TestHub, crawlId: string): Promise<void> {
  const counts = await hub.storage.countByState(crawlId);
  const { pagesDone } = hub.engine.crawls.require(crawlId);
  assert.ok(pagesDone > 0, 'pages were done');
  assert.deepEqual(counts, { queued: 0, done: pagesDone, failed: 0, skipped: 0 }, `every page recorded as done, none queued or failed: ${JSON.stringify(counts)}`);
}

test('a volunteer picks a nickname and contributes: the crawl completes and the board shows the nickname with its pages', async () => {
  const hub = await startTestHub();
  const { context, page } = await volunteer(hub, '  ada  ');
  try {
    assert.equal(await page.getByTestId('own-name').textContent(), 'ada', 'the nickname is trimmed');
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 20 } }));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 20);
    assert.equal(summary.items, 200);
    assert.equal((await status(page))?.pages, 20);
    await waitForBoardRow(page, 'ada', '20');
    await page.waitForFunction(() => document.querySelector('[data-testid=alltime-pages]')?.textContent === '20');
    assert.equal(await page.getByTestId('session-pages').textContent(), '20');

    // The nickname is remembered, and so is the browser: its all-time totals come back.
    await page.reload();
    assert.equal(await page.getByTestId('nickname').inputValue(), 'ada');
    await page.getByText('Welcome back: 20 pages').waitFor({ timeout: 30_000 });
  } finally {
    await context.close();
    await hub.cleanup();
  }
});

test('two tabs, a headless tab and a Node worker share one crawl: every page once, no item twice', async () => {
  const hub = await startTestHub();
  const tabs = [await volunteer(hub, 'tab-one'), await volunteer(hub, 'tab-two')];
  const edgeContext = await browser.newContext();
  const edge = await edgeContext.newPage();
  await edge.goto(`${hub.url}/?worker=headless&name=edge&clientId=edge-client-id-0123456&autostart=1&concurrency=4`);
  await waitForState(edge, ['idle', 'working']);
  const workers = await startWorkers(hub.url, 1, { name: 'node-one' });
  try {
    site.resetRequests();
    const crawl = await hub.engine.createCrawl(sharedSpec(site.origin));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesFailed, 0);
    await assertEveryPageOnce(hub, crawl.id);
    await assertEveryQuoteOnce(hub, crawl.id);
    for (let p = 1; p <= PAGES; p++) assert.equal(site.requestsFor(`/page/${p}/`), 1, `page ${p} fetched once`);

    const kinds = new Map([...hub.engine.workers.all()].map((w) => [w.name, w.kind]));
    assert.deepEqual(Object.fromEntries(kinds), { 'tab-one': 'tab', 'tab-two': 'tab', edge: 'headless', 'node-one': 'node' });
    const byWorker = [...hub.engine.workers.all()].reduce((sum, w) => sum + w.pagesDone, 0);
    assert.equal(byWorker, summary.pagesDone, 'the workers’ pages add up to the crawl’s');
    await waitForBoardRow(tabs[0]!.page, 'edge', String([...hub.engine.workers.all()].find((w) => w.name === 'edge')!.pagesDone));
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    for (const tab of tabs) await tab.context.close();
    await edgeContext.close();
    await hub.cleanup();
  }
});

test('a tab closed in the middle of a crawl loses nothing: its pages go to another worker', async () => {
  const hub = await startTestHub();
  // Slow pages, so the tab holds leases when it closes.
  site.setHandler(async (req) => {
    if (req.url?.startsWith('/page/')) await new Promise((resolve) => setTimeout(resolve, 150));
    return false;
  });
  const tab = await volunteer(hub, 'leaver');
  let workers: Awaited<ReturnType<typeof startWorkers>> = [];
  try {
    site.resetRequests();
    const crawl = await hub.engine.createCrawl(sharedSpec(site.origin));
    await tab.page.waitForFunction(() => ((globalThis as unknown as PageGlobals).crowdcrawl?.status().pages ?? 0) >= 5, undefined, { timeout: 30_000 });
    const held = hub.engine.leasesInFlight;
    await tab.context.close();
    assert.ok(crawl.status === 'running', 'the crawl was still going when the tab closed');
    assert.ok(held > 0 || crawl.frontier.queued > 0, 'there was work left');
    workers = await startWorkers(hub.url, 1, { name: 'finisher' });
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesFailed, 0);
    await assertEveryPageOnce(hub, crawl.id);
    await assertEveryQuoteOnce(hub, crawl.id);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await tab.context.close().catch(() => undefined);
    await hub.cleanup();
  }
});

test('a tab whose network drops for 5 s reconnects and finishes the crawl exactly', async () => {
  const hub = await startTestHub({ leaseTtlMs: 15_000 });
  site.setHandler(async (req) => {
    if (req.url?.startsWith('/page/')) await new Promise((resolve) => setTimeout(resolve, 50));
    return false;
  });
  const tab = await volunteer(hub, 'wobbly');
  try {
    const crawl = await hub.engine.createCrawl(sharedSpec(site.origin));
    await tab.page.waitForFunction(() => ((globalThis as unknown as PageGlobals).crowdcrawl?.status().pages ?? 0) >= 5, undefined, { timeout: 30_000 });
    await tab.context.setOffline(true);
    await waitForState(tab.page, ['connecting']);
    // Offline for 5 s times the test time factor (CROWDCRAWL_TEST_TIME_FACTOR): long enough for reconnects to fail.
    await new Promise((resolve) => setTimeout(resolve, scaled(5000, 1000)));
    assert.equal(crawl.status, 'running', 'no one else worked on the crawl meanwhile');
    await tab.context.setOffline(false);
    const summary = await waitForCrawlEnd(hub, crawl.id, 120_000);
    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesFailed, 0);
    await assertEveryPageOnce(hub, crawl.id);
    await assertEveryQuoteOnce(hub, crawl.id);
    assert.equal([...hub.engine.workers.all()].filter((w) => w.name === 'wobbly').length, 1, 'one session again after the reconnect');
  } finally {
    site.setHandler(null);
    await tab.context.close();
    await hub.cleanup();
  }
});

test('a nickname that looks like HTML is shown as text and runs nothing', async () => {
  const hub = await startTestHub();
  const nickname = '<img src=x onerror=alert(1)>';
  const context = await browser.newContext();
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  try {
    await page.goto(hub.url);
    await page.getByTestId('nickname').fill(nickname);
    await page.getByTestId('contribute').click();
    await waitForState(page, ['idle', 'working']);
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 2 } }));
    await waitForCrawlEnd(hub, crawl.id);
    await waitForBoardRow(page, nickname, '2');
    assert.equal(await page.getByTestId('own-name').textContent(), nickname);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0, 'no img element was made');
    assert.deepEqual(dialogs, [], 'no script ran');
  } finally {
    await context.close();
    await hub.cleanup();
  }
});

test('when the hub speaks another protocol version, the page says to reload', async () => {
  const hub = await startTestHub();
  const context = await browser.newContext();
  const page = await context.newPage();
  // Stand in for a newer hub: answer every Socket.IO connect with PROTOCOL_MISMATCH, as the hub does.
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    ws.send(JSON.stringify({ sid: 'test', upgrades: [], pingInterval: 25_000, pingTimeout: 20_000, maxPayload: 1_000_000 }).replace(/^/, '0'));
    ws.onMessage((message) => {
      const connect = /^40(\/[^,]*,)?/.exec(String(message));
      if (!connect) return;
      const error = { code: 'PROTOCOL_MISMATCH', message: 'this hub speaks protocol 99' };
      ws.send(`44${connect[1] ?? ''}${JSON.stringify({ message: error.message, data: error })}`);
    });
  });
  try {
    await page.goto(hub.url);
    await page.getByTestId('outdated').waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('outdated').textContent()) ?? '', /Reload/);
  } finally {
    await context.close();
    await hub.cleanup();
  }
});

test('the edge page (crowdcrawl workers) crawls with no board and no activity rendering', async () => {
  const hub = await startTestHub();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const boardSockets: string[] = [];
    page.on('websocket', (ws) => {
      if (ws.url().includes('/board')) boardSockets.push(ws.url());
    });
    await page.goto(`${hub.url}/edge.html?worker=headless&name=edge&clientId=edge-client-id-0123456&autostart=1&concurrency=4`);
    await waitForState(page, ['idle', 'working']);
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 10 } }));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 10);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).crowdcrawl?.status().pages === 10);
    // Nothing but one status line: no Svelte app, no board, no activity list, no board connection.
    assert.equal(await page.locator('#app, [data-testid=board], [data-testid=activity]').count(), 0);
    assert.equal(await page.evaluate(() => document.body.querySelectorAll('*').length), 2, 'the status line and the noscript (the build puts the script in the head)');
    await page.waitForFunction(() => /10 pages/.test(document.querySelector('[data-testid=edge-status]')?.textContent ?? ''));
    assert.deepEqual(boardSockets, []);
    assert.equal([...hub.engine.workers.all()][0]?.kind, 'headless');
  } finally {
    await context.close();
    await hub.cleanup();
  }
});

test('an edge tab is pushed its pages over its socket (no relay request) and crawls the same items and URLs as through the relay', async () => {
  const crawled: { items: string[]; urls: string[]; relayRequests: number }[] = [];
  // Page push (issue 11): on by default; pushBodies off is the relay path as before.
  for (const options of [{}, { relay: { pushBodies: false } }]) {
    const hub = await startTestHub(options);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      let relayRequests = 0;
      page.on('request', (request) => {
        if (new URL(request.url()).pathname.startsWith('/relay/')) relayRequests++;
      });
      await page.goto(`${hub.url}/edge.html?worker=headless&name=edge&clientId=edge-client-id-0123456&autostart=1&concurrency=4`);
      await waitForState(page, ['idle', 'working']);
      const crawl = await hub.engine.createCrawl(quotesSpec(site.origin));
      assert.equal((await waitForCrawlEnd(hub, crawl.id)).pagesDone, PAGES);
      await assertEveryPageOnce(hub, crawl.id);
      const items = (await Array.fromAsync(hub.storage.iterateItems(crawl.id))).map((row) => row.data).sort();
      const urls = (hub.storage.db.prepare('SELECT final_url AS url FROM requests WHERE crawl_id = ? ORDER BY final_url').all(crawl.id) as { url: string }[]).map((r) => r.url);
      crawled.push({ items, urls, relayRequests });
    } finally {
      await context.close();
      await hub.cleanup();
    }
  }
  const [pushed, relayed] = crawled;
  assert.equal(pushed!.relayRequests, 0, 'every page came over the socket');
  assert.equal(relayed!.relayRequests, PAGES);
  assert.deepEqual(pushed!.items, relayed!.items);
  assert.deepEqual(pushed!.urls, relayed!.urls);
});
