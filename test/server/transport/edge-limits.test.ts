// Flooding and identity at the worker namespace: per-socket and per-address
// event budgets (RATE_LIMITED, then a disconnect), a cap on worker sockets per
// address (TOO_MANY_SOCKETS), and the Origin check for browser pages
// (ORIGIN_NOT_ALLOWED). Clients bind distinct 127.0.0.x source addresses to be
// distinct volunteers.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker, type RawWorker } from '../../helpers/raw-worker.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 60 }));
});
after(() => site.close());

type Answer = { ok: boolean; error?: { code: string } };
const ask = (w: RawWorker) => w.socket.emitWithAck('spec:get', { crawlId: 'none' }) as Promise<Answer>;
/** Resolves with the first arguments of `event` on a socket.io client socket. */
type Loose = { emitWithAck(event: string, ...args: unknown[]): Promise<unknown>; emit(event: string, ...args: unknown[]): unknown; once(event: string, listener: (value: unknown) => void): unknown };
const next = <T>(socket: Loose, event: string) => new Promise<T>((resolve) => socket.once(event, (value) => resolve(value as T)));
const codeOf = async (w: RawWorker) => {
  const reply = await ask(w);
  return reply.error?.code;
};

async function refusedWith(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return (error as { data?: { code: string } }).data?.code;
  }
  assert.fail('the connection was accepted');
}

test('a socket flooding events gets RATE_LIMITED, then is disconnected; others are not affected', async () => {
  const hub = await startTestHub({ transport: { rateLimit: { windowMs: 60_000, eventsPerSocket: 20, eventsPerAddress: 10_000, refusalsBeforeDisconnect: 10 } } });
  try {
    const flooder = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' });
    const neighbour = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' });
    for (let i = 0; i < 20; i++) assert.equal(await codeOf(flooder), 'CRAWL_UNKNOWN');
    assert.equal(await codeOf(flooder), 'RATE_LIMITED');
    // Unknown events and events without an ack are counted too.
    const loose = flooder.socket as unknown as Loose;
    assert.equal(((await loose.emitWithAck('nope')) as Answer).error?.code, 'RATE_LIMITED');
    const hubError = next<{ code: string }>(loose, 'hub:error');
    loose.emit('capacity', { capacity: 1 });
    assert.equal((await hubError).code, 'RATE_LIMITED');
    // Its uploads share the budget.
    const upload = await flooder.upload('any', { leaseId: 'any', items: [], links: [] });
    assert.equal(upload.status, 429);
    assert.equal(((await upload.json()) as Answer).error?.code, 'RATE_LIMITED');
    // It keeps going: out.
    const gone = next<string>(loose, 'disconnect');
    for (let i = 0; i < 7; i++) assert.equal(await codeOf(flooder), 'RATE_LIMITED');
    flooder.socket.emit('spec:get', { crawlId: 'none' }, () => undefined);
    assert.equal(await gone, 'io server disconnect');
    // A socket of the same address has its own budget.
    assert.equal(await codeOf(neighbour), 'CRAWL_UNKNOWN');
    neighbour.close();
  } finally {
    await hub.cleanup();
  }
});

test('all the sockets of one address share one budget; another address has its own', async () => {
  const hub = await startTestHub({ transport: { rateLimit: { windowMs: 60_000, eventsPerSocket: 1000, eventsPerAddress: 30, refusalsBeforeDisconnect: 100 } } });
  try {
    const a1 = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' });
    const a2 = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' });
    const b = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.3' });
    for (let i = 0; i < 15; i++) {
      assert.equal(await codeOf(a1), 'CRAWL_UNKNOWN', `a1 ${i}`);
      assert.equal(await codeOf(a2), 'CRAWL_UNKNOWN', `a2 ${i}`);
    }
    assert.equal(await codeOf(a1), 'RATE_LIMITED');
    assert.equal(await codeOf(a2), 'RATE_LIMITED');
    for (let i = 0; i < 30; i++) assert.equal(await codeOf(b), 'CRAWL_UNKNOWN');
    assert.equal(await codeOf(b), 'RATE_LIMITED');
    for (const w of [a1, a2, b]) w.close();
  } finally {
    await hub.cleanup();
  }
});

test('an honest worker with capacity 256 never meets the default limits', async () => {
  const hub = await startTestHub({ validation: { replicaWaitMs: 0 } });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: Array.from({ length: 60 }, (_, i) => site.url(`/page/${i + 1}/`)), follow: [] }));
    const workers = await startWorkers(hub.url, 2, { concurrency: 256 });
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 60);
    for (const w of workers) {
      assert.notEqual(w.loop.lastError?.code, 'RATE_LIMITED');
      assert.equal(w.loop.stats.failures, 0);
      await w.stop();
    }
  } finally {
    await hub.cleanup();
  }
});

test('an address may hold maxSocketsPerAddress worker sockets: the next is refused with TOO_MANY_SOCKETS', async () => {
  const hub = await startTestHub({ transport: { maxSocketsPerAddress: 3 } });
  try {
    const held = await Promise.all([1, 2, 3].map(() => connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' })));
    assert.equal(await refusedWith(connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' })), 'TOO_MANY_SOCKETS');
    // Another address still connects.
    const other = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.3' });
    assert.equal(await codeOf(other), 'CRAWL_UNKNOWN');
    // A refused handshake holds no slot, and a closed socket gives its slot back.
    assert.equal(await refusedWith(connectRawWorker(hub.url, { capacity: -1 }, { localAddress: '127.0.0.3' })), 'BAD_REQUEST');
    const left = once(hub.engine, 'workerLeft');
    held[0]!.close();
    await left;
    const again = await connectRawWorker(hub.url, {}, { localAddress: '127.0.0.2' });
    assert.equal(await codeOf(again), 'CRAWL_UNKNOWN');
    for (const w of [...held, other, again]) w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a browser page of another origin may not connect a worker: ORIGIN_NOT_ALLOWED; its own and allowed origins may', async () => {
  const hub = await startTestHub({ allowedOrigins: ['https://crawl.example.org/'] });
  try {
    for (const origin of ['http://evil.example', 'null', 'https://crawl.example.org.evil.example', `${hub.url.replace('127.0.0.1', 'localhost')}`, 'not a url']) {
      assert.equal(await refusedWith(connectRawWorker(hub.url, {}, { origin })), 'ORIGIN_NOT_ALLOWED', origin);
    }
    const own = await connectRawWorker(hub.url, {}, { origin: hub.url });
    const allowed = await connectRawWorker(hub.url, {}, { origin: 'https://crawl.example.org' });
    // Node and edge workers send no Origin.
    const node = await connectRawWorker(hub.url);
    for (const w of [own, allowed, node]) {
      assert.equal(await codeOf(w), 'CRAWL_UNKNOWN');
      w.close();
    }
  } finally {
    await hub.cleanup();
  }
});
