import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { closedPort } from '../relay/local-server.ts';
import { retryDelayMs, retryPolicyFor } from '../../../server/crawl/retry.ts';
import { assertSpec } from '../../../shared/spec/schema.ts';
import { advanceUntil, createFakeClock } from '../../helpers/fake-clock.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 10 }));
});
after(() => site.close());

type TestHub = Awaited<ReturnType<typeof startTestHub>>;
const fastRetry = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100 };
const spec = (urls: string[], extra: Record<string, unknown> = {}) => quotesSpec(site.origin, { startUrls: urls, follow: [], ...extra });

async function row(hub: TestHub, crawlId: string, url: string) {
  const found = await hub.storage.getRequest(crawlId, url);
  assert.ok(found, `a request row for ${url}`);
  return found;
}

/** Answers `status` to the first `times` requests for `path`, then lets the site answer. */
function failFirst(path: string, times: number, status: number, headers: Record<string, string> = {}, now: () => number = Date.now): { seen: number[] } {
  const seen: number[] = [];
  let left = times;
  site.setHandler((req, res) => {
    if (req.url !== path) return false;
    seen.push(now());
    if (left <= 0) return false;
    left--;
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(`status ${status}`);
    return true;
  });
  return { seen };
}

test('the retry delay doubles from baseDelayMs with jitter, is at least Retry-After, and is capped', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 8000 };
  assert.equal(retryDelayMs(policy, 1, undefined, 0), 500, 'half fixed');
  assert.equal(retryDelayMs(policy, 1, undefined, 1), 1000, 'half random');
  assert.equal(retryDelayMs(policy, 3, undefined, 1), 4000);
  assert.equal(retryDelayMs(policy, 6, undefined, 1), 8000, 'at most maxDelayMs before Retry-After');
  assert.equal(retryDelayMs(policy, 1, 5000, 0.5), 5000, 'Retry-After wins when later');
  assert.equal(retryDelayMs(policy, 1, 86_400_000, 0.5), 32_000, 'a Retry-After of a day waits four times maxDelayMs');
});

test('a crawl\'s retry settings override the hub\'s, key by key', () => {
  const defaults = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
  const own = assertSpec({ name: 'x', startUrls: ['http://e.com/'], retry: { maxAttempts: 7 } });
  assert.deepEqual(retryPolicyFor(own, defaults), { maxAttempts: 7, baseDelayMs: 1000, maxDelayMs: 60_000 });
  const plain = assertSpec({ name: 'x', startUrls: ['http://e.com/'] });
  assert.deepEqual(retryPolicyFor(plain, defaults), defaults);
});

test('a page that answers 500 twice and then 200 is retried with backoff and recorded once, with its attempts', async () => {
  const clock = createFakeClock();
  const { seen } = failFirst('/page/1/', 2, 500, {}, () => clock.now());
  const hub = await startTestHub({ retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1000 } }, { clock });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(spec([site.url('/page/1/')]));
    await advanceUntil(clock, () => crawl.status !== 'running', { stepMs: 10 });
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.equal(summary.pagesFailed, 0);
    assert.equal((await row(hub, crawl.id, site.url('/page/1/'))).attempts, 3);
    assert.equal(seen.length, 3);
    assert.ok(seen[1]! - seen[0]! >= 100, `the first retry waited ${seen[1]! - seen[0]!} ms (at least half of 200)`);
    assert.ok(seen[2]! - seen[1]! >= 200, `the second retry waited ${seen[2]! - seen[1]!} ms (at least half of 400)`);
    assert.equal((await hub.storage.countItems(crawl.id)), 10);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a page that keeps failing with 5xx is recorded as failed after maxAttempts, with the reason and the attempts', async () => {
  failFirst('/page/2/', 100, 502);
  const hub = await startTestHub({ retry: fastRetry });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(spec([site.url('/page/1/'), site.url('/page/2/')]));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.equal(summary.pagesFailed, 1);
    const failed = await row(hub, crawl.id, site.url('/page/2/'));
    assert.equal(failed.state, 'failed');
    assert.equal(failed.attempts, 3);
    assert.equal(failed.errorCode, 'RELAY_HTTP_STATUS');
    assert.equal(failed.httpStatus, 502);
    assert.match(failed.errorMessage!, /answered 502 \(gave up after 3 attempts\)/);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('connection failures and timeouts are retried; a 404 and a refusal by policy are recorded at once', async () => {
  const port = await closedPort();
  let hangs = 1;
  site.setHandler((req) => {
    if (req.url === '/page/3/' && hangs > 0) {
      hangs--;
      return true; // never answers: the relay times out
    }
    return false;
  });
  const hub = await startTestHub({ retry: { ...fastRetry, maxAttempts: 2 }, relay: { timeoutMs: 500, maxBodyBytes: 1 << 20, maxRedirects: 5 } });
  const workers = await startWorkers(hub.url, 1);
  try {
    const refused = `http://127.0.0.1:${port}/x`;
    const crawl = await hub.engine.createCrawl(spec([site.url('/page/3/'), site.url('/missing'), refused, 'http://10.0.0.1/private']));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1, 'the page that timed out once was retried and done');
    assert.equal((await row(hub, crawl.id, site.url('/page/3/'))).attempts, 2);
    const outcome = async (url: string) => {
      const r = await row(hub, crawl.id, url);
      return [r.state, r.errorCode, r.attempts];
    };
    assert.deepEqual(await outcome(refused), ['failed', 'RELAY_CONNECT_FAILED', 2]);
    assert.deepEqual(await outcome(site.url('/missing')), ['failed', 'RELAY_HTTP_STATUS', 1]);
    assert.deepEqual(await outcome('http://10.0.0.1/private'), ['failed', 'RELAY_BLOCKED_ADDRESS', 1]);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a 503 with Retry-After is retried no sooner than the server asked', async () => {
  const clock = createFakeClock();
  const { seen } = failFirst('/page/4/', 1, 503, { 'retry-after': '2' }, () => clock.now());
  const hub = await startTestHub({ retry: fastRetry }, { clock });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(spec([site.url('/page/4/')], { politeness: { obeyRobotsTxt: false, autoThrottle: { enabled: false } } }));
    await advanceUntil(clock, () => crawl.status !== 'running');
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.ok(seen[1]! - seen[0]! >= 2000, `retried ${seen[1]! - seen[0]!} ms of the hub's time later`);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a lease that expires counts as an attempt; a page whose leases keep expiring is recorded as failed', async () => {
  const clock = createFakeClock();
  const hub = await startTestHub({ leaseTtlMs: 1000, leaseSweepMs: 50, retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } }, { clock });
  const w = await connectRawWorker(hub.url, { capacity: 1 });
  try {
    const crawl = await hub.engine.createCrawl(spec([site.url('/page/5/')]));
    await w.waitForLeases(1);
    clock.tick(1050);
    await w.waitForLeases(2);
    clock.tick(1050);
    const summary = await waitForCrawlEnd(hub, crawl.id, 10_000);
    assert.equal(summary.pagesFailed, 1);
    const failed = await row(hub, crawl.id, site.url('/page/5/'));
    assert.deepEqual([failed.errorCode, failed.attempts], ['LEASE_EXPIRED', 2]);
    assert.equal(hub.engine.leasesInFlight, 0);
  } finally {
    w.close();
    await hub.cleanup();
  }
});
