// Fault 5 (issue #6): the crawled site answers 503 to everything for 30 s in
// the middle of a crawl (times the test time factor, CROWDCRAWL_TEST_TIME_FACTOR:
// the outage, the throttle's ceiling and the retry backoff scale together). AutoThrottle backs the host off (fewer requests while
// it is down), every page that failed is retried with backoff, and the crawl
// completes with every page once.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { sleep } from './lib.ts';
import { scaled } from '../../helpers/wait.ts';

const PAGES = 150;
const OUTAGE_MS = scaled(30_000);
// The throttle's ceiling: 2 s at full scale, never below 1 s (the first backoff step), so a loaded machine's latency stays below it.
const CEILING_MS = Math.max(1000, scaled(2000));
let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES, tagPages: false }));
});
after(() => site.close());

test('fault 5: the site answers 503 for 30 s mid-crawl: the crawl slows down, retries and completes', async () => {
  let down = false;
  let served503 = 0;
  let requestsWhileDown = 0;
  site.setHandler(async (req, res) => {
    if (!req.url?.startsWith('/page/')) return false;
    if (down) {
      requestsWhileDown++;
      served503++;
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('down for maintenance');
      return true;
    }
    await sleep(20);
    return false;
  });
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 4, { concurrency: 4 });
  try {
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, {
        startUrls: Array.from({ length: 10 }, (_, i) => site.url(`/page/${i * 15 + 1}/`)),
        politeness: { obeyRobotsTxt: false, perHostConcurrency: 8, autoThrottle: { maxDelayMs: CEILING_MS } },
        // Enough attempts, spaced enough, to outlast the outage: at least 31.75 s of backoff in 12 attempts at full scale.
        retry: { maxAttempts: 12, baseDelayMs: scaled(500), maxDelayMs: scaled(8000) },
      }),
    );
    while (crawl.pagesDone < 30) await sleep(5);
    const hostBefore = hub.engine.hostStats(crawl)[0]!;
    down = true;
    const delaysWhileDown: number[] = [];
    const upAgainAt = performance.now() + OUTAGE_MS;
    while (performance.now() < upAgainAt) {
      await sleep(Math.min(scaled(500), Math.max(1, upAgainAt - performance.now())));
      delaysWhileDown.push(hub.engine.hostStats(crawl)[0]?.delayMs ?? 0);
    }
    const doneAtRecovery = crawl.pagesDone;
    down = false;
    const summary = await waitForCrawlEnd(hub, crawl.id, 120_000);
    console.log(`# fault 5: ${requestsWhileDown} requests in the ${OUTAGE_MS / 1000} s outage; ${doneAtRecovery} of ${PAGES} pages done when it ended`);

    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesDone, PAGES);
    assert.equal(summary.pagesFailed, 0, 'no page gave up');
    assert.deepEqual((await hub.storage.countByState(crawl.id)), { queued: 0, done: PAGES, failed: 0, skipped: 0 });
    assert.equal((await hub.storage.countItems(crawl.id)), PAGES * 10);
    assert.ok(doneAtRecovery < PAGES, 'the outage hit the crawl mid-way');
    // Slowed down: at full speed the 32 leases in flight would have hit the site hundreds of times in the outage;
    // backed off to one request every CEILING_MS (plus what was in flight), it saw a few dozen.
    assert.ok(requestsWhileDown > 0 && requestsWhileDown <= 60, `${requestsWhileDown} requests while the site was down`);
    assert.ok(hostBefore.delayMs < CEILING_MS, `the delay was ${hostBefore.delayMs} ms before`);
    assert.equal(Math.max(...delaysWhileDown), CEILING_MS, 'the host\'s delay went up to the ceiling');
    const retried = hub.storage.db.prepare('SELECT COUNT(*) AS n, MAX(attempts) AS most FROM requests WHERE crawl_id = ? AND attempts > 1').get(crawl.id) as { n: number; most: number };
    assert.ok(retried.n > 0 && retried.most > 1, `${retried.n} pages needed retries (up to ${retried.most} attempts)`);
    console.log(`# fault 5: ${retried.n} pages retried, up to ${retried.most} attempts`);
    assert.equal(served503, requestsWhileDown);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});
