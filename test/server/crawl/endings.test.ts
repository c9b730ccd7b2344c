import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';
import { waitFor } from '../../helpers/wait.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 60 }));
});
after(() => site.close());

const pageUrls = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => site.url(`/page/${from + i}/`));

test('a crawl whose last URL waits for a retry keeps running, then ends right after the retry', async () => {
  let failures = 1;
  site.setHandler((req, res) => {
    if (req.url !== '/page/2/' || failures <= 0) return false;
    failures--;
    res.writeHead(500);
    res.end();
    return true;
  });
  const clock = createFakeClock();
  const hub = await startTestHub({ retry: { maxAttempts: 3, baseDelayMs: 600, maxDelayMs: 600 } }, { clock });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: pageUrls(1, 2), follow: [] }));
    await waitFor(() => crawl.pagesDone >= 1 && crawl.frontier.inFlight === 0 && crawl.frontier.queued === 1);
    assert.equal(crawl.status, 'running', 'a retry is pending: not finished');
    assert.deepEqual([crawl.frontier.queued, crawl.frontier.inFlight], [1, 0]);
    // The retry is due within the backoff (at most 600 ms of the hub's time).
    clock.tick(600);
    const summary = await waitForCrawlEnd(hub, crawl.id, 10_000);
    assert.deepEqual([summary.finishReason, summary.pagesDone, summary.pagesFailed], ['completed', 2, 0]);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a crawl whose every URL robots.txt disallows ends at once as completed, every URL skipped', async () => {
  site.setPage('/robots.txt', { body: 'User-agent: *\nDisallow: /\n' });
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, { startUrls: pageUrls(1, 30), follow: [], politeness: { obeyRobotsTxt: true, perHostDelayMs: 1000 } }),
    );
    const summary = await waitForCrawlEnd(hub, crawl.id, 10_000);
    assert.deepEqual([summary.finishReason, summary.pagesDone, summary.pagesSkipped], ['completed', 0, 30]);
    assert.deepEqual((await hub.storage.countByState(crawl.id)), { queued: 0, done: 0, failed: 0, skipped: 30 });
    assert.equal(workers[0]!.loop.stats.pages, 0, 'no worker ever got a lease');
  } finally {
    site.setPage('/robots.txt', null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('maxPages with many workers, failures and skips on the way: exactly that many pages recorded, never one more', async () => {
  site.setPage('/robots.txt', { body: 'User-agent: *\nDisallow: /page/5/\nDisallow: /page/9/\n' });
  site.setHandler((req, res) => {
    if (req.url !== '/page/3/' && req.url !== '/page/7/') return false;
    res.writeHead(410);
    res.end();
    return true;
  });
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 6, { concurrency: 8 });
  try {
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, {
        startUrls: pageUrls(1, 60),
        follow: [],
        limits: { maxPages: 17 },
        politeness: { obeyRobotsTxt: true, perHostConcurrency: 64 },
      }),
    );
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'maxPages');
    assert.equal(summary.pagesDone, 17);
    assert.equal((await hub.storage.countByState(crawl.id)).done, 17);
    assert.equal((await hub.storage.countItems(crawl.id)), 170);
    assert.equal(hub.engine.leasesInFlight, 0, 'every lease taken back');
  } finally {
    site.setPage('/robots.txt', null);
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('maxDuration ends a crawl whose only URL waits for a robots.txt that does not answer', async () => {
  site.setHandler((req) => req.url === '/robots.txt'); // never answers
  const clock = createFakeClock();
  const hub = await startTestHub({ relay: { timeoutMs: 60_000, maxBodyBytes: 1 << 20, maxRedirects: 5 } }, { clock });
  try {
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, { startUrls: pageUrls(1, 1), follow: [], limits: { maxDurationMs: 1000 }, politeness: { obeyRobotsTxt: true } }),
    );
    clock.tick(999);
    assert.equal(crawl.status, 'running', 'not before its time is up');
    clock.tick(1);
    const summary = await waitForCrawlEnd(hub, crawl.id, 5000);
    assert.equal(summary.finishReason, 'maxDuration');
    assert.equal(summary.pagesDone, 0);
  } finally {
    site.setHandler(null);
    await hub.cleanup();
  }
});
