// Many hubs, one crawl (server/crawl/sync.ts, docs/scale-out.md): two hubs in
// this process on one PostgreSQL database. A crawl created on one is worked by
// the other's workers; status changes, the end and maxPages hold across both;
// the result is exactly the one a single hub gives, and an export from either
// hub is the same file. The fleet sync rounds are run by the test (their timer
// is set far beyond a test's length), so each step is seen in order. The hubs
// keep real time: real workers' fetches move politeness delays, which a
// standing fake clock would never let pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, type TestHub } from '../../helpers/hub.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';
import type { NodeWorker } from '../../../server/worker/node-worker.ts';
import type { Storage } from '../../../server/storage/storage.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Site;

/** Every link followed: quote pages, author pages, the login page; one host, many URLs queued at once. */
const wideSpec = (extra: Record<string, unknown> = {}) => quotesSpec(site.origin, { follow: [{}], ...extra });

interface Outcome {
  done: string[];
  items: string[];
  counts: Record<string, number>;
}

async function outcome(storage: Storage, crawlId: string): Promise<Outcome> {
  const done = (await storage.requestsByState(crawlId, 'done', 100_000, 0)).map((r) => r.url).sort();
  const items = (await Array.fromAsync(storage.iterateItems(crawlId))).map((i) => `${i.url} ${i.type} ${i.data}`).sort();
  return { done, items, counts: await storage.countByState(crawlId) };
}

let reference: Outcome;

before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 12 }));
  // What one hub gives (the embedded SQLite): the result a fleet must match.
  const hub = await startTestHub();
  const workers = await startWorkers(hub.url, 2);
  try {
    const crawl = await hub.engine.createCrawl(wideSpec());
    await until([hub], () => hub.engine.crawls.get(crawl.id)!.status === 'finished', 'the one-hub reference crawl');
    reference = await outcome(hub.storage, crawl.id);
    assert.ok(reference.done.length > 20, `a wide crawl: ${reference.done.length} pages`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});
after(async () => {
  await site.close();
});

interface Fleet {
  a: TestHub<Storage>;
  b: TestHub<Storage>;
  db: TestDatabase;
  workers: NodeWorker[];
  close(): Promise<void>;
}

async function twoHubs(): Promise<Fleet> {
  const db = await createTestDatabase();
  const a = await startTestHub({ databaseUrl: db.url, fleetSyncMs: 60_000 });
  const b = await startTestHub({ databaseUrl: db.url, fleetSyncMs: 60_000 });
  const fleet: Fleet = {
    a,
    b,
    db,
    workers: [],
    async close() {
      await Promise.all(fleet.workers.map((w) => w.stop()));
      await a.cleanup();
      await b.cleanup();
      await db.drop();
    },
  };
  return fleet;
}

