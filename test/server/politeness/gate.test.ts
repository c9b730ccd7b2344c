import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, TEST_ADMIN_TOKEN, operatorToken } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { STATE_CODES } from '../../../server/storage/sqlite/statements.ts';
import { advanceUntil, createFakeClock } from '../../helpers/fake-clock.ts';
import { waitFor } from '../../helpers/wait.ts';

let a: FixtureServer;
let b: FixtureServer;
before(async () => {
  a = await startFixtureServer(quotesSite({ pages: 10 }));
  b = await startFixtureServer(quotesSite({ pages: 10 }));
});
after(async () => {
  await a.close();
  await b.close();
});

const pages = (site: FixtureServer, numbers: number[]) => numbers.map((n) => `${site.origin}/page/${n}/`);

/** A spec that obeys robots.txt, over the given start URLs, following nothing. */
const politeSpec = (origin: string, startUrls: string[], politeness: Record<string, unknown> = {}) =>
  quotesSpec(origin, { startUrls, follow: [], politeness: { obeyRobotsTxt: true, perHostConcurrency: 4, perHostDelayMs: 0, ...politeness } });

type TestHub = Awaited<ReturnType<typeof startTestHub>>;

function requestRows(hub: TestHub, crawlId: string) {
  return hub.storage.db
    .prepare('SELECT url, state, error_code, error_message, attempts FROM requests WHERE crawl_id = ? ORDER BY url')
    .all(crawlId) as { url: string; state: number; error_code: string | null; error_message: string | null; attempts: number }[];
}

