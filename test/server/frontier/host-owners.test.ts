// Host ownership (server/frontier/host-owners.ts, docs/scale-out.md): two
// frontiers of one crawl, as two hubs on one PostgreSQL database have; a host
// is worked by the hub holding it, the other waits and asks again; a host that
// drains or whose crawl ends on its hub is given up, with its politeness time;
// one held but not leased from for a while is given up on the sync tick.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';
import { CrawlFrontier, type FrontierEntry } from '../../../server/frontier/frontier.ts';
import { HOST_ELSEWHERE_RETRY_MS, HOST_UNUSED_GIVE_UP_MS } from '../../../server/frontier/host-owners.ts';
import type { HubRow } from '../../../server/storage/fleet-rows.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const db of databases) await db.drop();
});

const hubRow = (id: string, at: number): HubRow => ({ id, address: id, version: '1', startedAt: at, heartbeatAt: at, workers: 0, leases: 0, pagesPerSec: 0, state: 'alive' });
const HOST = 'a.example';
const url = (n: number) => `http://${HOST}/${n}`;

/** Two hubs' stores on one new database, one crawl of `pages` URLs on each host, and a frontier on each. */
async function twoHubs(pages: number, clock: FakeClock, hosts = [HOST]) {
  const db = await createTestDatabase();
  databases.push(db);
  const stores = [await PostgresStorage.open(db.url), await PostgresStorage.open(db.url)] as const;
  await stores[0].registerHub(hubRow('a', clock.now()));
  await stores[1].registerHub(hubRow('b', clock.now()));
  await stores[0].createCrawl({
    id: 'c', name: 'c', spec: '{}', specVersion: 1, createdAt: clock.now(), sources: [],
    startUrls: hosts.flatMap((host) => Array.from({ length: pages }, (_, i) => ({ url: `http://${host}/${i + 1}`, key: `http://${host}/${i + 1}`, host, depth: 0 }))),
  });
  const frontiers = stores.map((store) => {
    const frontier = new CrawlFrontier(store, 'c', { concurrency: 2, delayMs: 1000 }, { clock, onError: (error) => assert.fail(String(error)) });
    frontier.load(pages * hosts.length);
    return frontier;
  });
  return { stores, frontiers: frontiers as [CrawlFrontier, CrawlFrontier], close: () => Promise.all(stores.map((s) => s.close())) };
}

