// Page push (issue 11): a worker that says `pagePush` gets each lease's page
// over its socket as soon as the hub has fetched it, and its result is taken
// without a relay request; a worker that does not say it still uses the relay;
// a page too large for a message, or past the worker's pushed bytes, goes
// through the relay; a failed fetch is pushed as its error code; a lease
// revoked while its page was fetched is not pushed; a worker that leaves gives
// its leases back; nobody is pushed a page of a lease that is not theirs.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { operatorToken, quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, type TestHub } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { waitFor } from '../../helpers/wait.ts';
import type { PushedPage, ResultPayload } from '../../../shared/protocol.ts';
import type { Storage } from '../../../server/storage/storage.ts';

// A small site: pages, a Latin-1 page, one too large for a socket message, a 404, and a page held until the test lets it go.
const BIG_BYTES = 1536 * 1024;
let server: HttpServer;
let origin: string;
let held: ServerResponse[] = [];
before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/p/')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><body><div class="quote"><span class="text">page ${url}</span><span><small>push</small></span></div></body></html>`);
    } else if (url === '/latin1') {
      res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' });
      res.end(Buffer.from('<html><body><p>caf\xe9</p></body></html>', 'latin1'));
    } else if (url === '/big') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<html><body><p>${'x'.repeat(BIG_BYTES)}</p></body></html>`);
    } else if (url === '/slow') {
      held.push(res);
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const spec = (paths: string[]) => quotesSpec(origin, { startUrls: paths.map((p) => `${origin}${p}`), follow: [] });
const result = (leaseId: string): ResultPayload => ({ leaseId, items: [{ type: 'item', data: { text: 'pushed', author: 'push' } }], links: [] });
const text = (page: PushedPage): string => ('body' in page ? Buffer.from(page.body as Uint8Array).toString('utf8') : '');

/** Bytes pushed to a worker whose leases are still open (the engine's page pusher). */
function pushedBytes(hub: TestHub<Storage>, workerId: string): number {
  const pusher = (hub.engine as unknown as { prefetcher: { pusher: { pendingBytes(worker: unknown): number } } }).prefetcher.pusher;
  return pusher.pendingBytes(hub.engine.workers.get(workerId));
}

/** Counts the hub's relay requests (GET /relay/:leaseId). */
function countRelayRequests(hub: TestHub<Storage>): { readonly count: number } {
  const counter = { count: 0 };
  hub.httpServer.prependListener('request', (req) => {
    if (req.url?.startsWith('/relay/')) counter.count++;
  });
  return counter;
}

test('a worker that takes pushes gets each page over its socket as binary UTF-8, and its result is taken with no relay request', async () => {
  const hub = await startTestHub();
  try {
    const relay = countRelayRequests(hub);
    const crawl = await hub.engine.createCrawl(spec(['/p/1', '/p/2', '/latin1']));
    const w = await connectRawWorker(hub.url, { capacity: 3, pagePush: true, token: await operatorToken(hub) });
    assert.equal(w.welcome.pagePush, true, 'the welcome says the hub pushes');
    const leases = await w.waitForLeases(3);
    const pages = await w.waitForPages(3);
    assert.deepEqual(new Set(pages.map((p) => p.leaseId)), new Set(leases.map((l) => l.id)));
    const byUrl = new Map(leases.map((l) => [l.url, pages.find((p) => p.leaseId === l.id)!]));
    for (const page of pages) {
      assert.ok('body' in page && page.body instanceof Uint8Array, 'a binary attachment, not a JSON string');
      assert.equal(page.status, 200);
    }
    const latin1 = byUrl.get(`${origin}/latin1`)!;
    assert.equal(text(latin1), '<html><body><p>café</p></body></html>', 'decoded to UTF-8 as the relay would answer');
    assert.ok('finalUrl' in latin1 && latin1.finalUrl === `${origin}/latin1`);
    assert.match(text(byUrl.get(`${origin}/p/2`)!), /page \/p\/2/);
    // No relay request: the pushed page counts as served, so the results are taken.
    const reply = await w.socket.emitWithAck('results', { results: leases.map((l) => result(l.id)) });
    assert.deepEqual(reply.ok && reply.replies, [{ ok: true, duplicate: false }, { ok: true, duplicate: false }, { ok: true, duplicate: false }]);
    assert.equal(relay.count, 0);
    assert.equal((await waitForCrawlEnd(hub, crawl.id)).pagesDone, 3);
    assert.equal(pushedBytes(hub, w.welcome.workerId), 0, 'answered: nothing pushed counts any more');
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a worker that does not say pagePush gets no pushes and uses the relay as before; nor does anyone when the hub has pushBodies off', async () => {
  for (const options of [{}, { relay: { pushBodies: false } }]) {
    const hub = await startTestHub(options);
    try {
      await hub.engine.createCrawl(spec(['/p/3', '/p/4']));
      const w = await connectRawWorker(hub.url, { capacity: 2, token: await operatorToken(hub), ...('relay' in options ? { pagePush: true } : {}) });
      assert.equal(w.welcome.pagePush, undefined);
      const [a, b] = await w.waitForLeases(2);
      // Prefetched, but not served until the worker asks.
      await waitFor(() => hub.engine.leasesInFlight === 2 && site(hub, a!.id));
      await w.quiet();
      assert.deepEqual(w.pages, []);
      const refused = await w.socket.emitWithAck('results', { results: [result(a!.id)] });
      assert.equal(refused.ok && !refused.replies[0]!.ok && refused.replies[0]!.error.code, 'LEASE_NOT_FETCHED');
      for (const lease of [a!, b!]) assert.equal((await w.relay(lease.id)).status, 200);
      const taken = await w.socket.emitWithAck('results', { results: [result(a!.id), result(b!.id)] });
      assert.deepEqual(taken.ok && taken.replies, [{ ok: true, duplicate: false }, { ok: true, duplicate: false }]);
      w.close();
    } finally {
      await hub.cleanup();
    }
  }
});

/** The lease's page has been fetched by the hub (kept with the lease). */
function site(hub: TestHub<Storage>, leaseId: string): boolean {
  const leases = (hub.engine as unknown as { leases: { get(id: string): { served?: unknown } | undefined } }).leases;
  return leases.get(leaseId)?.served !== undefined;
}

test('a page too large for a message, or past the worker\'s pushed bytes, goes through the relay; answered pages make room again', async () => {
  const hub = await startTestHub({ relay: { maxPushedBytesPerWorker: 600 } });
  try {
    const relay = countRelayRequests(hub);
    await hub.engine.createCrawl(spec(['/big', '/p/5', '/p/6', '/p/7']));
    const w = await connectRawWorker(hub.url, { capacity: 3, pagePush: true, token: await operatorToken(hub) });
    const leases = await w.waitForLeases(3);
    const pages = await w.waitForPages(3);
    const of = (path: string) => pages.find((p) => p.leaseId === leases.find((l) => l.url === `${origin}${path}`)?.id);
    // Larger than transport.maxMessageBytes (1 MiB): not pushed.
    assert.deepEqual(of('/big'), { leaseId: leases.find((l) => l.url.endsWith('/big'))!.id, relay: true });
    // One small page (some 400 bytes with its entry) fits in the 600 bytes, the second would not: it goes through the relay.
    const small = [of('/p/5')!, of('/p/6')!];
    assert.deepEqual(small.map((p) => 'body' in p).sort(), [false, true]);
    const told = [of('/big')!, small.find((p) => 'relay' in p)!];
    // Not served yet: a result is refused until the worker asks the relay, which serves the kept body.
    const refused = await w.socket.emitWithAck('results', { results: told.map((p) => result(p.leaseId)) });
    assert.deepEqual(refused.ok && refused.replies.map((r) => !r.ok && r.error.code), ['LEASE_NOT_FETCHED', 'LEASE_NOT_FETCHED']);
    const bigBody = await (await w.relay(told[0]!.leaseId)).text();
    assert.ok(bigBody.length > BIG_BYTES);
    assert.equal((await w.relay(told[1]!.leaseId)).status, 200);
    assert.equal(relay.count, 2);
    const taken = await w.socket.emitWithAck('results', { results: [...told, small.find((p) => 'body' in p)!].map((p) => result(p.leaseId)) });
    assert.ok(taken.ok && taken.replies.every((r) => r.ok && !r.duplicate));
    // All answered: the next page (in the ack, or a message of its own) is pushed whole.
    const next = taken.ok && taken.leases?.length ? taken.leases[0]! : (await w.waitForLeases(4))[3]!;
    const [pushed] = (await w.waitForPages(4)).slice(3);
    assert.equal(next.url, `${origin}/p/7`);
    assert.ok(pushed && pushed.leaseId === next.id && 'body' in pushed);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a failed fetch is pushed as its error code (the hub has recorded it): no relay request needed', async () => {
  const hub = await startTestHub();
  try {
    const relay = countRelayRequests(hub);
    const crawl = await hub.engine.createCrawl(spec(['/missing']));
    const w = await connectRawWorker(hub.url, { capacity: 1, pagePush: true });
    const [lease] = await w.waitForLeases(1);
    const [page] = await w.waitForPages(1);
    assert.equal(page!.leaseId, lease!.id);
    assert.ok(page && 'error' in page);
    assert.equal(page.error.code, 'RELAY_HTTP_STATUS');
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesFailed, 1);
    assert.equal(relay.count, 0);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a lease revoked while its page is being fetched is not pushed, and its body is dropped', async () => {
  const hub = await startTestHub();
  try {
    held = [];
    const crawl = await hub.engine.createCrawl(spec(['/slow']));
    const w = await connectRawWorker(hub.url, { capacity: 1, pagePush: true });
    const [lease] = await w.waitForLeases(1);
    await waitFor(() => held.length === 1);
    await hub.engine.control(crawl.id, 'pause');
    await waitFor(() => w.revoked.includes(lease!.id));
    // The site answers now: the fetch ends after the lease did.
    const fetched = new Promise((resolve) => hub.engine.once('relayFetch', resolve));
    const res = held[0]!;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<html><body><p>late</p></body></html>');
    await fetched;
    await w.quiet();
    assert.deepEqual(w.pages, []);
    assert.equal(pushedBytes(hub, w.welcome.workerId), 0);
    assert.equal((await w.relay(lease!.id)).status, 404, 'the lease is gone');
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a worker that leaves with pushed pages gives its leases back; another worker is pushed them and its results are taken', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(spec(['/p/8', '/p/9']));
    const first = await connectRawWorker(hub.url, { capacity: 2, pagePush: true });
    const leases = await first.waitForLeases(2);
    await first.waitForPages(2);
    first.close();
    await waitFor(() => hub.engine.leasesInFlight === 0);
    const second = await connectRawWorker(hub.url, { capacity: 2, pagePush: true, token: await operatorToken(hub) });
    const again = await second.waitForLeases(2);
    assert.deepEqual(new Set(again.map((l) => l.url)), new Set(leases.map((l) => l.url)));
    const pages = await second.waitForPages(2);
    assert.ok(pages.every((p) => 'body' in p));
    const reply = await second.socket.emitWithAck('results', { results: again.map((l) => result(l.id)) });
    assert.ok(reply.ok && reply.replies.every((r) => r.ok && !r.duplicate));
    assert.equal((await waitForCrawlEnd(hub, crawl.id)).pagesDone, 2);
    second.close();
  } finally {
    await hub.cleanup();
  }
});

test('a hostile worker is pushed no page of another worker\'s lease, cannot fetch or answer one, and cannot push pages to the hub', async () => {
  const hub = await startTestHub();
  try {
    await hub.engine.createCrawl(spec(['/p/10', '/p/11']));
    const owner = await connectRawWorker(hub.url, { capacity: 2, pagePush: true }, { localAddress: '127.0.0.2' });
    const hostile = await connectRawWorker(hub.url, { capacity: 0, pagePush: true }, { localAddress: '127.0.0.3' });
    const leases = await owner.waitForLeases(2);
    await owner.waitForPages(2);
    await hostile.quiet();
    assert.deepEqual(hostile.pages, []);
    for (const lease of leases) {
      const response = await hostile.relay(lease.id);
      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'LEASE_NOT_YOURS');
    }
    const answer = await hostile.socket.emitWithAck('results', { results: [result(leases[0]!.id)] });
    assert.equal(answer.ok && !answer.replies[0]!.ok && answer.replies[0]!.error.code, 'LEASE_NOT_YOURS');
    // `pages` goes one way: the hub refuses it from a worker.
    const pushed = await (hostile.socket as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<{ ok: boolean; error?: { code: string } }> })
      .emitWithAck('pages', [{ leaseId: leases[0]!.id, body: Buffer.from('forged'), finalUrl: `${origin}/p/10`, status: 200 }]);
    assert.equal(pushed.error?.code, 'UNKNOWN_EVENT');
    // A capability that is not a boolean is a bad handshake.
    await assert.rejects(connectRawWorker(hub.url, { pagePush: 'yes' }), (error: Error & { data?: { code: string } }) => error.data?.code === 'BAD_REQUEST');
    owner.close();
    hostile.close();
  } finally {
    await hub.cleanup();
  }
});

test('Node workers crawl the same site with pushed pages and through the relay: the same items, and no relay request with push', async () => {
  const quotes = await startFixtureServer(quotesSite({ pages: 15 }));
  try {
    const crawled: { items: string[]; relay: number }[] = [];
    for (const pagePush of [true, false]) {
      const hub = await startTestHub();
      try {
        const relay = countRelayRequests(hub);
        const crawl = await hub.engine.createCrawl(quotesSpec(quotes.origin));
        const workers = await startWorkers(hub.url, 2, { pagePush, token: await operatorToken(hub) });
        await waitForCrawlEnd(hub, crawl.id);
        await Promise.all(workers.map((w) => w.stop()));
        const items = (await Array.fromAsync(hub.storage.iterateItems(crawl.id))).map((row) => row.data).sort();
        crawled.push({ items, relay: relay.count });
      } finally {
        await hub.cleanup();
      }
    }
    const [pushed, relayed] = crawled;
    assert.equal(pushed!.items.length, 150);
    assert.deepEqual(pushed!.items, relayed!.items);
    assert.equal(pushed!.relay, 0, 'with push, no page was asked of the relay');
    assert.equal(relayed!.relay, 15);
  } finally {
    await quotes.close();
  }
});
