// A hub dies, the crawl goes on (issue 12 items 4 and 5, docs/scale-out.md):
// two hubs, each a child process, on one PostgreSQL database of this file's
// own cluster, each with Node workers of its own, short heartbeats from their
// settings files. (a) one hub SIGKILLed mid-crawl and not restarted: the other
// finishes; (b) both SIGKILLed at random moments and restarted; (c) the
// database stopped and started again mid-crawl. Each time the result is exactly
// the one an undisturbed hub gives: the same URLs, each recorded once, the same
// items, none lost or doubled. Real time (the hubs and PostgreSQL are
// processes): every wait is on a condition, never a fixed sleep; the random
// schedule's seed is printed (FAULT_SEED replays it).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startWorkers, tempDir } from '../../helpers/hub.ts';
import { startPostgresCluster, type PostgresCluster } from '../../setup/postgres.ts';
import { withDatabase } from '../../helpers/postgres.ts';
import { waitFor } from '../../helpers/wait.ts';
import type { NodeWorker } from '../../../server/worker/node-worker.ts';
import { api, killed, outcomeIn, seededRandom, startHubChild, undisturbedOutcome, type CrawlOutcome } from './lib.ts';

const PAGES = 120;
const CHAINS = 8;
/** Short heartbeats, so a dead hub's rows come back within 3.5 s (not shorter: a loaded machine's pauses must not pass for deaths). */
const SETTINGS = { hubHeartbeatMs: 500, hubDeadAfterMs: 3000, fleetSyncMs: 200, leaseSweepMs: 200 };

let site: FixtureServer;
let cluster: PostgresCluster;
let reference: CrawlOutcome;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES, tagPages: false }));
  cluster = await startPostgresCluster({ quiet: true });
  reference = await undisturbedOutcome(spec());
  assert.deepEqual([reference.urls.length, reference.items.length], [PAGES, PAGES * 10]);
});
after(async () => {
  cluster.stop();
  await site.close();
});

// Chains of pages, each linking to the next: leases in flight on many pages at once, new links found all along.
function spec() {
  return quotesSpec(site.origin, { startUrls: Array.from({ length: CHAINS }, (_, i) => site.url(`/page/${i * (PAGES / CHAINS) + 1}/`)) });
}

interface FleetHub {
  dir: { path: string; remove(): void };
  child: ChildProcess;
  url: string;
  port: string;
  workers: NodeWorker[];
}

/** Two hubs on a new database, two workers each; the crawl is created on the first. */
async function startFleet(): Promise<{ url: string; hubs: FleetHub[]; crawlId: string; sql: pg.Client }> {
  const name = `fleet_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(cluster.url, name);
  const hubs: FleetHub[] = [];
  for (let i = 0; i < 2; i++) {
    const dir = tempDir();
    const { child, url: hubUrl } = await startHubChild(dir.path, url, SETTINGS);
    hubs.push({ dir, child, url: hubUrl, port: new URL(hubUrl).port, workers: [] });
  }
  const created = await api(hubs[0]!.url, '/crawls', { method: 'POST', body: JSON.stringify(spec()) });
  assert.equal(created.status, 201);
  for (const hub of hubs) hub.workers = await startWorkers(hub.url, 2, { concurrency: 3 });
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  return { url, hubs, crawlId: created.body.id as string, sql };
}

async function stopFleet(fleet: { hubs: FleetHub[]; sql: pg.Client }): Promise<void> {
  await Promise.all(fleet.hubs.flatMap((h) => h.workers.map((w) => w.stop())));
  await Promise.all(fleet.hubs.map((h) => killed(h.child)));
  await fleet.sql.end().catch(() => {});
  for (const h of fleet.hubs) h.dir.remove();
}

/** Pages recorded so far, from the database (whatever hub is up). */
async function pagesDone(sql: pg.Client, crawlId: string): Promise<number> {
  return Number((await sql.query<{ n: string }>('SELECT COUNT(*) AS n FROM requests WHERE crawl_id = $1 AND state = 2', [crawlId])).rows[0]!.n);
}

/** The crawl's status as stored (any hub may write its end). */
async function crawlStatus(sql: pg.Client, crawlId: string): Promise<string> {
  return (await sql.query<{ status: string }>('SELECT status FROM crawls WHERE id = $1', [crawlId])).rows[0]!.status;
}

/** The crawl's requests by state and error, and its stored status, for a failure's message. */
async function describe(sql: pg.Client, crawlId: string): Promise<string> {
  const rows = await sql.query('SELECT state, error_code, COUNT(*) AS n, SUM(links) AS links FROM requests WHERE crawl_id = $1 GROUP BY state, error_code ORDER BY state', [crawlId]);
  const crawl = await sql.query('SELECT status, finish_reason, pages_done FROM crawls WHERE id = $1', [crawlId]);
  return JSON.stringify({ crawl: crawl.rows[0], requests: rows.rows });
}

/** The crawl ends (stored), and its result is exactly the undisturbed one. */
async function assertExact(fleet: { url: string; sql: pg.Client; crawlId: string }): Promise<void> {
  await waitFor(async () => (await crawlStatus(fleet.sql, fleet.crawlId)) !== 'running', {
    timeoutMs: 180_000,
    intervalMs: 100,
    message: () => 'the crawl to end',
  });
  assert.equal(await crawlStatus(fleet.sql, fleet.crawlId), 'finished');
  const summary = await describe(fleet.sql, fleet.crawlId);
  const got = await outcomeIn(fleet.url, fleet.crawlId);
  assert.equal(got.notDone, 0, `every page done, none failed or left queued: ${summary}`);
  assert.deepEqual(got.urls, reference.urls, `the same URLs, each recorded once: ${summary}`);
  assert.deepEqual(got.items, reference.items, 'the same items, none lost or doubled');
}

const pagesBy = (hub: FleetHub) => hub.workers.reduce((n, w) => n + w.loop.stats.pages, 0);

test('(a) two hubs, one SIGKILLed mid-crawl and not restarted: the other finishes with exactly the undisturbed result', async () => {
  const fleet = await startFleet();
  try {
    // A quarter of the crawl done. The site is one host, worked by one hub at a time (host ownership,
    // docs/scale-out.md): the hub whose workers are working it dies, holding the host and leases in flight.
    await waitFor(async () => fleet.hubs.some((h) => pagesBy(h) > 0) && (await pagesDone(fleet.sql, fleet.crawlId)) >= PAGES / 4, {
      timeoutMs: 120_000,
      intervalMs: 20,
      message: () => `a quarter of the crawl (${fleet.hubs.map(pagesBy).join(' and ')} pages recorded by the hubs' workers)`,
    });
    const [survivor, doomed] = (pagesBy(fleet.hubs[0]!) >= pagesBy(fleet.hubs[1]!) ? [fleet.hubs[1], fleet.hubs[0]] : fleet.hubs) as [FleetHub, FleetHub];
    await killed(doomed.child);
    await Promise.all(doomed.workers.map((w) => w.stop()));
    assert.ok((await pagesDone(fleet.sql, fleet.crawlId)) < PAGES, 'killed mid-crawl');
    await assertExact(fleet);
    const hubs = (await api(survivor.url, '/hubs')).body.hubs as { id: string; alive: boolean; self: boolean }[];
    const doomedId = readFileSync(join(doomed.dir.path, 'hub-id'), 'utf8').trim();
    assert.equal(hubs.find((h) => h.id === doomedId)?.alive, false, 'the dead hub is listed gone');
    assert.equal(hubs.find((h) => h.self)?.alive, true);
  } finally {
    await stopFleet(fleet);
  }
});

