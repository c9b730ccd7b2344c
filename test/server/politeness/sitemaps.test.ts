import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, tempDir, waitForCrawlEnd } from '../../helpers/hub.ts';
import { waitFor } from '../../helpers/wait.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 20 }));
});
after(() => site.close());

const urlset = (urls: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls.map((u) => `<url><loc>${u}</loc></url>`).join('\n')}\n</urlset>\n`;
const sitemapIndex = (urls: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls.map((u) => `<sitemap><loc>${u}</loc></sitemap>`).join('\n')}\n</sitemapindex>\n`;

const pageUrls = (server: FixtureServer, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${server.origin}/page/${from + i}/`);

/** A spec that starts from page 1 and the given sitemap settings, following nothing. */
const sitemapSpec = (sitemaps: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  quotesSpec(site.origin, { startUrls: [`${site.origin}/page/1/`], follow: [], sitemaps, ...extra });

function doneUrls(hub: Awaited<ReturnType<typeof startTestHub>>, crawlId: string): string[] {
  return (hub.storage.db.prepare('SELECT url FROM requests WHERE crawl_id = ? AND state = 2 ORDER BY url').all(crawlId) as { url: string }[]).map((r) => r.url);
}

test('a sitemap index of a gzipped and a plain sitemap: every page they list in scope is crawled once, at depth 0', async () => {
  site.setPage('/sitemap_index.xml', { body: sitemapIndex([`${site.origin}/sitemaps/a.xml.gz`, `${site.origin}/sitemaps/b.xml`, 'http://other.example/elsewhere.xml']) });
  site.setPage('/sitemaps/a.xml.gz', {
    body: gzipSync(urlset([...pageUrls(site, 1, 10), 'http://other.example/page/1/'])),
    headers: { 'content-type': 'application/x-gzip' },
  });
  site.setPage('/sitemaps/b.xml', { body: urlset([...pageUrls(site, 8, 15), `${site.origin}/page/3/?utm=x#top`]) });
  site.resetRequests();
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 2);
  try {
    const crawl = await hub.engine.createCrawl(sitemapSpec({ urls: [`${site.origin}/sitemap_index.xml`] }));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.finishReason, 'completed');
    const expected = [...pageUrls(site, 1, 15), `${site.origin}/page/3/?utm=x`].sort();
    assert.deepEqual(doneUrls(hub, crawl.id), expected, 'pages of another host are out of the sameHost scope');
    assert.equal(summary.pagesDone, 16);
    const depths = hub.storage.db.prepare('SELECT DISTINCT depth FROM requests WHERE crawl_id = ?').all(crawl.id) as { depth: number }[];
    assert.deepEqual(depths.map((d) => d.depth), [0]);
    for (const page of pageUrls(site, 1, 15)) assert.equal(site.requestsFor(new URL(page).pathname), 1, page);
    const sources = (await hub.storage.listSources(crawl.id)).map((s) => [s.url.replace(site.origin, ''), s.state, s.urlsQueued]);
    assert.deepEqual(sources, [
      ['/sitemap_index.xml', 'done', 0],
      ['/sitemaps/a.xml.gz', 'done', 9],
      ['/sitemaps/b.xml', 'done', 6],
    ].sort(), 'the sitemap on another host was not even recorded');
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('the Sitemap: lines of robots.txt are read when fromRobotsTxt is set, with allow and deny applied', async () => {
  site.setPage('/robots.txt', { body: `User-agent: *\nDisallow: /page/19/\n\nSitemap: ${site.origin}/from-robots.xml\n` });
  site.setPage('/from-robots.xml', { body: urlset(pageUrls(site, 16, 20)) });
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(
      sitemapSpec({ fromRobotsTxt: true, deny: ['**/page/17/'] }, { politeness: { obeyRobotsTxt: true } }),
    );
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.deepEqual(doneUrls(hub, crawl.id), [...pageUrls(site, 1, 1), ...pageUrls(site, 16, 16), ...pageUrls(site, 18, 18), ...pageUrls(site, 20, 20)]);
    assert.equal(summary.pagesSkipped, 1, '/page/19/ is listed but robots.txt disallows it');
    assert.equal(site.requestsFor('/robots.txt'), 1, 'one fetch serves both the sitemap lines and the rules');
  } finally {
    site.setPage('/robots.txt', null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a sitemap that cannot be read is recorded as failed, and the crawl still ends', async () => {
  site.setHandler((req, res) => {
    if (req.url !== '/broken.xml') return false;
    res.writeHead(503);
    res.end();
    return true;
  });
  const hub = await startTestHub({ retry: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 40 } });
  const workers = await startWorkers(hub.url, 1);
  try {
    site.setPage('/not-a-sitemap.xml', { body: '<html><body>hello</body></html>' });
    const crawl = await hub.engine.createCrawl(sitemapSpec({ urls: [`${site.origin}/broken.xml`, `${site.origin}/not-a-sitemap.xml`] }));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.equal(summary.sourcesPending, 0);
    const sources = (await hub.storage.listSources(crawl.id)).map((s) => [s.url.replace(site.origin, ''), s.state, s.errorCode, s.attempts]);
    assert.deepEqual(sources, [
      ['/broken.xml', 'failed', 'RELAY_HTTP_STATUS', 2],
      ['/not-a-sitemap.xml', 'failed', 'SITEMAP_INVALID', 1],
    ]);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('the crawl does not end while a sitemap is still being read, even with nothing else queued', async () => {
  let answer: (() => void) | undefined;
  site.setHandler((req, res) => {
    if (req.url !== '/slow.xml') return false;
    answer = () => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(urlset(pageUrls(site, 2, 3)));
    };
    return true;
  });
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(sitemapSpec({ urls: [`${site.origin}/slow.xml`] }));
    // The page is counted and the crawl's end decided in the same turn, after the commit: no wait beyond it is needed.
    await waitFor(() => crawl.pagesDone >= 1 && answer !== undefined);
    assert.equal(crawl.status, 'running', 'page 1 is done, the sitemap is not');
    assert.equal(crawl.summary().sourcesPending, 1);
    answer!();
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 3);
  } finally {
    site.setHandler(null);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a hub restarted before a sitemap was read reads it after the restart, and maxUrls caps what sitemaps queue', async () => {
  site.setPage('/many.xml', { body: urlset(pageUrls(site, 2, 20)) });
  const dir = tempDir();
  try {
    const first = await startTestHub({ dataDir: dir.path });
    const created = await first.engine.createCrawl(sitemapSpec({ urls: [`${site.origin}/many.xml`], maxUrls: 5 }), { start: false });
    await first.close();
    const hub = await startTestHub({ dataDir: dir.path });
    const workers = await startWorkers(hub.url, 1);
    try {
      hub.engine.crawls.start(created.id);
      const summary = await waitForCrawlEnd(hub, created.id);
      assert.equal(summary.pagesDone, 6, 'the start URL and the first 5 listed');
      assert.deepEqual((await hub.storage.countByState(created.id)), { queued: 0, done: 6, failed: 0, skipped: 0 });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await hub.close();
    }
  } finally {
    dir.remove();
  }
});
