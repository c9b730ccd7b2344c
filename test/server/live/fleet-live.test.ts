// Live views across hubs (docs/scale-out.md): two hubs in one process on one
// PostgreSQL database. What a worker does on hub A reaches the board and the
// admin console of hub B over LISTEN/NOTIFY; contributors' totals add up.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { ADMIN_NAMESPACE, BOARD_NAMESPACE, PROTOCOL_VERSION } from '../../../shared/protocol.ts';
import type { BoardClientToServerEvents, BoardContributor, BoardServerToClientEvents, BoardTotals } from '../../../shared/board-protocol.ts';
import type { AdminClientToServerEvents, AdminServerToClientEvents, AdminUpdate } from '../../../shared/admin-protocol.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd, type TestHub } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';
import type { Storage } from '../../../server/storage/storage.ts';
import type { PgBus } from '../../../server/storage/postgres/pg-bus.ts';
import type { CrawlNotice } from '../../../server/live/crawl-notices.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
const databases: TestDatabase[] = [];
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 30 }));
});
after(async () => {
  await site.close();
  for (const db of databases) await db.drop();
});

/** Two hubs on one new database, their buses listening. */
async function twoHubs(staleHubAfterMs = 10_000): Promise<{ a: TestHub<Storage>; b: TestHub<Storage>; db: TestDatabase; close(): Promise<void> }> {
  const db = await createTestDatabase();
  databases.push(db);
  const options = { databaseUrl: db.url, board: { intervalMs: 200, maxRows: 100, staleHubAfterMs } };
  const a = await startTestHub(options);
  const b = await startTestHub(options);
  await Promise.all([(a.bus as PgBus).ready(), (b.bus as PgBus).ready()]);
  return { a, b, db, close: async () => void (await Promise.all([a.cleanup(), b.cleanup()])) };
}

