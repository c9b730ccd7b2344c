// Storage out of reach, on fake time (server/engine/storage-outage.ts): a
// failed write makes the hub's heartbeat probe at once; while storage is away
// no lease is granted and none expires, a result is answered STORAGE_FAILED
// (its lease stays with its worker, who sends it again), GET /api/hubs says
// STORAGE_UNAVAILABLE; when storage is back leases get the lost time, leasing
// goes on and the kept result is recorded. Storage is made to fail by hand
// here (the embedded SQLite); test/server/faults/database-away.test.ts stops a
// real PostgreSQL server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import { advanceUntil, createFakeClock } from '../../helpers/fake-clock.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import type { HubList } from '../../../shared/admin-api.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 6, tagPages: false }));
});
after(() => site.close());

test('storage away: no lease granted or expired, results answered STORAGE_FAILED and kept; back: the lost time is given back, leasing resumes, the kept result is recorded', async () => {
  const clock = createFakeClock();
  const hub = await startTestHub({ hubHeartbeatMs: 1000, hubDeadAfterMs: 4000, leaseTtlMs: 5000, leaseSweepMs: 100 }, { clock });
  const hubs = async (): Promise<HubList> => (await (await fetch(`${hub.url}/api/hubs`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as HubList;
  const worker = await connectRawWorker(hub.url, { capacity: 2, token: await operatorToken(hub) });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: Array.from({ length: 6 }, (_, i) => site.url(`/page/${i + 1}/`)), follow: [] }));
    const [first, second] = await worker.waitForLeases(2);
    await (await worker.relay(first!.id)).text();
    const result = { leaseId: first!.id, items: [{ type: 'item', data: { text: 'kept', author: 'outage' } }], links: [] };

    // The database goes away: reads and writes fail.
    const storage = hub.storage;
    const saved = { heartbeat: storage.heartbeat, recordPage: storage.recordPage, listHubs: storage.listHubs };
    const away = () => Promise.reject(new Error('connect ECONNREFUSED'));
    Object.assign(storage, { heartbeat: away, recordPage: away, listHubs: away });

    // The first result's write fails: it is answered STORAGE_FAILED, and the failure makes the heartbeat probe at once.
    assert.deepEqual(await worker.socket.emitWithAck('result', result), {
      ok: false,
      error: { code: 'STORAGE_FAILED', message: 'the hub could not store the result; send it again' },
    });
    await hub.fleet.beat();
    assert.equal(hub.engine.storageOutage.down, true);
    const since = clock.now();
    assert.deepEqual((await hubs()).storage, { available: false, unavailableSince: since, code: 'STORAGE_UNAVAILABLE' });

    // Past the lease TTL, and with capacity for more: nothing expires, nothing is granted.
    await worker.socket.emitWithAck('capacity', { capacity: 4 });
    await clock.tickAsync(6000);
    await worker.quiet();
    assert.equal(worker.leases.length, 2, 'no lease granted while storage is away');
    assert.equal(worker.revoked.length, 0, 'no lease expired');
    assert.equal(hub.engine.leasesInFlight, 2);
    const again = await worker.socket.emitWithAck('result', result);
    assert.equal(again.ok ? 'ok' : again.error.code, 'STORAGE_FAILED', 'sent again while away: still not acknowledged');
    assert.equal(crawl.pagesDone, 0);

    // Back: the next heartbeat says so, leases get the 6 s lost, leasing resumes, the kept result is recorded once.
    Object.assign(storage, saved);
    await clock.tickAsync(1000);
    await hub.fleet.beat();
    assert.equal(hub.engine.storageOutage.down, false);
    assert.deepEqual((await hubs()).storage, { available: true, unavailableSince: null, code: null });
    // (politeness may hold the host a little after the relay's fetch: on fake time, the clock moves it)
    await advanceUntil(clock, () => worker.leases.length >= 4, { stepMs: 100, maxMs: 10_000 });
    assert.ok(worker.leases.slice(2).every((l) => ![first!.url, second!.url].includes(l.url)), 'the leased pages are not leased twice');
    assert.deepEqual(await worker.socket.emitWithAck('result', result), { ok: true, duplicate: false });
    assert.equal(crawl.pagesDone, 1);
    await clock.tickAsync(1000);
    await worker.quiet();
    assert.equal(worker.revoked.length, 0, 'the second lease got its lost time back');
  } finally {
    worker.close();
    await hub.cleanup();
  }
});