/** Takes what the frontier gives, letting its background reads (holds, claims) arrive: polled, up to a few seconds. */
async function take(frontier: CrawlFrontier, max: number, now: number, until: (got: FrontierEntry[]) => boolean = (got) => got.length >= max): Promise<FrontierEntry[]> {
  const out: FrontierEntry[] = [];
  for (let turn = 0; turn < 300 && !until(out); turn++) {
    out.push(...frontier.take(max - out.length, now));
    if (!until(out)) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return out;
}

/** Waits (polled) until `check` holds. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let turn = 0; turn < 300; turn++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`never: ${what}`);
}

const record = (store: PostgresStorage, entry: FrontierEntry) =>
  store.recordPage({
    crawlId: 'c', key: entry.key, finalUrl: entry.url, httpStatus: 200, contentHash: 'h', items: [], links: [], worker: 'w', leaseId: 'l', specVersion: 1,
    doneAt: 0, clientId: null, validation: 'hub', resultDigest: 'd', rejected: 0, extraExtractions: 0,
  });

test('two hubs, one host: only the hub holding the host leases from it; the other waits, asks again, and takes it once the first gives it up', async () => {
  const clock = createFakeClock();
  const { stores, frontiers: [a, b], close } = await twoHubs(3, clock);
  try {
    const first = await take(a, 1, clock.now());
    await clock.tickAsync(1000);
    first.push(...(await take(a, 2, clock.now(), (out) => out.length >= 1)));
    assert.deepEqual(first.map((e) => e.url), [url(1), url(2)], 'a holds the host: its concurrency (2) and delay are the host\'s');
    const lastLeaseAt = clock.now();
    await eventually(() => {
      assert.deepEqual(b.take(2, clock.now()), [], 'b never leases while a holds the host');
      const host = b.getHost(HOST);
      return host !== undefined && !host.loading && host.pausedUntil > 0;
    }, 'b asked for the host');
    const waiting = b.getHost(HOST)!;
    assert.equal(waiting.owned, false);
    assert.equal(waiting.pausedUntil, clock.now() + HOST_ELSEWHERE_RETRY_MS, 'b asks again after a while');
    assert.equal(b.nextWakeAt(), waiting.pausedUntil, 'and wakes its dispatcher for it');
    // a records page 1: there is room for a third lease, still not on b's side.
    assert.equal((await record(stores[0], first[0]!)).recorded, true);
    a.finish(first[0]!);
    await clock.tickAsync(HOST_ELSEWHERE_RETRY_MS);
    assert.deepEqual(await take(b, 1, clock.now(), () => !waiting.loading && waiting.pausedUntil > clock.now()), [], 'a still holds it');
    // The crawl stops on a (paused or ended there): its host is given up, with its delay after the last lease.
    a.clear();
    await eventually(async () => (await stores[0].pool.query('SELECT 1 FROM crawl_hosts WHERE host = $1 AND hub_id IS NULL', [HOST])).rowCount === 1, 'a gave the host up');
    const left = await stores[0].pool.query<{ not_before: string }>('SELECT not_before FROM crawl_hosts WHERE host = $1', [HOST]);
    assert.equal(Number(left.rows[0]!.not_before), lastLeaseAt + 1000, 'with the time its next lease may go out: a\'s delay after its last lease');
    await clock.tickAsync(HOST_ELSEWHERE_RETRY_MS);
    const taken = await take(b, 1, clock.now());
    await clock.tickAsync(1000);
    taken.push(...(await take(b, 1, clock.now())));
    assert.equal(waiting.owned, true);
    assert.ok(waiting.pausedUntil >= lastLeaseAt + 1000, 'b keeps a\'s delay');
    assert.deepEqual(taken.map((e) => e.url).sort(), [url(2), url(3)], 'the row a had leased is back, and the one it never got to');
  } finally {
    await close();
  }
});

test('a host that drains leaves memory and is given up at once on a shared database: another hub may have its next rows', async () => {
  const clock = createFakeClock();
  const { stores, frontiers: [a], close } = await twoHubs(1, clock);
  try {
    const [only] = await take(a, 1, clock.now());
    assert.equal(only!.url, url(1));
    assert.equal((await stores[1].holdHost('c', HOST)).held, false, 'held by a while it works it');
    await record(stores[0], only!);
    a.finish(only!);
    assert.equal(a.getHost(HOST), undefined, 'drained: out of memory');
    await eventually(async () => (await stores[1].holdHost('c', HOST)).held, 'b can take the host');
  } finally {
    await close();
  }
});

/** Which hub holds each host of the crawl (null: free). */
async function holders(store: PostgresStorage): Promise<Record<string, string | null>> {
  const rows = (await store.pool.query<{ host: string; hub_id: string | null }>('SELECT host, hub_id FROM crawl_hosts ORDER BY host')).rows;
  return Object.fromEntries(rows.map((r) => [r.host, r.hub_id]));
}

test('a hub gives up the hosts it holds but does not lease from: another hub takes them, and the first takes the free ones again', async () => {
  const clock = createFakeClock();
  const hosts = ['h1.example', 'h2.example', 'h3.example', 'h4.example'];
  const { stores, frontiers: [a, b], close } = await twoHubs(3, clock, hosts);
  try {
    // a's workers ask first: a lease on every host, so a holds them all.
    const first = await take(a, hosts.length, clock.now());
    assert.deepEqual(first.map((e) => e.host).sort(), hosts);
    assert.deepEqual(await holders(stores[0]), Object.fromEntries(hosts.map((h) => [h, 'a'])));
    for (const entry of first) {
      await record(stores[0], entry);
      a.finish(entry);
    }
    // b's workers ask: every host is a's, b waits for each.
    const askedAll = () => hosts.every((h) => { const q = b.getHost(h); return q !== undefined && !q.loading && q.pausedUntil > clock.now(); });
    assert.deepEqual(await take(b, hosts.length, clock.now(), askedAll), []);
    assert.ok(askedAll(), 'b asked for every host');
    // a's workers are busy elsewhere: no take on a. Its sync tick keeps the hosts until they have been unused for the idle time.
    const queued = async () => stores[0].countQueued('c');
    await clock.tickAsync(HOST_UNUSED_GIVE_UP_MS - 1);
    a.refresh(await queued());
    assert.equal(a.activeHosts.count, hosts.length, 'not unused long enough yet');
    await clock.tickAsync(1);
    a.refresh(await queued());
    assert.equal(a.activeHosts.count, 0, 'a gave up every host it held and had not leased from for max(2 s, 2 × its 1 s delay)');
    await eventually(async () => Object.values(await holders(stores[0])).every((h) => h === null), 'the hosts are free in storage');
    // b's workers take one lease: b holds that host and leases the row a had claimed.
    const got = b.take(1, clock.now());
    await eventually(() => hosts.every((h) => !b.getHost(h)!.loading), 'b read its host');
    got.push(...b.take(1, clock.now()));
    assert.equal(got.length, 1);
    const bHost = got[0]!.host;
    assert.equal(got[0]!.url, `http://${bHost}/2`);
    assert.equal((await holders(stores[0]))[bHost], 'b');
    // a's workers ask again: it takes again the hosts nobody took, not b's.
    const again = await take(a, hosts.length - 1, clock.now());
    const others = hosts.filter((h) => h !== bHost);
    assert.deepEqual(again.map((e) => e.url).sort(), others.map((h) => `http://${h}/2`));
    assert.deepEqual(await holders(stores[0]), Object.fromEntries(hosts.map((h) => [h, h === bHost ? 'b' : 'a'])));
    assert.equal(a.getHost(bHost)?.owned, false, 'a waits for b\'s host');
  } finally {
    await close();
  }
});

test('a held host paused by Retry-After is kept however long it goes unused', async () => {
  const clock = createFakeClock();
  const { stores, frontiers: [a], close } = await twoHubs(3, clock);
  try {
    const [one] = await take(a, 1, clock.now());
    await record(stores[0], one!);
    a.finish(one!);
    a.pause(HOST, clock.now() + 60_000);
    await clock.tickAsync(10 * HOST_UNUSED_GIVE_UP_MS);
    a.refresh(await stores[0].countQueued('c'));
    assert.equal(a.getHost(HOST)?.owned, true, 'still held, in memory');
    await clock.tickAsync(60_000);
    a.refresh(await stores[0].countQueued('c'));
    assert.equal(a.getHost(HOST), undefined, 'given up once the pause is over and it still goes unused');
    await eventually(async () => (await holders(stores[0]))[HOST] === null, 'free in storage');
  } finally {
    await close();
  }
});
