import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, operatorToken } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';
import { waitFor } from '../../helpers/wait.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 10 }));
});
after(() => site.close());

const oneQuote = { type: 'item', data: { text: 'x', author: 'y' } };

test('a worker gets leases up to the capacity it declares, and no more', async () => {
  const hub = await startTestHub({}, { clock: createFakeClock() });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [{}] }));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    await w.waitForLeases(1);
    await w.quiet();
    assert.equal(w.leases.length, 1);
    assert.equal(w.leases[0]!.crawlId, crawl.id);
    assert.equal(w.leases[0]!.url, `${site.origin}/page/1/`);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a result is refused before the page was fetched through the relay, and for a lease held by another worker', async () => {
  const hub = await startTestHub();
  try {
    await hub.engine.createCrawl(quotesSpec(site.origin));
    const a = await connectRawWorker(hub.url, { capacity: 1 });
    const b = await connectRawWorker(hub.url, { capacity: 0 });
    const [lease] = await a.waitForLeases(1);
    const early = await a.socket.emitWithAck('result', { leaseId: lease!.id, items: [], links: [] });
    assert.deepEqual(early.ok ? null : early.error.code, 'LEASE_NOT_FETCHED');
    assert.equal((await a.relay(lease!.id)).status, 200);
    const stolen = await b.socket.emitWithAck('result', { leaseId: lease!.id, items: [oneQuote], links: [] });
    assert.equal(stolen.ok ? null : stolen.error.code, 'LEASE_NOT_YOURS');
    assert.equal((await hub.storage.countItems(hub.engine.crawls.list()[0]!.id)), 0);
    a.close();
    b.close();
  } finally {
    await hub.cleanup();
  }
});

test('a repeated submission of the same result is acknowledged without a second record', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    // An operator's worker: its result is recorded at once (an ordinary one's waits for a check).
    const w = await connectRawWorker(hub.url, { capacity: 1, token: await operatorToken(hub) });
    const [lease] = await w.waitForLeases(1);
    await (await w.relay(lease!.id)).text();
    const payload = { leaseId: lease!.id, items: [oneQuote], links: [] };
    const [first, second] = await Promise.all([w.socket.emitWithAck('result', payload), w.socket.emitWithAck('result', payload)]);
    const third = await w.socket.emitWithAck('result', payload);
    assert.deepEqual([first, second, third].map((r) => r.ok), [true, true, true]);
    assert.deepEqual([first, second, third].map((r) => (r.ok ? r.duplicate : null)).sort(), [false, true, true]);
    assert.equal((await hub.storage.countItems(crawl.id)), 1);
    assert.equal((await waitForCrawlEnd(hub, crawl.id)).pagesDone, 1);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('an expired lease goes back to the frontier and its late result is refused', async () => {
  const clock = createFakeClock();
  const hub = await startTestHub({ leaseTtlMs: 1000, leaseSweepMs: 50 }, { clock });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    const slow = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await slow.waitForLeases(1);
    await (await slow.relay(lease!.id)).text();
    // Capacity 0 now, so the expired URL goes to the other worker.
    await slow.socket.emitWithAck('capacity', { capacity: 0 });
    clock.tick(999);
    await slow.quiet();
    assert.deepEqual(slow.revoked, [], 'not before its time is up');
    clock.tick(50);
    await waitFor(() => slow.revoked.includes(lease!.id), { message: 'the worker is told its lease was taken back' });
    const late = await slow.socket.emitWithAck('result', { leaseId: lease!.id, items: [oneQuote], links: [] });
    assert.equal(late.ok ? null : late.error.code, 'LEASE_EXPIRED');
    const relayAgain = await slow.relay(lease!.id);
    assert.equal(relayAgain.status, 410);
    // The page is retried after its backoff (at most the base delay, 1 s, on a first failure).
    clock.tick(1000);
    const [worker] = await startWorkers(hub.url, 1);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.equal((await hub.storage.countItems(crawl.id)), 10);
    await worker!.stop();
    slow.close();
  } finally {
    await hub.cleanup();
  }
});

test('per-host concurrency is enforced across all workers together', async () => {
  const hub = await startTestHub({}, { clock: createFakeClock() });
  try {
    await hub.engine.createCrawl(
      quotesSpec(site.origin, {
        startUrls: Array.from({ length: 10 }, (_, i) => `${site.origin}/page/${i + 1}/`),
        politeness: { obeyRobotsTxt: false, perHostConcurrency: 2, perHostDelayMs: 0 },
      }),
    );
    const a = await connectRawWorker(hub.url, { capacity: 5 });
    const b = await connectRawWorker(hub.url, { capacity: 5 });
    await waitFor(() => a.leases.length + b.leases.length >= 2);
    await a.quiet();
    await b.quiet();
    assert.equal(a.leases.length + b.leases.length, 2);
    a.close();
    b.close();
  } finally {
    await hub.cleanup();
  }
});

test('per-host delay spaces leases of one host apart', async () => {
  const clock = createFakeClock();
  const hub = await startTestHub({}, { clock });
  try {
    await hub.engine.createCrawl(
      quotesSpec(site.origin, {
        startUrls: Array.from({ length: 4 }, (_, i) => `${site.origin}/page/${i + 1}/`),
        politeness: { obeyRobotsTxt: false, perHostConcurrency: 4, perHostDelayMs: 300 },
      }),
    );
    const w = await connectRawWorker(hub.url, { capacity: 4 });
    await w.waitForLeases(1);
    for (const n of [2, 3]) {
      clock.tick(299);
      await w.quiet();
      assert.equal(w.leases.length, n - 1, `lease ${n} waits for the delay`);
      clock.tick(1);
      await w.waitForLeases(n);
    }
    w.close();
  } finally {
    await hub.cleanup();
  }
});
