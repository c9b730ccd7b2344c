import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { io, type Socket } from 'socket.io-client';
import { BOARD_NAMESPACE, PROTOCOL_VERSION, type ProtocolError } from '../../../shared/protocol.ts';
import type {
  BoardClientToServerEvents,
  BoardContributor,
  BoardDelta,
  BoardServerToClientEvents,
  BoardSnapshot,
} from '../../../shared/board-protocol.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, tempDir, waitForCrawlEnd } from '../../helpers/hub.ts';
import { contributorId } from '../../../server/live/board.ts';
import { RateWindow } from '../../../server/live/rate-window.ts';

type BoardSocket = Socket<BoardServerToClientEvents, BoardClientToServerEvents>;
type Server = Awaited<ReturnType<typeof startFixtureServer>>;

let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 60 }));
});
after(async () => {
  await site.close();
});

const ALICE = 'alice-client-id-0123456789';
const BOB = 'bob-client-id-0123456789ab';

/** A board subscriber that keeps the board as the page does: snapshot, then deltas. */
function subscribe(hubUrl: string, auth: Record<string, unknown> = { protocolVersion: PROTOCOL_VERSION }) {
  const socket: BoardSocket = io(`${hubUrl}${BOARD_NAMESPACE}`, { auth, transports: ['websocket'], forceNew: true, reconnection: false });
  const rows = new Map<string, BoardContributor>();
  const deltas: BoardDelta[] = [];
  const selfRows: BoardContributor[] = [];
  let seq = -1;
  let listeners: (() => void)[] = [];
  const changed = () => {
    for (const l of listeners) l();
  };
  const snapshot = new Promise<BoardSnapshot>((resolve) => {
    socket.on('board:snapshot', (s) => {
      rows.clear();
      for (const row of s.rows) rows.set(row.id, row);
      seq = s.seq;
      resolve(s);
      changed();
    });
  });
  socket.on('board:delta', (d) => {
    deltas.push(d);
    assert.equal(d.seq, seq + 1, 'deltas arrive in sequence');
    seq = d.seq;
    for (const row of d.rows ?? []) rows.set(row.id, row);
    for (const id of d.removed ?? []) rows.delete(id);
    changed();
  });
  socket.on('board:self', (row) => {
    selfRows.push(row);
    changed();
  });
  return {
    socket,
    snapshot,
    rows,
    deltas,
    selfRows,
    /** Resolves once `check` holds for the board as received. */
    until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (!check()) return;
          clearTimeout(timer);
          listeners = listeners.filter((l) => l !== test);
          resolve();
        };
        const timer = setTimeout(() => reject(new Error(`board condition not met; rows: ${JSON.stringify([...rows.values()])}`)), timeoutMs);
        listeners.push(test);
        test();
      });
    },
    close: () => socket.disconnect(),
  };
}

function rowNamed(rows: Map<string, BoardContributor>, name: string): BoardContributor | undefined {
  return [...rows.values()].find((r) => r.name === name);
}