test('(b) two hubs, both SIGKILLed at random moments and restarted: exactly the undisturbed result', async () => {
  const random = seededRandom('fleet (b)');
  // Four kills, each at a random page count in its quarter of the crawl, of a random hub.
  const kills = Array.from({ length: 4 }, (_, i) => ({ at: 10 + i * 25 + random.int(0, 15), hub: random.int(0, 1) }));
  kills[0]!.hub = 0;
  kills[1]!.hub = 1; // both are killed at least once
  const fleet = await startFleet();
  // A hub takes seconds to start on a loaded machine, and the other would finish the crawl meanwhile: the site
  // answers nobody while one restarts (its answers wait, well within the relay's timeout), so each kill comes mid-crawl.
  let restarting: Promise<void> | null = null;
  site.setHandler(async () => {
    await restarting;
    return false;
  });
  try {
    for (const kill of kills) {
      await waitFor(async () => (await pagesDone(fleet.sql, fleet.crawlId)) >= kill.at, { timeoutMs: 120_000, intervalMs: 10, message: `${kill.at} pages` });
      assert.equal(await crawlStatus(fleet.sql, fleet.crawlId), 'running', `the crawl is still running at kill ${kills.indexOf(kill) + 1}: ${await describe(fleet.sql, fleet.crawlId)}`);
      const hub = fleet.hubs[kill.hub]!;
      await killed(hub.child);
      // Restarted on its data dir (its hub id) and port: its workers reconnect.
      restarting = startHubChild(hub.dir.path, fleet.url, SETTINGS, hub.port).then((again) => void (hub.child = again.child));
      await restarting;
      restarting = null;
    }
    await assertExact(fleet);
  } finally {
    site.setHandler(null);
    await stopFleet(fleet);
  }
});

test('(c) two hubs, the database stopped mid-crawl and started again: exactly the undisturbed result', async () => {
  const fleet = await startFleet();
  let halted = false;
  try {
    await waitFor(async () => (await pagesDone(fleet.sql, fleet.crawlId)) >= PAGES / 3, { timeoutMs: 120_000, intervalMs: 20, message: 'a third of the crawl' });
    await fleet.sql.end();
    cluster.halt('fast');
    halted = true;
    // Both hubs notice and say so (their API answers while the database is away).
    for (const hub of fleet.hubs) {
      await waitFor(async () => ((await api(hub.url, '/hubs')).body.storage as { available: boolean }).available === false, {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: `hub ${hub.url} to report STORAGE_UNAVAILABLE`,
      });
    }
    cluster.resume();
    halted = false;
    for (const hub of fleet.hubs) {
      await waitFor(async () => ((await api(hub.url, '/hubs')).body.storage as { available: boolean }).available, { timeoutMs: 30_000, intervalMs: 50, message: `hub ${hub.url} to be back` });
    }
    fleet.sql = new pg.Client({ connectionString: fleet.url });
    await fleet.sql.connect();
    await assertExact(fleet);
  } finally {
    if (halted) cluster.resume();
    await stopFleet(fleet);
  }
});
