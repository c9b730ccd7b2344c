// Per-address lease caps across a fleet (docs/scale-out.md): the leases another
// hub of the fleet published for an address (with its heartbeat) count against
// validation.maxLeasesPerAddress here; when they are given back, this hub's
// workers of that address may take more. A hub on PostgreSQL, and a second
// hub's row written straight into the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub } from '../../helpers/hub.ts';
import { openTestStore } from '../../helpers/backends.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';

test('leases another hub holds for an address count against the cap here, as of its last heartbeat', async () => {
  const site = await startFixtureServer(quotesSite({ pages: 10 }));
  const store = await openTestStore('PostgreSQL');
  const hub = await startTestHub({ ...store.hubOptions(), databaseUrl: store.databaseUrl!, validation: { maxLeasesPerAddress: 3 } });
  const other = await PostgresStorage.open(store.databaseUrl!);
  const worker = await connectRawWorker(hub.url, { capacity: 5 });
  try {
    const now = Date.now();
    await other.registerHub({ id: 'other', address: 'http://other', version: '1', startedAt: now, heartbeatAt: now, workers: 1, leases: 2, pagesPerSec: 0, state: 'alive' });
    await other.shareAddressLeases('other', { '127.0.0.1': 2 });
    await hub.fleet.beat();
    const startUrls = Array.from({ length: 10 }, (_, i) => site.url(`/page/${i + 1}/`));
    await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls, follow: [], politeness: { obeyRobotsTxt: false, perHostConcurrency: 16, perHostDelayMs: 0 } }));
    await worker.waitForLeases(1);
    await worker.quiet();
    assert.equal(worker.leases.length, 1, 'the cap (3) less the 2 the other hub holds');
    const [published] = await store.query<{ address_leases: Record<string, number> }>('SELECT address_leases FROM hubs WHERE id = ?', hub.fleet.id);
    assert.deepEqual(published!.address_leases, {}, 'what this hub held at its heartbeat');
    // The other hub's leases end: from this hub's next heartbeat its worker may take up to the cap.
    await other.shareAddressLeases('other', {});
    await hub.fleet.beat();
    await worker.waitForLeases(3);
    await worker.quiet();
    assert.equal(worker.leases.length, 3);
    const [after] = await store.query<{ address_leases: Record<string, number> }>('SELECT address_leases FROM hubs WHERE id = ?', hub.fleet.id);
    assert.deepEqual(after!.address_leases, { '127.0.0.1': 1 }, 'published with the heartbeat, for the others');
  } finally {
    worker.close();
    await other.close();
    await hub.cleanup();
    await store.remove();
    await site.close();
  }
});