test('a new subscriber gets a snapshot, then deltas that keep it equal to the hub’s board', async () => {
  const hub = await startTestHub();
  const watcher = subscribe(hub.url);
  const workers = await startWorkers(hub.url, 1, { name: 'alice', clientId: ALICE });
  try {
    const first = await watcher.snapshot;
    assert.equal(first.maxRows, 100);
    assert.ok(first.totals, 'the snapshot carries the hub totals');
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 20 } }));
    await waitForCrawlEnd(hub, crawl.id);
    await watcher.until(() => rowNamed(watcher.rows, 'alice')?.pages === 20);
    const alice = rowNamed(watcher.rows, 'alice')!;
    assert.equal(alice.items, 200);
    assert.equal(alice.kind, 'node');
    assert.equal(alice.online, true);
    assert.equal(alice.id, contributorId(ALICE, 'alice'));

    // A late subscriber starts from a snapshot equal to what the first one built from deltas.
    const late = subscribe(hub.url);
    const snapshot = await late.snapshot;
    assert.deepEqual(
      snapshot.rows.map((r) => [r.id, r.pages, r.items, r.online]),
      [...watcher.rows.values()].map((r) => [r.id, r.pages, r.items, r.online]),
    );
    late.close();
  } finally {
    watcher.close();
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('many page events between two rounds make one broadcast with each changed row once', async () => {
  // A round every 60 s: within this test the board only broadcasts when told to.
  const hub = await startTestHub({ board: { intervalMs: 60_000, promptMs: 0, maxRows: 100 } });
  const received: BoardDelta[] = [];
  const unsubscribe = hub.board.subscribe({ delta: (d) => received.push(d), self: () => {} });
  const workers = await startWorkers(hub.url, 2, { name: 'alice', clientId: ALICE });
  try {
    hub.board.tick();
    received.length = 0;
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [{}], limits: { maxPages: 50 } }));
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 50);
    assert.equal(received.length, 0, '50 pages, no broadcast before the round');

    hub.board.tick();
    assert.equal(received.length, 1, 'one broadcast for the round');
    const delta = received[0]!;
    assert.equal(delta.rows?.length, 1, 'the one changed row, once');
    assert.equal(delta.rows![0]!.pages, 50);
    assert.equal(delta.rows![0]!.sessions, 2, 'two sessions of one clientId and nickname are one contributor');
    assert.equal(delta.totals?.pagesPerMinute, 50);

    hub.board.tick();
    assert.equal(received.length, 1, 'nothing changed, nothing sent');

    // bob, connected but idle, counts in the totals; his row comes with his first validated page.
    const [bob] = await startWorkers(hub.url, 1, { name: 'bob', clientId: BOB });
    hub.board.tick();
    assert.equal(received.length, 2);
    assert.equal(received[1]!.rows, undefined, 'no row for an idle contributor');
    assert.equal(received[1]!.totals?.sessionsOnline, 3);
    const more = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 5 } }));
    await waitForCrawlEnd(hub, more.id);
    hub.board.tick();
    assert.ok(received[2]!.rows!.every((r) => r.name === 'bob' || r.name === 'alice'), 'only the rows that changed');
    await bob!.stop();
  } finally {
    unsubscribe();
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('all-time totals survive a hub restart and go on from there', async () => {
  const dir = tempDir();
  try {
    let hub = await startTestHub({ dataDir: dir.path });
    let workers = await startWorkers(hub.url, 1, { name: 'alice', clientId: ALICE });
    let crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 10 } }));
    await waitForCrawlEnd(hub, crawl.id);
    await Promise.all(workers.map((w) => w.stop()));
    await hub.close();

    hub = await startTestHub({ dataDir: dir.path });
    const watcher = subscribe(hub.url);
    const snapshot = await watcher.snapshot;
    const alice = snapshot.rows.find((r) => r.name === 'alice');
    assert.ok(alice, 'alice is on the board of the restarted hub');
    assert.equal(alice.pages, 10);
    assert.equal(alice.items, 100);
    assert.equal(alice.online, false);
    assert.equal(snapshot.totals.contributorsKnown, 1);
    assert.equal(snapshot.totals.pages, 10);

    workers = await startWorkers(hub.url, 1, { name: 'alice', clientId: ALICE });
    crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 5 } }));
    await waitForCrawlEnd(hub, crawl.id);
    await watcher.until(() => rowNamed(watcher.rows, 'alice')?.pages === 15);
    assert.equal(rowNamed(watcher.rows, 'alice')?.online, true);
    watcher.close();
    await Promise.all(workers.map((w) => w.stop()));
    await hub.close();
  } finally {
    dir.remove();
  }
});

test('a page that identifies gets its own row, by a public id that is not its clientId', async () => {
  const hub = await startTestHub();
  const watcher = subscribe(hub.url);
  const workers = await startWorkers(hub.url, 1, { name: 'alice', clientId: ALICE });
  try {
    await watcher.snapshot;
    const reply = await watcher.socket.timeout(5000).emitWithAck('board:identify', { clientId: ALICE, name: '  alice ' });
    assert.ok(reply.ok);
    assert.equal(reply.id, contributorId(ALICE, 'alice'), 'the nickname is trimmed as the worker handshake trims it');
    assert.notEqual(reply.id, ALICE);
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 3 } }));
    await waitForCrawlEnd(hub, crawl.id);
    await watcher.until(() => watcher.selfRows.at(-1)?.pages === 3);
    for (const message of [JSON.stringify(watcher.deltas), JSON.stringify(await subscribe(hub.url).snapshot)]) {
      assert.ok(!message.includes(ALICE), 'no clientId goes out on the board');
    }
  } finally {
    watcher.close();
    await Promise.all(workers.map((w) => w.stop()));
    await hub.cleanup();
  }
});

test('bad board requests get error codes and change nothing', async () => {
  const hub = await startTestHub();
  const watcher = subscribe(hub.url);
  try {
    await watcher.snapshot;
    const bad = await watcher.socket.timeout(5000).emitWithAck('board:identify', { clientId: 'short', name: '' });
    assert.equal(bad.ok, false);
    assert.equal(!bad.ok && bad.error.code, 'BAD_REQUEST');
    const raw = watcher.socket as unknown as Socket;
    const unknown = (await raw.timeout(5000).emitWithAck('board:nonsense', {})) as { ok: boolean; error: ProtocolError };
    assert.equal(unknown.error.code, 'UNKNOWN_EVENT');
    // Extra arguments before the ack: still answered, with BAD_REQUEST.
    const extra = (await raw.timeout(5000).emitWithAck('board:identify', { clientId: ALICE, name: 'alice' }, 'extra')) as { ok: boolean; error: ProtocolError };
    assert.equal(extra.error.code, 'BAD_REQUEST');
    const errors: ProtocolError[] = [];
    watcher.socket.on('hub:error', (e) => errors.push(e));
    raw.emit('board:identify', { clientId: ALICE, name: 'alice' });
    await new Promise<void>((resolve) => watcher.socket.once('hub:error', () => resolve()));
    assert.equal(errors[0]?.code, 'BAD_REQUEST', 'an event without an ack is refused');
  } finally {
    watcher.close();
    await hub.cleanup();
  }
});