/** Runs every hub's fleet sync round until `done` holds (polling real time, bounded). */
async function until(hubs: TestHub<Storage>[], done: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await Promise.all(hubs.map((h) => h.fleetSync?.tick()));
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const ended = (hub: TestHub<Storage>, id: string) => {
  const status = hub.engine.crawls.get(id)?.status;
  return status === 'finished' || status === 'cancelled';
};

function assertSameAsOneHub(got: Outcome): void {
  assert.deepEqual(got.counts, reference.counts, 'as many pages done, failed, skipped, and none left queued');
  assert.deepEqual(got.done, reference.done, 'the same URLs');
  assert.deepEqual(got.items, reference.items, 'the same items, none twice');
}

function assertFetchedOnce(): void {
  const twice = [...site.requestsByPath].filter(([, n]) => n !== 1);
  assert.deepEqual(twice, [], 'every page fetched once across the fleet');
}

test('a crawl created on hub A, with workers only on hub B, finishes on both with exactly the result one hub gives', async () => {
  const fleet = await twoHubs();
  const { a, b } = fleet;
  try {
    site.resetRequests();
    fleet.workers.push(...(await startWorkers(b.url, 2)));
    const crawl = await a.engine.createCrawl(wideSpec());
    await until([a, b], () => ended(a, crawl.id) && ended(b, crawl.id), 'the crawl to end on both hubs');
    for (const hub of [a, b]) {
      const summary = hub.engine.crawls.get(crawl.id)!.summary();
      assert.deepEqual([summary.status, summary.finishReason], ['finished', 'completed']);
      assert.equal(summary.pagesDone, reference.counts.done, 'the crawl row\'s counters, on both hubs');
      assert.equal(summary.queued, 0, 'nothing left queued, also on the hub that did not end it');
    }
    assertSameAsOneHub(await outcome(a.storage, crawl.id));
    assertFetchedOnce();
  } finally {
    await fleet.close();
  }
});

test('workers on both hubs: exactly one hub\'s result, no page recorded or fetched twice, and an export from either hub is the same file', async () => {
  const fleet = await twoHubs();
  const { a, b } = fleet;
  const recorded = new Map<string, number>();
  for (const hub of [a, b]) hub.engine.on('page', () => recorded.set(hub.url, (recorded.get(hub.url) ?? 0) + 1));
  try {
    site.resetRequests();
    fleet.workers.push(...(await startWorkers(a.url, 2, { concurrency: 2 })), ...(await startWorkers(b.url, 2, { concurrency: 2 })));
    const crawl = await a.engine.createCrawl(wideSpec());
    await until([a, b], () => ended(a, crawl.id) && ended(b, crawl.id), 'the crawl to end on both hubs');
    assertSameAsOneHub(await outcome(b.storage, crawl.id));
    const retried = (await b.storage.requestsByState(crawl.id, 'done', 100_000, 0)).filter((r) => r.attempts !== 1);
    assert.deepEqual(retried.map((r) => r.url), [], 'every page done at its first attempt (no lease lost to a failed commit)');
    assertFetchedOnce();
    assert.equal((recorded.get(a.url) ?? 0) + (recorded.get(b.url) ?? 0), reference.counts.done, 'each page recorded by one hub, once');
    for (const format of ['jsonl', 'csv']) {
      const [fromA, fromB] = await Promise.all([a, b].map(async (hub) => {
        const res = await fetch(`${hub.url}/api/crawls/${crawl.id}/export?format=${format}`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
        assert.equal(res.status, 200, `${format} export from ${hub.url}`);
        return res.text();
      }));
      assert.equal(fromA, fromB, `the same ${format} file from either hub`);
      assert.ok(fromA!.split('\n').filter(Boolean).length >= reference.items.length);
    }
  } finally {
    await fleet.close();
  }
});

test('pause on hub A stops hub B\'s leasing; resume on B resumes it on both; cancel on B ends it on A', async () => {
  const fleet = await twoHubs();
  const { a, b } = fleet;
  // Page 3 is held unanswered, so the crawl is still running when it is cancelled.
  const held: ServerResponse[] = [];
  site.setHandler((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/page/3/') return false;
    held.push(res);
    return true;
  });
  try {
    site.resetRequests();
    const crawl = await a.engine.createCrawl(quotesSpec(site.origin));
    await until([b], () => b.engine.crawls.get(crawl.id)?.status === 'running', 'hub B to hold the crawl');
    await a.engine.control(crawl.id, 'pause');
    await until([b], () => b.engine.crawls.get(crawl.id)?.status === 'paused', 'hub B to see the pause');
    fleet.workers.push(...(await startWorkers(b.url, 2)));
    // A few rounds with workers waiting: nothing is leased while paused.
    for (let i = 0; i < 5; i++) {
      await b.fleetSync!.tick();
      b.engine.dispatchNow();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(b.engine.leasesInFlight, 0, 'no lease while paused');
    assert.equal(site.requests, 0, 'nothing fetched while paused');

    await b.engine.control(crawl.id, 'resume');
    await until([a, b], () => a.engine.crawls.get(crawl.id)?.status === 'running' && held.length > 0, 'the crawl to run again, on both hubs, up to page 3');
    assert.ok(b.engine.crawls.get(crawl.id)!.pagesDone >= 2, 'hub B\'s workers crawled pages 1 and 2');

    await b.engine.control(crawl.id, 'cancel');
    await until([a], () => a.engine.crawls.get(crawl.id)?.status === 'cancelled', 'hub A to see the cancel');
    const onA = a.engine.crawls.get(crawl.id)!;
    assert.equal(onA.finishReason, 'cancelled');
    assert.equal(onA.frontier.hosts.size, 0, 'its frontier is cleared on A');
    assert.equal(b.engine.leasesInFlight, 0, 'B\'s leases are revoked');
  } finally {
    site.setHandler(null);
    for (const res of held) res.destroy();
    await fleet.close();
  }
});

test('maxPages is exact with two hubs: exactly that many pages recorded, the crawl ended on both', async () => {
  const fleet = await twoHubs();
  const { a, b } = fleet;
  try {
    fleet.workers.push(...(await startWorkers(a.url, 2)), ...(await startWorkers(b.url, 2)));
    const crawl = await a.engine.createCrawl(wideSpec({ limits: { maxPages: 9 } }));
    await until([a, b], () => ended(a, crawl.id) && ended(b, crawl.id), 'the crawl to end on both hubs');
    for (const hub of [a, b]) {
      const summary = hub.engine.crawls.get(crawl.id)!.summary();
      assert.deepEqual([summary.status, summary.finishReason, summary.pagesDone], ['finished', 'maxPages', 9]);
    }
    assert.equal((await a.storage.countByState(crawl.id)).done, 9);
  } finally {
    await fleet.close();
  }
});
