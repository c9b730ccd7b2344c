// Faults 1 and 2 (issue #6): the hub killed with SIGKILL. A result is committed
// before it is acknowledged, leases live in memory only, and a restarted hub
// finds every leased URL queued again: nothing is lost, nothing recorded twice.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startWorkers } from '../../helpers/hub.ts';
import { BACKENDS, openTestStore, type TestStore } from '../../helpers/backends.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { api, helpers, killed, seededRandom, sleep, spawnUntil } from './lib.ts';

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 500, tagPages: false }));
});
after(() => site.close());

const hubScript = join(helpers, 'hub-process.ts');

async function startHubProcess(store: TestStore, port?: string): Promise<{ child: ChildProcess; url: string }> {
  const { child, match } = await spawnUntil([hubScript, ...store.hubArgs(port)], /^READY (\S+)/);
  return { child, url: match[1]! };
}

/** The crawl's detail from the hub's API, or undefined while the hub is down. */
async function detail(url: string, id: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await api(url, `/crawls/${id}`)).body;
  } catch {
    return undefined;
  }
}

test('fault 1: the hub SIGKILLed at 5 random moments of a 500-page crawl and restarted each time: exactly 500 results, no duplicates, integrity ok, no lease left', async () => {
  const random = seededRandom('fault 1');
  // One kill in each fifth of the crawl, at a random page count within it.
  const killAt = Array.from({ length: 5 }, (_, i) => 20 + i * 90 + random.int(0, 60));
  // On SQLite, whose file is read between the kills (the same on PostgreSQL: fault 2 and hub-faults.test.ts).
  const store = await openTestStore('SQLite');
  const dir = { path: store.dataDir, remove: () => void store.remove() };
  let hub = await startHubProcess(store);
  const port = new URL(hub.url).port;
  const workers = await startWorkers(hub.url, 4, { concurrency: 3 });
  try {
    // Ten chains of 50 pages, each page linking to the next: leases in flight on many pages at once.
    const spec = quotesSpec(site.origin, { startUrls: Array.from({ length: 10 }, (_, i) => site.url(`/page/${i * 50 + 1}/`)) });
    const created = await api(hub.url, '/crawls', { method: 'POST', body: JSON.stringify(spec) });
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    const killedAt: number[] = [];
    for (const threshold of killAt) {
      for (;;) {
        const now = await detail(hub.url, id);
        if (now && (now.pagesDone as number) >= threshold) break;
        assert.notEqual(now?.status, 'finished', `the crawl finished before kill ${killedAt.length + 1}`);
        await sleep(2);
      }
      await killed(hub.child);
      const db = new DatabaseSync(join(dir.path, 'crowdcrawl.db'), { readOnly: true });
      killedAt.push((db.prepare('SELECT COUNT(*) AS n FROM requests WHERE state = 2').get() as { n: number }).n);
      db.close();
      hub = await startHubProcess(store, port);
    }
    assert.equal(killedAt.length, 5);
    for (const n of killedAt) assert.ok(n > 0 && n < 500, `killed mid-crawl at ${killedAt.join(', ')} pages`);
    let final: Record<string, unknown> | undefined;
    for (;;) {
      final = await detail(hub.url, id);
      if (final && final.status !== 'running') break;
      await sleep(20);
    }
    assert.equal(final.status, 'finished');
    assert.equal(final.finishReason, 'completed');
    assert.equal(final.pagesDone, 500);
    assert.equal((await api(hub.url, '/stats')).body.leasesInFlight, 0, 'no lease left behind');
    await Promise.all(workers.map((w) => w.stop()));
    hub.child.kill('SIGTERM');
    await new Promise((resolve) => hub.child.once('exit', resolve));

    const db = new DatabaseSync(join(dir.path, 'crowdcrawl.db'));
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    const states = db.prepare('SELECT state, COUNT(*) AS n FROM requests WHERE crawl_id = ? GROUP BY state').all(id);
    assert.deepEqual(states.map((r) => ({ ...r })), [{ state: 2, n: 500 }], 'every page recorded, none queued or failed');
    const items = db.prepare('SELECT request_key, data FROM items WHERE crawl_id = ?').all(id) as { request_key: string; data: string }[];
    assert.equal(items.length, 5000);
    assert.equal(new Set(items.map((i) => i.data)).size, 5000, 'no item stored twice');
    const perPage = db.prepare('SELECT COUNT(*) AS n FROM (SELECT request_key FROM items WHERE crawl_id = ? GROUP BY request_key HAVING COUNT(*) <> 10)').get(id) as { n: number };
    assert.equal(perPage.n, 0, 'each page has its 10 items, once');
    db.close();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await killed(hub.child);
    dir.remove();
  }
});

for (const backend of BACKENDS) {
  test(`fault 2 (${backend}): an acknowledged result is in the database after an immediate SIGKILL of the hub`, async () => {
    const store = await openTestStore(backend);
    let hub = await startHubProcess(store);
    const port = new URL(hub.url).port;
    try {
      const spec = quotesSpec(site.origin, { startUrls: Array.from({ length: 8 }, (_, i) => site.url(`/page/${i + 1}/`)), follow: [] });
      const id = (await api(hub.url, '/crawls', { method: 'POST', body: JSON.stringify(spec) })).body.id as string;
      // An operator's worker token (kept in the database, so it holds across the restarts): its results are recorded
      // when acknowledged; an ordinary contributor's wait for a check, and a kill before it only costs a re-crawl.
      const token = (await api(hub.url, '/worker-tokens', { method: 'POST', body: JSON.stringify({ name: 'fault 2' }) })).body.token as string;
      for (let round = 1; round <= 8; round++) {
        const worker = await connectRawWorker(hub.url, { capacity: 1, token });
        const [lease] = await worker.waitForLeases(1);
        await (await worker.relay(lease!.id)).text();
        const marker = `round-${round}-${lease!.id}`;
        const reply = await worker.socket.emitWithAck('result', { leaseId: lease!.id, items: [{ type: 'item', data: { text: marker, author: 'fault 2' } }], links: [] });
        // The ack is in: kill the hub before it can do anything else.
        hub.child.kill('SIGKILL');
        assert.deepEqual(reply, { ok: true, duplicate: false });
        await killed(hub.child);
        worker.close();
        const [row] = await store.query('SELECT state, lease_id FROM requests WHERE crawl_id = ? AND url = ?', id, lease!.url);
        const stored = (await store.query<{ data: string }>('SELECT data FROM items WHERE crawl_id = ?', id)).filter((i) => (JSON.parse(i.data) as { text: string }).text === marker);
        assert.deepEqual({ ...row }, { state: 2, lease_id: lease!.id }, `round ${round}: the page is recorded`);
        assert.equal(stored.length, 1, `round ${round}: its item is stored`);
        hub = await startHubProcess(store, port);
      }
      const final = (await api(hub.url, `/crawls/${id}`)).body;
      assert.deepEqual([final.status, final.pagesDone], ['finished', 8]);
    } finally {
      await killed(hub.child);
      await store.remove();
    }
  });
}
