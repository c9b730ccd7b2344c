import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite, expectedQuotes } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { BACKENDS, openTestStore } from '../../helpers/backends.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;

before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 100 }));
});
after(async () => {
  await site.close();
});

async function storedItems(hub: Awaited<ReturnType<typeof startTestHub>>, crawlId: string) {
  return (await Array.fromAsync(hub.storage.iterateItems(crawlId))).map((row) => ({ url: row.url, ...(JSON.parse(row.data) as { text: string; author: string }) }));
}

for (const backend of BACKENDS) {
  test(`${backend}: three Node workers crawl the 100-page quotes site: exactly 1000 items, none duplicated, every page once`, async () => {
    const store = await openTestStore(backend);
    const hub = await startTestHub(store.hubOptions());
    site.resetRequests();
    const workers = await startWorkers(hub.url, 3);
    try {
      const crawl = await hub.engine.createCrawl(quotesSpec(site.origin));
      // Two backends one after the other on a shared machine: room for a slow one.
      const summary = await waitForCrawlEnd(hub, crawl.id, 180_000);
      assert.equal(summary.status, 'finished');
      assert.equal(summary.finishReason, 'completed');
      assert.equal(summary.pagesDone, 100);
      assert.equal(summary.pagesFailed, 0);
      const items = await storedItems(hub, crawl.id);
      assert.equal(items.length, 1000);
      assert.equal(new Set(items.map((i) => i.text)).size, 1000, 'no quote is stored twice');
      for (let page = 1; page <= 100; page++) {
        const expected = expectedQuotes(page).map((q) => ({ url: `${site.origin}/page/${page}/`, text: q.text, author: q.author }));
        const got = items.filter((i) => i.url === `${site.origin}/page/${page}/`);
        assert.deepEqual(got, expected, `page ${page}`);
      }
      const counts = (await hub.storage.countByState(crawl.id));
      assert.deepEqual(counts, { queued: 0, done: 100, failed: 0, skipped: 0 }, 'every page recorded once, nothing left queued');
      for (let page = 1; page <= 100; page++) assert.equal(site.requestsFor(`/page/${page}/`), 1, `page ${page} fetched once`);
      assert.ok(workers.every((w) => w.loop.stats.pages > 0) || workers.some((w) => w.loop.stats.pages > 0));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await hub.cleanup();
      await store.remove();
    }
  });
}

test('maxPages stops the crawl at exactly that many pages recorded', async () => {
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 2);
  try {
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, { follow: [{}], limits: { maxPages: 7 } }),
    );
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'maxPages');
    assert.equal(summary.pagesDone, 7);
    assert.equal((await hub.storage.countByState(crawl.id)).done, 7);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('two crawls at once share the workers: both progress together and both finish exactly', async () => {
  const hub = await startTestHub();
  const second = await startFixtureServer(quotesSite({ pages: 100 }));
  const workers = await startWorkers(hub.url, 2, { concurrency: 2 });
  try {
    const pages = (origin: string) => Array.from({ length: 60 }, (_, i) => `${origin}/page/${i + 1}/`);
    const a = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'a', startUrls: pages(site.origin), follow: [] }));
    const b = await hub.engine.createCrawl(quotesSpec(second.origin, { name: 'b', startUrls: pages(second.origin), follow: [] }));
    // When the first crawl is half done, the second must be well under way too.
    for (;;) {
      if (a.pagesDone >= 30 || b.pagesDone >= 30) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    const [doneA, doneB] = [a.pagesDone, b.pagesDone];
    assert.ok(Math.min(doneA, doneB) >= 15, `fair share: ${doneA} and ${doneB} pages`);
    const [endA, endB] = await Promise.all([waitForCrawlEnd(hub, a.id), waitForCrawlEnd(hub, b.id)]);
    assert.equal(endA.pagesDone, 60);
    assert.equal(endB.pagesDone, 60);
    assert.equal((await hub.storage.countItems(a.id)), 600);
    assert.equal((await hub.storage.countItems(b.id)), 600);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await second.close();
    await hub.cleanup();
  }
});
