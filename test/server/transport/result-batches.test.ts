// Results in batches (the `results` event) and the relay's prefetch: each
// result of a batch is taken or refused on its own and answered after its own
// commit; the ack carries the leases the commits made room for; a batch counts
// against the rate limits once per result; a lease's page is fetched as soon as
// the lease is granted, once, and a worker that leaves gives its leases back
// with their prefetched bodies dropped.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import type { LeaseRecord } from '../../../server/lease/leases.ts';
import type { Engine } from '../../../server/engine/engine.ts';
import type { ResultPayload } from '../../../shared/protocol.ts';
import { waitFor } from '../../helpers/wait.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 12 }));
});
after(() => site.close());

/** The hub's lease table (private to the engine), to see prefetched bodies. */
function leaseRecords(engine: Engine): Map<string, LeaseRecord> {
  return (engine as unknown as { leases: { leases: Map<string, LeaseRecord> } }).leases.leases;
}

function pagesSpec(origin: string, pages: number[]) {
  return quotesSpec(origin, { startUrls: pages.map((p) => `${origin}/page/${p}/`), follow: [] });
}

const result = (leaseId: string, text: string): ResultPayload => ({ leaseId, items: [{ type: 'item', data: { text, author: 'batch' } }], links: [] });

test('a batch: each result is taken or refused on its own, each reply after its commit, and the ack carries the next leases', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(pagesSpec(site.origin, [1, 2, 3, 4, 5]));
    const w = await connectRawWorker(hub.url, { capacity: 3, token: await operatorToken(hub) });
    const [a, b, c] = await w.waitForLeases(3);
    await w.quiet();
    assert.equal(w.leases.length, 3, 'capacity 3: three leases in one message');
    await (await w.relay(a!.id)).text();
    await (await w.relay(c!.id)).text();
    // b was never fetched through the relay: refused; a is sent twice: recorded once.
    const reply = await w.socket.emitWithAck('results', { results: [result(a!.id, 'A'), result(b!.id, 'B'), result(c!.id, 'C'), result(a!.id, 'A')] });
    // The ack came after the commits: both pages are in the database now.
    const done = hub.storage.db.prepare('SELECT COUNT(*) AS n FROM requests WHERE crawl_id = ? AND state = 2').get(crawl.id) as { n: number };
    assert.equal(done.n, 2);
    assert.ok(reply.ok);
    assert.deepEqual(reply.replies, [
      { ok: true, duplicate: false },
      { ok: false, error: { code: 'LEASE_NOT_FETCHED', message: 'fetch the page through the relay before sending its result' } },
      { ok: true, duplicate: false },
      { ok: true, duplicate: true },
    ]);
    const texts = (await Array.fromAsync(hub.storage.iterateItems(crawl.id))).map((row) => (JSON.parse(row.data) as { text: string }).text);
    assert.deepEqual(texts.sort(), ['A', 'C']);
    // Slots freed: the next page came in the ack itself rather than a message of its own
    // (another may follow in a message of its own when the frontier had to load it first).
    await w.quiet();
    assert.ok((reply.leases?.length ?? 0) >= 1, 'the ack carries the next leases');
    const leased = [...w.leases, ...reply.leases!].map((l) => l.url);
    assert.equal(new Set(leased).size, leased.length, 'no page leased twice');
    // The refused one still stands: fetched and sent again, it is taken.
    await (await w.relay(b!.id)).text();
    const again = await w.socket.emitWithAck('results', { results: [result(b!.id, 'B')] });
    assert.deepEqual(again.ok && again.replies, [{ ok: true, duplicate: false }]);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a batch counts once per result against the rate limits, and a malformed one is refused whole', async () => {
  const hub = await startTestHub({ transport: { rateLimit: { windowMs: 60_000, eventsPerSocket: 6, eventsPerAddress: 10_000, refusalsBeforeDisconnect: 10 } } });
  try {
    const w = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.3' });
    const bad = await w.socket.emitWithAck('results', { results: [] });
    assert.equal(!bad.ok && bad.error.code, 'BAD_REQUEST');
    // Five results: five events of the six; the sixth event is the last.
    const five = await w.socket.emitWithAck('results', { results: Array.from({ length: 5 }, (_, i) => result(`lease-${i}`, 'x')) });
    assert.ok(five.ok);
    assert.deepEqual(five.replies.map((r) => !r.ok && r.error.code), Array(5).fill('LEASE_UNKNOWN'));
    const over = await w.socket.emitWithAck('results', { results: [result('lease-5', 'x'), result('lease-6', 'x')] });
    assert.equal(!over.ok && over.error.code, 'RATE_LIMITED');
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('prefetch: a lease\'s page is fetched once when the lease is granted; a worker that leaves gives its leases back and their bodies are dropped', async () => {
  const hub = await startTestHub();
  try {
    site.resetRequests();
    await hub.engine.createCrawl(pagesSpec(site.origin, [6, 7, 8]));
    const w = await connectRawWorker(hub.url, { capacity: 3 });
    const leases = await w.waitForLeases(3);
    const records = leaseRecords(hub.engine);
    // Fetched without the worker asking.
    await waitFor(() => leases.every((l) => records.get(l.id)?.served !== undefined));
    for (const p of [6, 7, 8]) assert.equal(site.requestsFor(`/page/${p}/`), 1);
    // The worker's request finds the body ready: the site is not asked again.
    const body = await (await w.relay(leases[0]!.id)).text();
    assert.match(body, /quote/);
    assert.equal(site.requestsFor('/page/6/'), 1);
    const held = leases.map((l) => records.get(l.id)!);
    w.close();
    await waitFor(() => hub.engine.leasesInFlight === 0);
    for (const record of held) assert.deepEqual([record.served, record.relay], [undefined, undefined], 'the prefetched body went with the lease');
    // The pages went back: another worker gets them.
    const other = await connectRawWorker(hub.url, { capacity: 3 });
    const again = await other.waitForLeases(3);
    assert.deepEqual(new Set(again.map((l) => l.url)), new Set(leases.map((l) => l.url)));
    other.close();
  } finally {
    await hub.cleanup();
  }
});
