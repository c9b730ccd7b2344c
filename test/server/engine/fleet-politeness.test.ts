// Politeness across a fleet (docs/scale-out.md, "politeness per host"): two
// in-process hubs on one PostgreSQL database crawl one host with
// perHostConcurrency 2. The host is worked by the hub holding it, so the site
// never has more than 2 of the crawl's requests in flight at once (counted by
// the fixture server), though each hub alone would allow 2; and the crawl
// completes, each page fetched once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub, startWorkers, tempDir, type TestHub } from '../../helpers/hub.ts';
import type { Storage } from '../../../server/storage/storage.ts';
import { openTestStore } from '../../helpers/backends.ts';
import { waitFor } from '../../helpers/wait.ts';

// More than one window of claimed rows (16 at perHostConcurrency 2): without host ownership each hub would claim some and both would lease.
const PAGES = 40;

test('two hubs on one PostgreSQL, one host, perHostConcurrency 2: the site never sees more than 2 requests at once, and the crawl completes', async () => {
  const site = await startFixtureServer(quotesSite({ pages: PAGES }));
  let inFlight = 0;
  let most = 0;
  site.setHandler((req, res) => {
    if (!req.url?.startsWith('/page/')) return false;
    inFlight++;
    most = Math.max(most, inFlight);
    res.on('close', () => inFlight--);
    // Slow enough answers that both hubs' workers would overlap on the host if both leased from it.
    return new Promise((resolve) => setTimeout(() => resolve(false), 20));
  });
  const store = await openTestStore('PostgreSQL');
  const dirB = tempDir();
  const a = await startTestHub({ ...store.hubOptions(), databaseUrl: store.databaseUrl! });
  let b: TestHub<Storage> | undefined;
  const workers: { stop(): Promise<void> }[] = [];
  try {
    // The crawl and an operator's token exist before b starts, so b loads both (finding crawls made
    // elsewhere while running is the fleet's crawl sync, not tested here).
    const token = await operatorToken(a);
    const startUrls = Array.from({ length: PAGES }, (_, i) => site.url(`/page/${i + 1}/`));
    const crawl = await a.engine.createCrawl(quotesSpec(site.origin, { startUrls, follow: [], politeness: { obeyRobotsTxt: false, perHostConcurrency: 2, perHostDelayMs: 0 } }));
    b = await startTestHub({ dataDir: dirB.path, databaseUrl: store.databaseUrl! });
    assert.ok(b.engine.crawls.get(crawl.id), 'b works the same crawl');
    workers.push(...(await startWorkers(a.url, 2, { concurrency: 4, token })), ...(await startWorkers(b.url, 2, { concurrency: 4, token })));
    await waitFor(async () => (await store.query<{ status: string }>('SELECT status FROM crawls WHERE id = ?', crawl.id))[0]?.status === 'finished', {
      timeoutMs: 60_000,
      message: 'the crawl finished',
    });
    const [row] = await store.query<{ pages_done: number; finish_reason: string }>('SELECT pages_done, finish_reason FROM crawls WHERE id = ?', crawl.id);
    assert.deepEqual(row, { pages_done: PAGES, finish_reason: 'completed' });
    assert.ok(most <= 2, `at most 2 requests in flight at the site (saw ${most})`);
    for (let i = 1; i <= PAGES; i++) assert.equal(site.requestsFor(`/page/${i}/`), 1, `page ${i} fetched once`);
    // The host's row is given up once its crawl ended on its hub (or, on the other hub, once it found nothing left).
    await waitFor(async () => {
      const hosts = await store.query<{ hub_id: string | null }>('SELECT hub_id FROM crawl_hosts WHERE crawl_id = ?', crawl.id);
      return hosts.length === 1 && hosts[0]!.hub_id === null;
    }, { message: 'the host given up' });
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await b?.cleanup();
    await a.cleanup();
    dirB.remove();
    await site.close();
    await store.remove();
  }
});
