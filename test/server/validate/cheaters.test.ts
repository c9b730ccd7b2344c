// Volunteers are strangers: a worker that forges from its first result, and a
// patient one that is honest through its probation and forges later, crawl
// beside honest workers on distinct 127.0.0.x addresses. The crawl's results
// must be exactly an all-honest crawl's, the cheater banned by client id and
// address, and whatever it got in on trust gone once it is caught.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, type TestHub } from '../../helpers/hub.ts';
import { startNodeWorker, type NodeWorker } from '../../../server/worker/node-worker.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import type { ExtractFn } from '../../../shared/worker/loop.ts';
import { seededRandom } from '../../fixtures/site/random.ts';

const PAGES = 60;
type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES }));
});
after(() => site.close());

/** A wide crawl: every page is a start URL, and each also links to the next. */
const wideSpec = () => quotesSpec(site.origin, { startUrls: Array.from({ length: PAGES }, (_, i) => site.url(`/page/${i + 1}/`)) });

const honest: ExtractFn = (html, spec, pageUrl, depth) => extractHtml(html, spec, pageUrl, { depth });
const forge = (output: ReturnType<typeof extractHtml>) => ({
  links: output.links,
  items: output.items.map((item) => ({ ...item, data: { ...item.data, text: `FORGED ${String(item.data.text).slice(0, 20)}` } })),
});

function storedItems(hub: TestHub, crawlId: string): string[] {
  const rows = hub.storage.db.prepare('SELECT data FROM items WHERE crawl_id = ?').all(crawlId) as { data: string }[];
  return rows.map((r) => r.data).sort();
}

/** The all-honest crawl every other crawl is compared with: one operator's worker. */
let reference: string[];
before(async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(wideSpec());
    const workers = await startWorkers(hub.url, 1, { token: await operatorToken(hub) });
    await waitForCrawlEnd(hub, crawl.id);
    reference = storedItems(hub, crawl.id);
    await Promise.all(workers.map((w) => w.stop()));
  } finally {
    await hub.cleanup();
  }
  assert.equal(reference.length, PAGES * 10);
});

function honestCrowd(hubUrl: string, count: number): NodeWorker[] {
  return Array.from({ length: count }, (_, i) =>
    startNodeWorker({ hubUrl, name: `honest-${i + 1}`, concurrency: 4, localAddress: `127.0.0.${i + 2}` }),
  );
}

test('a worker that forges from its first result: 0 forged items, the results of an honest crawl, banned by client id and address', async () => {
  const hub = await startTestHub();
  const crowd = honestCrowd(hub.url, 3);
  let forged = 0;
  const cheater = startNodeWorker({
    hubUrl: hub.url,
    name: 'forger',
    clientId: 'forger-client-0001',
    concurrency: 4,
    localAddress: '127.0.0.9',
    extract: (html, spec, pageUrl, depth) => {
      forged++;
      return forge(honest(html, spec, pageUrl, depth) as ReturnType<typeof extractHtml>);
    },
  });
  try {
    await Promise.all([...crowd, cheater].map((w) => w.ready()));
    const crawl = await hub.engine.createCrawl(wideSpec());
    const summary = await waitForCrawlEnd(hub, crawl.id);
    await hub.engine.trust.recheck;
    assert.equal(summary.status, 'finished');
    assert.equal(summary.pagesDone, PAGES);
    const items = storedItems(hub, crawl.id);
    assert.equal(items.filter((d) => d.includes('FORGED')).length, 0, 'no forged item');
    assert.deepEqual(items, reference, 'exactly the all-honest crawl');
    // Banned both ways: a new client id from the same address is refused too.
    const bans = hub.engine.trust.bans.list().map((b) => `${b.kind}:${b.value}`).sort();
    assert.deepEqual(bans, ['address:127.0.0.9', 'client:forger-client-0001']);
    assert.ok(hub.engine.isBanned('a-brand-new-client', '127.0.0.9'));
    // Within a bounded number of its results: two strikes, plus what it had in flight (its concurrency).
    console.log(`[cheaters] the forger sent ${forged} forged results before it was banned`);
    assert.ok(forged >= 2 && forged <= 2 + 4 * 2, `forged results: ${forged}`);
    // Honest contributors never got a strike.
    const view = hub.engine.trust.view();
    for (const row of view.contributors.filter((c) => c.kind === 'client' && c.label.startsWith('honest'))) assert.equal(row.strikes, 0, row.label);
    assert.equal(view.contributors.find((c) => c.value === 'forger-client-0001')?.state, 'banned');
    assert.ok(summary.validation.rejected >= 2);
    assert.equal(summary.validation.pending, 0);
    // Every URL was fetched from the site once per attempt that reached it; second opinions cost no fetch.
    for (let p = 1; p <= PAGES; p++) assert.equal(site.requestsFor(`/page/${p}/`) >= 1, true);
  } finally {
    await Promise.all([...crowd, cheater].map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('a patient cheater (honest through probation, then forging half its results) is caught, and every forged item it got in is gone', async () => {
  // Checks of trusted contributors are drawn from a seeded generator, so the run is the same every time.
  const hub = await startTestHub({ validation: { probationResults: 5 } }, { random: seededRandom(7) });
  const crowd = honestCrowd(hub.url, 2);
  let results = 0;
  let forgedResults = 0;
  const flip = seededRandom(11);
  const cheater = startNodeWorker({
    hubUrl: hub.url,
    name: 'patient',
    clientId: 'patient-client-0001',
    concurrency: 2,
    localAddress: '127.0.0.9',
    extract: (html, spec, pageUrl, depth) => {
      const output = honest(html, spec, pageUrl, depth) as ReturnType<typeof extractHtml>;
      if (++results <= 5 || flip() < 0.5) return output;
      forgedResults++;
      return forge(output);
    },
  });
  try {
    await Promise.all([...crowd, cheater].map((w) => w.ready()));
    const crawl = await hub.engine.createCrawl(wideSpec());
    const summary = await waitForCrawlEnd(hub, crawl.id);
    await hub.engine.trust.recheck;
    console.log(`[cheaters] the patient cheater sent ${results} results (${forgedResults} forged) before it was caught`);
    assert.ok(hub.engine.isBanned('patient-client-0001', '127.0.0.9'), 'caught');
    const after = crawl.summary();
    const items = storedItems(hub, crawl.id);
    assert.equal(items.filter((d) => d.includes('FORGED')).length, 0, 'no forged item left');
    assert.deepEqual(items, reference, 'exactly the all-honest crawl');
    assert.equal(after.pagesDone, PAGES);
    assert.equal(after.items, PAGES * 10);
    assert.equal(summary.status, 'finished');
  } finally {
    await Promise.all([...crowd, cheater].map((w) => w.stop()));
    await hub.cleanup();
  }
});