test('URLs robots.txt disallows are skipped as ROBOTS_DISALLOWED before any worker fetches them; the rest are crawled', async () => {
  a.setPage('/robots.txt', { body: 'User-agent: *\nDisallow: /page/3/\n\nUser-agent: crowdcrawl\nDisallow: /page/7/\nDisallow: /page/8/\n' });
  a.resetRequests();
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 2);
  try {
    const crawl = await hub.engine.createCrawl(politeSpec(a.origin, pages(a, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesDone, 8, 'our group replaces the * group: /page/3/ is allowed for crowdcrawl');
    assert.equal(summary.pagesSkipped, 2);
    const skipped = requestRows(hub, crawl.id).filter((r) => r.state === STATE_CODES.skipped);
    assert.deepEqual(skipped.map((r) => [new URL(r.url).pathname, r.error_code]), [['/page/7/', 'ROBOTS_DISALLOWED'], ['/page/8/', 'ROBOTS_DISALLOWED']]);
    assert.match(skipped[0]!.error_message!, /robots\.txt disallows it for "crowdcrawl" \(line 5\)/);
    assert.equal(a.requestsFor('/page/7/') + a.requestsFor('/page/8/'), 0, 'the site never saw the disallowed pages');
    assert.equal(a.requestsFor('/robots.txt'), 1, 'robots.txt fetched once for the whole crawl');
    assert.equal((await hub.storage.countItems(crawl.id)), 80);
  } finally {
    a.setPage('/robots.txt', null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a host whose robots.txt is still being fetched is held while other hosts are leased', async () => {
  let answerRobots: (() => void) | undefined;
  a.setHandler((req, res) => {
    if (req.url !== '/robots.txt') return false;
    answerRobots = () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('User-agent: *\nDisallow:\n');
    };
    return true;
  });
  const hub = await startTestHub();
  const w = await connectRawWorker(hub.url, { capacity: 4 });
  try {
    await hub.engine.createCrawl(politeSpec(a.origin, [...pages(a, [1, 2, 3]), ...pages(b, [1, 2, 3])]));
    const early = await w.waitForLeases(3);
    assert.deepEqual(new Set(early.map((l) => new URL(l.url).origin)), new Set([b.origin]), 'only the other host is leased');
    await waitFor(() => answerRobots, { message: 'the robots.txt request' });
    await w.quiet();
    assert.equal(w.leases.length, 3, 'nothing of the held host, though the worker has room');
    const crawl = hub.engine.crawls.list()[0]!;
    assert.equal(hub.engine.hostStats(crawl).find((h) => h.host === new URL(a.origin).host)?.held, true);
    answerRobots!();
    const [, , , fourth] = await w.waitForLeases(4);
    assert.equal(new URL(fourth!.url).origin, a.origin, 'released once robots.txt is known');
  } finally {
    a.setHandler(null);
    w.close();
    await hub.cleanup();
  }
});

test('Crawl-delay becomes the floor of the host\'s delay and spaces its leases', async () => {
  a.setPage('/robots.txt', { body: 'User-agent: *\nCrawl-delay: 0.4\n' });
  const clock = createFakeClock();
  const hub = await startTestHub({}, { clock });
  const w = await connectRawWorker(hub.url, { capacity: 3 });
  try {
    const crawl = await hub.engine.createCrawl(politeSpec(a.origin, pages(a, [1, 2, 3])));
    await w.waitForLeases(1);
    for (const n of [2, 3]) {
      clock.tick(399);
      await w.quiet();
      assert.equal(w.leases.length, n - 1, `lease ${n} waits for the Crawl-delay`);
      clock.tick(1);
      await w.waitForLeases(n);
    }
    const host = hub.engine.hostStats(crawl)[0]!;
    assert.equal(host.crawlDelayMs, 400);
    assert.equal(host.minDelayMs, 400);
    assert.equal(host.delayMs, 400);
    assert.equal(crawl.summary().maxHostDelayMs, 400);
    const response = await fetch(`${hub.url}/api/crawls/${crawl.id}/hosts`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    const body = (await response.json()) as { hosts: { host: string; delayMs: number }[] };
    assert.deepEqual(body.hosts.map((h) => [h.host, h.delayMs]), [[new URL(a.origin).host, 400]]);
  } finally {
    a.setPage('/robots.txt', null);
    w.close();
    await hub.cleanup();
  }
});

test('a robots.txt answering 503 holds its host until it answers; the crawl then completes', async () => {
  let failures = 2;
  a.setHandler((req, res) => {
    if (req.url !== '/robots.txt' || failures <= 0) return false;
    failures--;
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('busy');
    return true;
  });
  a.resetRequests();
  const hub = await startTestHub({ robots: { errorRetryMs: 100, errorRetryMaxMs: 200, maxAttempts: 5 } });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(politeSpec(a.origin, pages(a, [1, 2, 3])));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 3);
    assert.equal(a.requestsFor('/robots.txt'), 3, 'two 503s, then the file');
    const firstPage = [...a.requestsByPath.keys()].indexOf('/page/1/');
    assert.ok(firstPage > [...a.requestsByPath.keys()].indexOf('/robots.txt'), 'no page before robots.txt');
  } finally {
    a.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a robots.txt that stays unreachable: the origin\'s URLs are skipped as ROBOTS_UNREACHABLE and the crawl ends', async () => {
  a.setHandler((req, res) => {
    if (req.url !== '/robots.txt') return false;
    res.writeHead(500);
    res.end();
    return true;
  });
  a.resetRequests();
  const hub = await startTestHub({ robots: { errorRetryMs: 50, errorRetryMaxMs: 100, maxAttempts: 3 } });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(politeSpec(a.origin, [...pages(a, [1, 2]), ...pages(b, [1])]));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'completed');
    assert.equal(summary.pagesDone, 1, 'the other origin is crawled');
    assert.equal(summary.pagesSkipped, 2);
    const codes = requestRows(hub, crawl.id).filter((r) => r.url.startsWith(a.origin)).map((r) => r.error_code);
    assert.deepEqual(codes, ['ROBOTS_UNREACHABLE', 'ROBOTS_UNREACHABLE']);
    assert.equal(a.requestsFor('/robots.txt'), 3);
    assert.equal(a.requestsFor('/page/1/'), 0);
  } finally {
    a.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a crawl that does not obey robots.txt never asks for it', async () => {
  a.resetRequests();
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(a.origin, { startUrls: pages(a, [1, 2]), follow: [] }));
    assert.equal((await waitForCrawlEnd(hub, crawl.id)).pagesDone, 2);
    assert.equal(a.requestsFor('/robots.txt'), 0);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a 429 with Retry-After pauses the whole host and raises its delay; the page is retried and the crawl completes', async () => {
  const times: number[] = [];
  let refused = false;
  const clock = createFakeClock();
  a.setHandler((req, res) => {
    if (!req.url?.startsWith('/page/')) return false;
    times.push(clock.now());
    if (req.url === '/page/2/' && !refused) {
      refused = true;
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' });
      res.end('slow down');
      return true;
    }
    return false;
  });
  const hub = await startTestHub({}, { clock });
  const workers = await startWorkers(hub.url, 1, { concurrency: 1 });
  try {
    const crawl = await hub.engine.createCrawl(
      politeSpec(a.origin, pages(a, [1, 2, 3, 4]), { obeyRobotsTxt: false, perHostConcurrency: 1, autoThrottle: { maxDelayMs: 5000 } }),
    );
    await advanceUntil(clock, () => crawl.status !== 'running');
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 4);
    const at429 = times[1]!;
    const next = times[2]!;
    assert.ok(next - at429 >= 1000, `the host was left alone for ${next - at429} ms of the hub's time after the 429`);
    const host = hub.engine.crawls.get(crawl.id)!;
    assert.equal(host.status, 'finished');
    const row = requestRows(hub, crawl.id).find((r) => r.url.endsWith('/page/2/'))!;
    assert.equal(row.attempts, 2, 'one 429, then done');
  } finally {
    a.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('AutoThrottle: a 503 raises the host\'s delay (visible in its stats) and fast answers bring it back down', async () => {
  let refuse = 1;
  a.setHandler((req, res) => {
    if (req.url === '/page/1/' && refuse > 0) {
      refuse--;
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('busy');
      return true;
    }
    return false;
  });
  const clock = createFakeClock();
  const hub = await startTestHub({ retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } }, { clock });
  // An operator's worker, so its empty results are taken as they are (this test is about the delays).
  const w = await connectRawWorker(hub.url, { capacity: 1, token: await operatorToken(hub) });
  try {
    const crawl = await hub.engine.createCrawl(
      politeSpec(a.origin, pages(a, [1, 2, 3, 4, 5, 6]), { obeyRobotsTxt: false, perHostConcurrency: 1, autoThrottle: { maxDelayMs: 4000 } }),
    );
    const [first] = await w.waitForLeases(1);
    assert.equal((await w.relay(first!.id)).status, 502);
    const afterBackoff = hub.engine.hostStats(crawl)[0]!;
    assert.equal(afterBackoff.delayMs, 1000, 'a 503 raises the delay to at least a second');
    assert.equal(afterBackoff.backoffs, 1);
    assert.equal(afterBackoff.lastStatus, 503);
    const delays: number[] = [];
    for (let n = 2; n <= 6; n++) {
      await advanceUntil(clock, () => w.leases.length >= n, { stepMs: 10 });
      const lease = w.leases[n - 1]!;
      await (await w.relay(lease.id)).text();
      delays.push(hub.engine.hostStats(crawl)[0]!.delayMs);
      await w.socket.emitWithAck('result', { leaseId: lease.id, items: [], links: [] });
    }
    for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! < delays[i - 1]!, `the delay comes down: ${delays.join(', ')}`);
    assert.ok(delays.at(-1)! < 100, `back near the latency: ${delays.join(', ')}`);
  } finally {
    a.setHandler(null);
    w.close();
    await hub.cleanup();
  }
});
