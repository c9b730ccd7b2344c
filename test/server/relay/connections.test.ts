// Connections honour the spec (issue 11): a crawl's perHostConcurrency N gives
// up to N keep-alive connections and N requests in flight to that host, no
// fewer (a fixed pool of 8 once held 16 to 8) and no more. The fixture site
// holds every response until the test lets them go, so "in flight" is read
// while they are all open, not guessed from timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPageFetcher } from '../../../server/relay/fetch-page.ts';
import { docsSite } from '../../fixtures/site/docs.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { waitFor } from '../../helpers/wait.ts';

/** Holds every page response until release(); counts requests open at once. */
function holdResponses(site: FixtureServer) {
  let open = 0;
  let peak = 0;
  let held: (() => void)[] = [];
  let holding = true;
  site.setHandler(async () => {
    open++;
    peak = Math.max(peak, open);
    if (holding) await new Promise<void>((resolve) => held.push(resolve));
    open--;
    return false;
  });
  return {
    get open() {
      return open;
    },
    get peak() {
      return peak;
    },
    release(keepHolding: boolean) {
      holding = keepHolding;
      const waiting = held;
      held = [];
      for (const resolve of waiting) resolve();
    },
  };
}

test('the relay opens one keep-alive connection per request in flight to a host: 16 at once get 16 connections, reused after', async () => {
  const site = await startFixtureServer(docsSite({ pages: 40 }));
  const fetcher = createPageFetcher({ allowHosts: ['127.0.0.1'] });
  try {
    const hold = holdResponses(site);
    const paths = docsSite({ pages: 40 }).paths.slice(0, 32);
    const first = Promise.all(paths.slice(0, 16).map((p) => fetcher.fetchPage(site.url(p))));
    await waitFor(() => hold.open === 16, { timeoutMs: 60_000 });
    assert.equal(site.connections, 16);
    hold.release(false);
    await first;
    // undici frees a connection a turn after its body ends (a request at once would open a new one).
    await new Promise((resolve) => setImmediate(resolve));
    // The same 16 again: the connections are kept alive and reused.
    await Promise.all(paths.slice(16).map((p) => fetcher.fetchPage(site.url(p))));
    assert.equal(site.connections, 16);
  } finally {
    await fetcher.close();
    await site.close();
  }
});

test('a crawl with perHostConcurrency 16 has 16 requests in flight to the site over 16 connections, never more', async () => {
  const pages = 120;
  const site = await startFixtureServer(docsSite({ pages }));
  const hub = await startTestHub();
  // 48 pages wanted in flight by the workers: the spec, not the workers, sets the limit.
  const workers = await startWorkers(hub.url, 3, { concurrency: 16 });
  try {
    const hold = holdResponses(site);
    const crawl = await hub.engine.createCrawl({
      name: 'connections',
      startUrls: [site.url('/')],
      items: [{ selector: 'main', fields: { title: 'h1::text' } }],
      follow: [{}],
      politeness: { obeyRobotsTxt: false, perHostConcurrency: 16, perHostDelayMs: 0 },
    });
    // The start page first (one in flight), then the links it gives: 16 held at once.
    await waitFor(() => hold.open === 1, { timeoutMs: 60_000 });
    hold.release(true);
    await waitFor(() => hold.open === 16, { timeoutMs: 60_000 });
    assert.equal(site.connections, 16);
    hold.release(false);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, pages);
    assert.equal(hold.peak, 16);
    assert.ok(site.connections <= 16, `${site.connections} connections for 16 pages in flight`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
    await site.close();
  }
});
