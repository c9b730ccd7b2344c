// The database away for a while (issue 12 item 4, docs/scale-out.md): a hub
// on a PostgreSQL cluster of this test's own, which the test stops mid-crawl
// (`pg_ctl stop`, a clean shutdown or a crash) and starts again. Meanwhile the
// hub grants no lease, its workers stay connected and are told STORAGE_FAILED
// for their results (they keep them and send them again), and the API and the
// admin feed say STORAGE_UNAVAILABLE. Once the database is back the crawl
// finishes with exactly the result of an undisturbed crawl: the same items,
// the same URLs, each recorded once. Real time (PostgreSQL is a process of its
// own): every wait is on a condition, never a fixed sleep.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { io } from 'socket.io-client';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import { crawlOutcome, undisturbedOutcome, type CrawlOutcome } from './lib.ts';
import { startPostgresCluster, type PostgresCluster } from '../../setup/postgres.ts';
import { withDatabase } from '../../helpers/postgres.ts';
import { waitFor } from '../../helpers/wait.ts';
import { ADMIN_NAMESPACE } from '../../../shared/protocol.ts';
import type { AdminUpdate } from '../../../shared/admin-protocol.ts';
import type { HubList } from '../../../shared/admin-api.ts';

const PAGES = 120;
const CHAINS = 8;

let site: FixtureServer;
let cluster: PostgresCluster;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES, tagPages: false }));
  cluster = await startPostgresCluster({ quiet: true });
});
after(async () => {
  cluster.stop();
  await site.close();
});

// Chains of pages, each linking to the next: leases in flight on many pages at once, and new links found all along.
const spec = () => quotesSpec(site.origin, { startUrls: Array.from({ length: CHAINS }, (_, i) => site.url(`/page/${i * (PAGES / CHAINS) + 1}/`)) });

let reference: CrawlOutcome | undefined;
/** The undisturbed crawl's outcome, once for both tests. */
async function undisturbed(): Promise<CrawlOutcome> {
  reference ??= await undisturbedOutcome(spec());
  assert.equal(reference.urls.length, PAGES);
  assert.equal(reference.items.length, PAGES * 10);
  return reference;
}

async function freshDatabase(): Promise<string> {
  const name = `away_${Math.random().toString(36).slice(2, 10)}`;
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return withDatabase(cluster.url, name);
}

for (const mode of ['fast', 'immediate'] as const) {
  test(`the database stopped mid-crawl (pg_ctl stop -m ${mode}) and started again: no lease meanwhile, workers stay, the console says STORAGE_UNAVAILABLE; the crawl ends exactly as an undisturbed one`, async () => {
    const expected = await undisturbed();
    const hub = await startTestHub({ databaseUrl: await freshDatabase(), hubHeartbeatMs: 100, hubDeadAfterMs: 2000, leaseSweepMs: 100 });
    const workers = await startWorkers(hub.url, 2, { concurrency: 3 });
    let disconnects = 0;
    for (const w of workers) w.socket.on('disconnect', () => disconnects++);
    // Every answer the hub gives a result, to see the outage's STORAGE_FAILED.
    const answers = new Map<string, string[]>(); // lease id → the hub's answers to its result, in order
    const submit = hub.engine.submitResult.bind(hub.engine);
    hub.engine.submitResult = async (worker, payload) => {
      const reply = await submit(worker, payload);
      answers.set(payload.leaseId, [...(answers.get(payload.leaseId) ?? []), reply.ok ? 'ok' : reply.error.code]);
      return reply;
    };
    const resent = () => [...answers].filter(([, a]) => a.filter((c) => c === 'STORAGE_FAILED').length >= 2).map(([id]) => id);
    const admin = io(`${hub.url}${ADMIN_NAMESPACE}`, { transports: ['websocket'], forceNew: true, auth: { token: TEST_ADMIN_TOKEN } });
    const updates: AdminUpdate[] = [];
    admin.on('admin:update', (u) => updates.push(u));
    const hubs = async (): Promise<HubList> => (await (await fetch(`${hub.url}/api/hubs`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as HubList;
    let halted = false;
    try {
      const crawl = await hub.engine.createCrawl(spec());
      await waitFor(() => crawl.pagesDone >= PAGES / 4, { timeoutMs: 60_000, message: 'a quarter of the crawl' });
      const fleetBefore = await hubs();
      assert.deepEqual([fleetBefore.hubs.length, fleetBefore.storage.available], [1, true]);
      cluster.halt(mode);
      halted = true;

      // The hub notices (its heartbeat, or a failed write, probes at once) and says so.
      await waitFor(() => hub.engine.storageOutage.down, { timeoutMs: 10_000, message: 'the hub to notice the database is away' });
      const downSince = hub.engine.storageOutage.status.unavailableSince!;
      const pagesAtDown = crawl.pagesDone;
      const leasesAtDown = hub.engine.leasesInFlight;
      assert.ok(pagesAtDown < PAGES, 'the database went away mid-crawl');
      const list = await hubs();
      assert.deepEqual(list.storage, { available: false, unavailableSince: downSince, code: 'STORAGE_UNAVAILABLE' });
      assert.deepEqual(list.hubs.map((h) => h.id), fleetBefore.hubs.map((h) => h.id), 'the fleet as last read');
      await waitFor(() => updates.at(-1)?.storage.available === false, { timeoutMs: 10_000, message: 'the admin feed to say so' });
      assert.equal(updates.at(-1)!.storage.code, 'STORAGE_UNAVAILABLE');

      // Workers keep their results and send them again; each is answered STORAGE_FAILED (never an ack before a commit).
      await waitFor(() => resent().length >= 2, { timeoutMs: 30_000, message: 'results answered STORAGE_FAILED and sent again' });
      const kept = resent();
      assert.equal(crawl.pagesDone, pagesAtDown, 'no page recorded while the database is away');
      assert.ok(hub.engine.leasesInFlight <= leasesAtDown, 'no lease granted while the database is away');
      assert.equal(hub.engine.workers.size, 2, 'the workers stay connected');

      cluster.resume();
      halted = false;
      await waitFor(() => !hub.engine.storageOutage.down, { timeoutMs: 20_000, message: 'the hub to notice the database is back' });
      assert.deepEqual((await hubs()).storage, { available: true, unavailableSince: null, code: null });
      await waitFor(() => updates.at(-1)?.storage.available === true, { timeoutMs: 10_000, message: 'the admin feed to say it is back' });

      const summary = await waitForCrawlEnd(hub, crawl.id, 120_000);
      assert.deepEqual([summary.status, summary.finishReason, summary.pagesDone], ['finished', 'completed', PAGES]);
      assert.equal(disconnects, 0, 'no worker was disconnected');
      for (const id of kept) assert.equal(answers.get(id)!.at(-1), 'ok', `the result of lease ${id}, refused meanwhile, is stored once the database is back`);
      const got = await crawlOutcome(hub.storage, crawl.id);
      assert.equal(got.notDone, 0, 'every page done, none failed or left queued');
      assert.deepEqual(got.urls, expected.urls, 'the same URLs, each recorded once');
      assert.deepEqual(got.items, expected.items, 'the same items, none lost or doubled');
    } finally {
      if (halted) cluster.resume(); // for the next test
      admin.close();
      await Promise.all(workers.map((w) => w.stop()));
      await hub.cleanup();
    }
  });
}
