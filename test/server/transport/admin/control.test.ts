import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { PROTOCOL_VERSION, type ClientToServerEvents, type Lease, type ServerToClientEvents } from '../../../../shared/protocol.ts';
import { quotesSite } from '../../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../../../helpers/hub.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
type TestHub = Awaited<ReturnType<typeof startTestHub>>;
const PAGES = 30;

let site: Site;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: PAGES }));
});
after(async () => {
  await site.close();
});

/** A worker that only counts: it takes leases and never works on them. */
interface RawWorker {
  socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  leases: Lease[];
  revoked: string[];
  /** Resolves once at least `n` leases have arrived in all. */
  leasesAtLeast(n: number): Promise<void>;
  /**
   * Asks for more work (a larger capacity, so the worker has free slots whatever it holds) and resolves once
   * every lease the hub's dispatch round sent has arrived.
   */
  barrier(): Promise<void>;
  close(): void;
}

async function rawWorker(hub: TestHub, capacity: number): Promise<RawWorker> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(hub.url, {
    auth: { protocolVersion: PROTOCOL_VERSION, kind: 'node', name: 'counter', clientId: randomBytes(12).toString('base64url'), capacity },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const worker: RawWorker = {
    socket,
    leases: [],
    revoked: [],
    leasesAtLeast: (n) =>
      new Promise((resolve) => {
        const check = () => {
          if (worker.leases.length >= n) {
            socket.off('leases', check);
            resolve();
          }
        };
        socket.on('leases', check);
        check();
      }),
    async barrier() {
      // `capacity` makes the hub run a dispatch round (after this turn of its event loop);
      // the second call's ack comes after whatever that round sent, since one socket keeps order.
      await socket.emitWithAck('capacity', { capacity: capacity * 2 });
      await new Promise((resolve) => setImmediate(resolve));
      await socket.emitWithAck('spec:get', { crawlId: 'none' });
    },
    close: () => socket.disconnect(),
  };
  socket.on('leases', (leases) => worker.leases.push(...leases));
  socket.on('leases:revoked', (ids) => worker.revoked.push(...ids));
  await new Promise<void>((resolve, reject) => {
    socket.once('welcome', () => resolve());
    socket.once('connect_error', reject);
  });
  return worker;
}

async function post(hub: TestHub, path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}/api${path}`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  return { status: res.status, body: await res.json() };
}

/** Every fixture page as a start URL, so the crawl has plenty of work queued. */
function wideSpec(name: string) {
  return quotesSpec(site.origin, { name, startUrls: Array.from({ length: PAGES }, (_, i) => `${site.origin}/page/${i + 1}/`), follow: [] });
}

test('pause takes the leases back and grants no lease after it is acknowledged; resume hands out work again and the crawl completes', async () => {
  const hub = await startTestHub();
  const counter = await rawWorker(hub, 3);
  try {
    const crawl = await hub.engine.createCrawl(wideSpec('pause-resume'));
    await counter.leasesAtLeast(3);
    const held = counter.leases.map((l) => l.id);

    const paused = await post(hub, `/crawls/${crawl.id}/pause`);
    assert.equal(paused.status, 200);
    assert.equal(paused.body.status, 'paused');
    const grantedBeforeAck = counter.leases.length;

    // The revoked leases freed the worker's capacity and plenty is queued: only the pause can keep leases from coming.
    await counter.barrier();
    await counter.barrier();
    assert.equal(counter.leases.length, grantedBeforeAck, 'no lease was granted after the pause was acknowledged');
    assert.deepEqual(new Set(counter.revoked), new Set(held), 'the leases in flight were revoked');
    assert.equal(hub.engine.leasesInFlight, 0);

    const resumed = await post(hub, `/crawls/${crawl.id}/resume`);
    assert.equal(resumed.body.status, 'running');
    await counter.leasesAtLeast(grantedBeforeAck + 1);
    assert.ok(counter.leases.slice(grantedBeforeAck).every((l) => l.crawlId === crawl.id));

    // Real workers take over (the counter's leases go back when it leaves) and finish every page.
    counter.close();
    const workers = await startWorkers(hub.url, 2);
    try {
      const summary = await waitForCrawlEnd(hub, crawl.id);
      assert.equal(summary.status, 'finished');
      assert.equal(summary.pagesDone, PAGES);
      assert.equal(summary.items, PAGES * 10);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  } finally {
    counter.close();
    await hub.cleanup();
  }
});

test('cancel ends the crawl and its leases: the worker is told, no lease follows, and a result for a revoked lease is refused', async () => {
  const hub = await startTestHub();
  const counter = await rawWorker(hub, 4);
  try {
    const crawl = await hub.engine.createCrawl(wideSpec('cancel'));
    await counter.leasesAtLeast(4);
    const held = counter.leases.map((l) => l.id);

    const cancelled = await post(hub, `/crawls/${crawl.id}/cancel`);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.equal(cancelled.body.finishReason, 'cancelled');
    const grantedBeforeAck = counter.leases.length;
    await counter.barrier();
    assert.equal(counter.leases.length, grantedBeforeAck, 'no lease after the cancel');
    assert.deepEqual(new Set(counter.revoked), new Set(held), 'every lease in flight was revoked');
    assert.equal(hub.engine.leasesInFlight, 0);

    const late = await counter.socket.emitWithAck('result', { leaseId: held[0]!, items: [], links: [] });
    assert.equal(late.ok, false);

    const again = await post(hub, `/crawls/${crawl.id}/resume`);
    assert.equal(again.status, 409, 'a cancelled crawl cannot be resumed');
    assert.equal(hub.engine.crawls.require(crawl.id).status, 'cancelled');
  } finally {
    counter.close();
    await hub.cleanup();
  }
});