/** Resolves once `check` holds, re-checked whenever `on` registers a change. */
function until(on: (changed: () => void) => void, check: () => boolean, what: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not met within 20 s: ${what()}`)), 20_000);
    const test = () => {
      if (!check()) return;
      clearTimeout(timer);
      resolve();
    };
    on(test);
    test();
  });
}

/** A board subscriber keeping the rows and totals as the page does. */
function watchBoard(hubUrl: string) {
  const socket: Socket<BoardServerToClientEvents, BoardClientToServerEvents> = io(`${hubUrl}${BOARD_NAMESPACE}`, {
    auth: { protocolVersion: PROTOCOL_VERSION },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  const rows = new Map<string, BoardContributor>();
  let totals: BoardTotals | undefined;
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  socket.on('board:snapshot', (s) => {
    rows.clear();
    for (const r of s.rows) rows.set(r.id, r);
    totals = s.totals;
    changed();
  });
  socket.on('board:delta', (d) => {
    for (const r of d.rows ?? []) rows.set(r.id, r);
    for (const id of d.removed ?? []) rows.delete(id);
    if (d.totals) totals = d.totals;
    changed();
  });
  const named = (name: string) => [...rows.values()].find((r) => r.name === name);
  return {
    named,
    get totals() {
      return totals;
    },
    until: (check: () => boolean) => until((l) => listeners.push(l), check, () => JSON.stringify({ rows: [...rows.values()], totals })),
    close: () => socket.disconnect(),
  };
}

/** An admin console socket keeping the last update. */
function watchAdmin(hubUrl: string) {
  const socket: Socket<AdminServerToClientEvents, AdminClientToServerEvents> = io(`${hubUrl}${ADMIN_NAMESPACE}`, {
    auth: { token: TEST_ADMIN_TOKEN },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  let last: AdminUpdate | undefined;
  const listeners: (() => void)[] = [];
  socket.on('admin:update', (u) => {
    last = u;
    listeners.forEach((l) => l());
  });
  return {
    crawl: (id: string) => last?.crawls.find((c) => c.id === id),
    get last() {
      return last;
    },
    until: (check: () => boolean) => until((l) => listeners.push(l), check, () => JSON.stringify(last?.crawls)),
    close: () => socket.disconnect(),
  };
}

test('a worker holding a lease on hub A shows on hub B’s board within a tick, and leaves it when it goes, or when hub A closes', async () => {
  // A hub not heard of is dropped only after a minute here: what is dropped sooner was told.
  const { a, b, close } = await twoHubs(60_000);
  const board = watchBoard(b.url);
  const worker = await connectRawWorker(a.url, { name: 'rita', capacity: 1 });
  const second = await connectRawWorker(a.url, { name: 'sam', capacity: 1 });
  try {
    await a.engine.createCrawl(quotesSpec(site.origin));
    await worker.waitForLeases(1);
    await board.until(() => board.named('rita')?.online === true);
    const rita = board.named('rita')!;
    assert.equal(rita.sessions, 1);
    assert.equal(rita.kind, 'node');
    assert.equal(rita.pages, 0, 'listed for the lease it holds');
    await board.until(() => board.totals?.sessionsOnline === 2);
    assert.equal(b.engine.workers.size, 0, 'no worker on hub B itself');

    worker.close();
    await board.until(() => board.named('rita') === undefined);
    // Hub A closing takes sam (online there) off B's board at once, not after staleHubAfterMs.
    await board.until(() => board.totals?.sessionsOnline === 1);
    await a.close();
    await board.until(() => board.totals?.sessionsOnline === 0 && board.named('sam') === undefined);
  } finally {
    worker.close();
    second.close();
    board.close();
    await close();
  }
});

test('one contributor working on both hubs: its stored totals add up, and each hub’s board counts every page', async () => {
  const { a, b, db, close } = await twoHubs();
  const boardA = watchBoard(a.url);
  const boardB = watchBoard(b.url);
  const clientId = 'alice-client-id-0123456789';
  const [onA] = await startWorkers(a.url, 1, { name: 'alice', clientId });
  const [onB] = await startWorkers(b.url, 1, { name: 'alice', clientId });
  try {
    // One crawl created on each hub; the crawl sync lets both hubs work both, and maxPages holds on the database.
    const crawlA = await a.engine.createCrawl(quotesSpec(site.origin, { name: 'on-a', limits: { maxPages: 10 } }));
    const crawlB = await b.engine.createCrawl(quotesSpec(site.origin, { name: 'on-b', limits: { maxPages: 10 } }));
    await Promise.all([waitForCrawlEnd(a, crawlA.id), waitForCrawlEnd(b, crawlB.id)]);
    // All-time totals on each hub: what it counted plus what the other told it.
    await boardA.until(() => boardA.totals?.pages === 20);
    await boardB.until(() => boardB.totals?.pages === 20);
    assert.equal(boardB.totals?.items, 200);
    // Online on both hubs: two sessions, one row.
    await boardB.until(() => boardB.named('alice')?.sessions === 2);
  } finally {
    await Promise.all([onA!.stop(), onB!.stop()]);
    boardA.close();
    boardB.close();
    await close();
  }
  // Both hubs wrote their increments on close: added, not overwritten.
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const rows = (await client.query('SELECT pages, items FROM contributors WHERE name = $1', ['alice'])).rows;
    assert.deepEqual(rows.map((r) => [Number(r.pages), Number(r.items)]), [[20, 200]]);
  } finally {
    await client.end();
  }
});

test('hub B’s admin console follows a crawl worked on hub A: its progress and status changes, also after B’s LISTEN connection dropped', async () => {
  const { a, b, db, close } = await twoHubs();
  const console = watchAdmin(b.url);
  const notices: CrawlNotice[] = [];
  b.crawlNotices.onChanged((n) => notices.push(n));
  const [worker] = await startWorkers(a.url, 1, { name: 'w' });
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const held: (() => void)[] = [];
  try {
    const crawl = await a.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 5 } }));
    await waitForCrawlEnd(a, crawl.id);
    await console.until(() => console.crawl(crawl.id)?.status === 'finished');
    assert.equal(console.crawl(crawl.id)?.done, 5);
    assert.ok(notices.some((n) => n?.crawlId === crawl.id && n.status === 'finished'), 'crawl sync is woken');

    // B's bus loses its connection: it comes back, says notices may be lost, and hears again.
    const pid = await (b.bus as PgBus).backendPid();
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await until((l) => b.crawlNotices.onChanged(l), () => notices.includes(undefined), () => JSON.stringify(notices));

    // The site holds the second crawl's pages, so it is still running when it is paused (a 30-page crawl can end before B's console looks).
    site.setHandler((_req, res) => {
      held.push(() => res.end());
      return true;
    });
    const second = await a.engine.createCrawl(quotesSpec(site.origin, { name: 'second' }));
    await console.until(() => console.crawl(second.id)?.status === 'running');
    await a.engine.control(second.id, 'pause');
    await console.until(() => console.crawl(second.id)?.status === 'paused');
    await until((l) => b.crawlNotices.onChanged(l), () => notices.some((n) => n?.crawlId === second.id && n.status === 'paused'), () => JSON.stringify(notices));
  } finally {
    site.setHandler(null);
    for (const release of held.splice(0)) release();
    await admin.end();
    await worker!.stop();
    console.close();
    await close();
  }
});
