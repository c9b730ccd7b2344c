import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import { BACKENDS, openTestStore } from '../../helpers/backends.ts';
import { helpers, killed, spawnUntil } from './lib.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 100 }));
});
after(() => site.close());


test('a worker killed mid-lease: its URLs are crawled by another, nothing lost or doubled', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(
      quotesSpec(site.origin, { startUrls: Array.from({ length: 100 }, (_, i) => `${site.origin}/page/${i + 1}/`), follow: [] }),
    );
    const { child } = await spawnUntil([join(helpers, 'stuck-worker.ts'), hub.url, '5'], /^HOLDING (\d+)/);
    assert.equal(hub.engine.leasesInFlight, 5, 'the doomed worker holds 5 leases');
    await killed(child);
    const workers = await startWorkers(hub.url, 2);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 100);
    const items = (await Array.fromAsync(hub.storage.iterateItems(crawl.id)));
    assert.equal(items.length, 1000);
    assert.equal(new Set(items.map((i) => i.data)).size, 1000);
    assert.equal(hub.engine.leasesInFlight, 0, 'no lease left behind');
    await Promise.all(workers.map((w) => w.stop()));
  } finally {
    await hub.cleanup();
  }
});

async function api(url: string, path: string, init: RequestInit = {}) {
  const response = await fetch(`${url}/api${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

for (const backend of BACKENDS) {
  test(`${backend}: the hub SIGKILLed mid-crawl and restarted on the same database completes the crawl with the exact result`, async () => {
    const store = await openTestStore(backend);
    const script = join(helpers, 'hub-process.ts');
    let { child, match } = await spawnUntil([script, ...store.hubArgs()], /^READY (\S+)/);
    const url = match[1]!;
    const port = new URL(url).port;
    const workers = await startWorkers(url, 3, { concurrency: 2 });
    try {
      const created = await api(url, '/crawls', { method: 'POST', body: JSON.stringify(quotesSpec(site.origin)) });
      assert.equal(created.status, 201);
      const id = created.body.id as string;
      for (;;) {
        const { body } = await api(url, `/crawls/${id}`);
        if ((body.pagesDone as number) >= 30) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await killed(child);
      const doneAtKill = (await store.query<{ n: number }>('SELECT COUNT(*) AS n FROM requests WHERE state = 2'))[0]!.n;
      assert.ok(doneAtKill >= 30 && doneAtKill < 100, `killed mid-crawl (${doneAtKill} pages recorded)`);
      ({ child } = await spawnUntil([script, ...store.hubArgs(port)], /^READY (\S+)/));
      let final: Record<string, unknown>;
      for (;;) {
        const { body } = await api(url, `/crawls/${id}`);
        if (body.status !== 'running') {
          final = body;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(final.status, 'finished');
      assert.equal(final.pagesDone, 100);
      await Promise.all(workers.map((w) => w.stop()));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      const items = await store.query<{ data: string }>('SELECT data FROM items WHERE crawl_id = ?', id);
      assert.equal(items.length, 1000);
      assert.equal(new Set(items.map((i) => i.data)).size, 1000, 'no item stored twice');
      const states = await store.query('SELECT state, COUNT(*) AS n FROM requests WHERE crawl_id = ? GROUP BY state', id);
      assert.deepEqual(states, [{ state: 2, n: 100 }]);
      await store.checkIntegrity();
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await killed(child);
      await store.remove();
    }
  });
}
