// GET /metrics: Prometheus's text format behind the admin token, with the
// figures of a small real crawl (Node worker, fixture site, validation on).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../../helpers/hub.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;

before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 5, tagPages: false }));
});
after(async () => {
  await site.close();
});

/** `name{labels}` → value, from Prometheus's text format (comments skipped). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** `token: null` sends no Authorization header. */
async function scrape(url: string, token: string | null = TEST_ADMIN_TOKEN): Promise<Response> {
  return fetch(`${url}/metrics`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
}

test('a scrape after a small crawl gives its pages, items, validation, relay and storage figures', async () => {
  const hub = await startTestHub({ validation: { replicaWaitMs: 0 }, retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } });
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [`${site.origin}/page/1/`, `${site.origin}/no-such-page/`] }));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 5);
    assert.equal(summary.pagesFailed, 1);

    const res = await scrape(hub.url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /# TYPE crowdcrawl_pages_total counter/);
    assert.match(text, /# TYPE crowdcrawl_relay_fetch_seconds histogram/);
    const m = parseMetrics(text);
    assert.equal(m.get('crowdcrawl_pages_total{outcome="done"}'), 5);
    assert.equal(m.get('crowdcrawl_pages_total{outcome="failed"}'), 1);
    assert.equal(m.get('crowdcrawl_pages_total{outcome="skipped"}'), 0);
    assert.equal(m.get('crowdcrawl_items_total'), 50);
    assert.equal(m.get('crowdcrawl_items_withdrawn_total'), 0);
    // A new contributor is on probation: every one of its results was checked, by the hub's own extraction.
    assert.equal(m.get('crowdcrawl_validation_results_total{how="checked"}'), 5);
    assert.equal(m.get('crowdcrawl_validation_results_total{how="trusted"}'), 0);
    assert.equal(m.get('crowdcrawl_validation_results_total{how="rejected"}'), 0);
    assert.equal(m.get('crowdcrawl_validation_extra_extractions_total'), 5);
    assert.equal(m.get('crowdcrawl_relay_fetch_seconds_count{outcome="ok"}'), 5);
    assert.equal(m.get('crowdcrawl_relay_fetch_seconds_count{outcome="error"}'), 1);
    assert.ok(m.get('crowdcrawl_relay_fetch_seconds_bucket{le="+Inf",outcome="ok"}') === 5);
    assert.ok((m.get('crowdcrawl_storage_commit_seconds_count') ?? 0) >= 6, 'every recorded page was committed');
    assert.ok((m.get('crowdcrawl_storage_writes_total') ?? 0) >= 6);
    assert.equal(m.get('crowdcrawl_workers{kind="node"}'), 1);
    assert.equal(m.get('crowdcrawl_workers{kind="tab"}'), 0);
    assert.equal(m.get('crowdcrawl_leases_in_flight'), 0);
    assert.equal(m.get('crowdcrawl_crawls{status="finished"}'), 1);
    assert.equal(m.get('crowdcrawl_bans{kind="client"}'), 0);
    assert.ok(!text.includes(`crawl="${crawl.id}"`), 'a finished crawl has no per-crawl series');
    assert.ok(m.has('process_cpu_user_seconds_total'), "prom-client's default process metrics are there");

    // A running crawl that no worker serves: its queue depth, per crawl.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const idle = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [1, 2, 3].map((p) => `${site.origin}/page/${p}/`), follow: [] }));
    const later = parseMetrics(await (await scrape(hub.url)).text());
    assert.equal(later.get(`crowdcrawl_queue_depth{crawl="${idle.id}"}`), 3);
    assert.equal(later.get(`crowdcrawl_crawl_in_flight{crawl="${idle.id}"}`), 0);
    assert.equal(later.get('crowdcrawl_crawls{status="running"}'), 1);
    assert.equal(later.get('crowdcrawl_workers{kind="node"}'), 0);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a scrape without the admin token, or with a wrong one, is refused with UNAUTHORIZED', async () => {
  const hub = await startTestHub();
  try {
    for (const token of [null, 'not-the-admin-token-0000']) {
      const res = await scrape(hub.url, token);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="crowdcrawl admin"');
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'UNAUTHORIZED');
    }
  } finally {
    await hub.cleanup();
  }
});