test('a page of another protocol version is told to reload', async () => {
  const hub = await startTestHub();
  try {
    const socket: BoardSocket = io(`${hub.url}${BOARD_NAMESPACE}`, { auth: { protocolVersion: PROTOCOL_VERSION + 1 }, transports: ['websocket'], reconnection: false, forceNew: true });
    const error = await new Promise<Error & { data?: ProtocolError }>((resolve) => socket.on('connect_error', resolve));
    assert.equal(error.data?.code, 'PROTOCOL_MISMATCH');
    assert.match(error.data?.message ?? '', /reload/);
    socket.disconnect();
  } finally {
    await hub.cleanup();
  }
});

test('only the top rows are broadcast, by validated pages, and the totals count everyone', async () => {
  const dir = tempDir();
  try {
    // Three contributors with all-time totals, then a restart: all offline.
    let hub = await startTestHub({ dataDir: dir.path });
    for (const [name, clientId, pages] of [['carol', `${ALICE}c`, 6], ['dave', `${ALICE}d`, 4], ['erin', `${ALICE}e`, 2]] as const) {
      const workers = await startWorkers(hub.url, 1, { name, clientId });
      const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: pages } }));
      await waitForCrawlEnd(hub, crawl.id);
      await Promise.all(workers.map((w) => w.stop()));
    }
    await hub.close();

    hub = await startTestHub({ dataDir: dir.path, board: { intervalMs: 1000, maxRows: 2 } });
    const workers = await startWorkers(hub.url, 1, { name: 'erin', clientId: `${ALICE}e` });
    hub.board.tick();
    const watcher = subscribe(hub.url);
    const snapshot = await watcher.snapshot;
    assert.deepEqual(snapshot.rows.map((r) => r.name), ['carol', 'dave'], 'the most validated pages; erin, online with fewer, is not in the top 2');
    assert.equal(snapshot.totals.contributorsKnown, 3);
    assert.equal(snapshot.totals.contributorsOnline, 1);
    assert.equal(snapshot.totals.pages, 12);
    watcher.close();
    await Promise.all(workers.map((w) => w.stop()));
    await hub.close();
  } finally {
    dir.remove();
  }
});

test('a thousand contributors: each round sends at most the top rows, in one message of a few kilobytes', async () => {
  const hub = await startTestHub({ board: { intervalMs: 60_000, maxRows: 100 } });
  const received: BoardDelta[] = [];
  const unsubscribe = hub.board.subscribe({ delta: (d) => received.push(d), self: () => {} });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin), { start: false });
    const sessions = Array.from({ length: 1000 }, (_, i) =>
      hub.engine.joinWorker({
        name: `volunteer-${i}`,
        kind: i % 3 === 0 ? 'node' : i % 3 === 1 ? 'headless' : 'tab',
        clientId: `client-${String(i).padStart(12, '0')}`,
        capacity: 0,
        address: '127.0.0.1',
        operatorTrusted: false,
        tokenId: null,
        send: () => {},
        revoke: () => {},
        disconnect: () => {},
      }),
    );
    for (let n = 0; n < 20_000; n++) hub.engine.emit('page', sessions[(n * 7919) % sessions.length], crawl, 3);
    hub.board.tick();
    assert.equal(received.length, 1);
    const delta = received[0]!;
    assert.equal(delta.rows?.length, 100, 'only the top 100 rows');
    assert.ok(JSON.stringify(delta).length < 25_000, `one message of a few kilobytes (${JSON.stringify(delta).length} bytes)`);
    assert.equal(delta.totals?.contributorsOnline, 1000);
    assert.equal(delta.totals?.pages, 20_000);
    assert.equal(delta.totals?.pagesPerMinute, 20_000);

    for (let n = 0; n < 5000; n++) hub.engine.emit('page', sessions[(n * 104_729) % sessions.length], crawl, 1);
    hub.board.tick();
    assert.ok((received[1]?.rows?.length ?? 0) <= 100, 'a busy round sends no more than the top rows');
    const snapshot = hub.board.snapshot();
    assert.equal(snapshot.rows.length, 100);
    for (const session of sessions) hub.engine.workerLeft(session);
  } finally {
    unsubscribe();
    await hub.cleanup();
  }
});

test('the rate window counts the last 60 seconds and forgets older ones', () => {
  const rate = new RateWindow(60);
  const t0 = 1_000_000_000;
  rate.add(t0);
  rate.add(t0 + 500);
  rate.add(t0 + 30_000);
  assert.equal(rate.sum(t0 + 30_000), 3);
  assert.equal(rate.sum(t0 + 30_000, 10), 1);
  assert.equal(rate.sum(t0 + 61_000), 1, 'the first two are older than a minute');
  rate.add(t0 + 120_000);
  assert.equal(rate.sum(t0 + 120_000), 1, 'a slot reused a minute later starts from zero');
});
