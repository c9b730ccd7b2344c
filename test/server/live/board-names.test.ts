// The public board against hostile volunteers: nicknames that show nothing,
// look-alike and duplicate nicknames, and crowds of sockets that never work.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { BOARD_NAMESPACE, PROTOCOL_VERSION, type ClientToServerEvents, type Lease, type ServerToClientEvents, type Welcome } from '../../../shared/protocol.ts';
import type { BoardClientToServerEvents, BoardContributor, BoardServerToClientEvents, BoardSnapshot } from '../../../shared/board-protocol.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, tempDir, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { contributorId } from '../../../server/live/board.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
type WorkerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 30 }));
});
after(() => site.close());

const ALICE = 'alice-client-id-0123456789';
const BOB = 'bob-client-id-0123456789ab';

/** Every page of the site as a start URL, so workers of capacity 1 each get a lease at once. */
const wideSpec = (origin: string, pages: number, extra: Record<string, unknown> = {}) =>
  quotesSpec(origin, { startUrls: Array.from({ length: pages }, (_, i) => `${origin}/page/${i + 1}/`), follow: [], ...extra });

/** A worker socket speaking the protocol by hand, from `localAddress` (a distinct volunteer). */
function connectWorker(url: string, auth: Record<string, unknown>, localAddress?: string): Promise<{ socket: WorkerSocket; welcome: Welcome; leases: Lease[] }> {
  const socket: WorkerSocket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { protocolVersion: PROTOCOL_VERSION, kind: 'node', clientId: randomBytes(12).toString('base64url'), capacity: 0, ...auth },
    ...(localAddress ? { localAddress } : {}),
  } as never);
  const leases: Lease[] = [];
  socket.on('leases', (batch) => leases.push(...batch));
  return new Promise((resolve, reject) => {
    socket.once('welcome', (welcome) => resolve({ socket, welcome, leases }));
    socket.once('connect_error', (error) => {
      socket.disconnect();
      reject(error);
    });
  });
}

/** The board as a page keeps it: a snapshot, then deltas. */
function watchBoard(hubUrl: string) {
  const socket: Socket<BoardServerToClientEvents, BoardClientToServerEvents> = io(`${hubUrl}${BOARD_NAMESPACE}`, {
    auth: { protocolVersion: PROTOCOL_VERSION },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  const rows = new Map<string, BoardContributor>();
  let snapshot: BoardSnapshot | undefined;
  let listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((l) => l());
  socket.on('board:snapshot', (s) => {
    snapshot = s;
    rows.clear();
    for (const row of s.rows) rows.set(row.id, row);
    changed();
  });
  socket.on('board:delta', (d) => {
    for (const row of d.rows ?? []) rows.set(row.id, row);
    for (const id of d.removed ?? []) rows.delete(id);
    if (d.totals && snapshot) snapshot = { ...snapshot, totals: d.totals };
    changed();
  });
  return {
    socket,
    rows,
    get totals() {
      return snapshot?.totals;
    },
    /** The rows in board order. */
    ordered: () => [...rows.values()].sort((a, b) => b.pages - a.pages || Number(b.online) - Number(a.online) || b.lastSeenAt - a.lastSeenAt),
    names: () => [...rows.values()].map((r) => r.name).sort(),
    until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (!check()) return;
          clearTimeout(timer);
          listeners = listeners.filter((l) => l !== test);
          resolve();
        };
        const timer = setTimeout(() => reject(new Error(`${what}; rows: ${JSON.stringify([...rows.values()].map((r) => [r.name, r.pages, r.online]))}`)), timeoutMs);
        listeners.push(test);
        test();
      });
    },
    close: () => socket.disconnect(),
  };
}

test('a nickname that shows nothing is refused at connect with NAME_INVALID, and nothing joins', async () => {
  const hub = await startTestHub();
  try {
    const cases: [string, RegExp][] = [
      ['\u3164', /U\+3164/], // HANGUL FILLER
      ['\u3164\u3164alice', /U\+3164/],
      ['al\u200bice', /U\+200B/], // zero-width space
      ['\u202eecila', /U\+202E/], // right-to-left override
      ['\u2800', /U\+2800/], // braille blank
      ['   ', /needed/],
      ['...', /letter/],
      ['x'.repeat(33), /32/],
    ];
    for (const [name, message] of cases) {
      const error = await connectWorker(hub.url, { name }).then(
        () => assert.fail(`${JSON.stringify(name)} was let in`),
        (e: Error & { data?: { code: string; message: string } }) => e,
      );
      assert.equal(error.data?.code, 'NAME_INVALID', JSON.stringify(name));
      assert.match(error.data?.message ?? '', message);
    }
    assert.equal(hub.engine.workers.size, 0, 'no session was made');
  } finally {
    await hub.cleanup();
  }
});

test('a second "alice", a look-alike and a differently cased one get distinct shown names, on the board and in the welcome', async () => {
  const hub = await startTestHub();
  const board = watchBoard(hub.url);
  const sockets: WorkerSocket[] = [];
  try {
    const join = async (clientId: string, name: string, address: string) => {
      const w = await connectWorker(hub.url, { clientId, name, capacity: 1 }, address);
      sockets.push(w.socket);
      return w;
    };
    const first = await join(ALICE, 'alice', '127.0.0.2');
    const second = await join(BOB, 'alice', '127.0.0.3');
    const cyrillic = await join('carol-client-id-0123456789', '\u0430lice', '127.0.0.4');
    const cased = await join('dave-client-id-01234567890', '  Alice ', '127.0.0.5');
    const secondTab = await join(ALICE, 'alice', '127.0.0.2');
    assert.equal(first.welcome.name, 'alice');
    assert.equal(second.welcome.name, 'alice (2)', 'not refused: numbered');
    assert.equal(cyrillic.welcome.name, '\u0430lice (3)', 'a Cyrillic а is the same name');
    assert.equal(cased.welcome.name, 'Alice (4)', 'case does not make another name');
    assert.equal(secondTab.welcome.name, 'alice', 'another tab of the same browser is the same contributor');

    // Working (each holds a lease) puts them on the board: five sessions, four rows, four names.
    await hub.engine.createCrawl(wideSpec(site.origin, 10));
    await board.until(() => board.rows.size === 4, 'four contributors are listed');
    assert.deepEqual(board.names(), ['Alice (4)', 'alice', 'alice (2)', '\u0430lice (3)'].sort());
    const alice = [...board.rows.values()].find((r) => r.name === 'alice')!;
    assert.equal(alice.sessions, 2);
    assert.equal(alice.id, contributorId(ALICE, 'alice'));
    assert.equal([...board.rows.values()].find((r) => r.name === 'alice (2)')!.id, contributorId(BOB, 'alice (2)'));

    // A page that identifies with the nickname it asked for finds the row it is shown as.
    const reply = await board.socket.timeout(5000).emitWithAck('board:identify', { clientId: BOB, name: 'alice' });
    assert.ok(reply.ok);
    assert.equal(reply.id, contributorId(BOB, 'alice (2)'));
  } finally {
    for (const s of sockets) s.disconnect();
    board.close();
    await hub.cleanup();
  }
});

test('a browser keeps its shown name when it reconnects, and after a hub restart; an idle socket does not keep one', async () => {
  const dir = tempDir();
  let hub = await startTestHub({ dataDir: dir.path });
  try {
    // alice works a crawl, then bob (also "alice") another: both have validated pages, and leave.
    const [a] = await startWorkers(hub.url, 1, { name: 'alice', clientId: ALICE, localAddress: '127.0.0.2' });
    await waitForCrawlEnd(hub, (await hub.engine.createCrawl(wideSpec(site.origin, 3))).id);
    const [b] = await startWorkers(hub.url, 1, { name: 'alice', clientId: BOB, localAddress: '127.0.0.3' });
    assert.equal(b!.loop.welcome?.name, 'alice (2)');
    await a!.stop();
    await waitForCrawlEnd(hub, (await hub.engine.createCrawl(wideSpec(site.origin, 3))).id);
    await b!.stop();

    // Both offline: bob comes back first and is still "alice (2)"; alice is still "alice".
    let bob = await connectWorker(hub.url, { clientId: BOB, name: 'alice' }, '127.0.0.3');
    assert.equal(bob.welcome.name, 'alice (2)');
    const alice = await connectWorker(hub.url, { clientId: ALICE, name: 'alice' }, '127.0.0.2');
    assert.equal(alice.welcome.name, 'alice');

    // A socket that never contributes holds its name only while connected.
    const idle = await connectWorker(hub.url, { name: 'mallory' }, '127.0.0.4');
    assert.equal(idle.welcome.name, 'mallory');
    idle.socket.disconnect();
    await new Promise<void>((resolve) => hub.engine.once('workerLeft', () => resolve()));
    const later = await connectWorker(hub.url, { name: 'mallory' }, '127.0.0.5');
    assert.equal(later.welcome.name, 'mallory', 'the name was free again');
    for (const w of [bob, alice, later]) w.socket.disconnect();
    await hub.close();

    // After a restart the names come back from the board's stored rows.
    hub = await startTestHub({ dataDir: dir.path });
    bob = await connectWorker(hub.url, { clientId: BOB, name: 'alice' }, '127.0.0.3');
    assert.equal(bob.welcome.name, 'alice (2)', 'bob keeps his name across a restart');
    const stranger = await connectWorker(hub.url, { name: 'ALICE' }, '127.0.0.6');
    assert.equal(stranger.welcome.name, 'ALICE (3)', 'alice\'s name is still hers while she is away');
    bob.socket.disconnect();
    stranger.socket.disconnect();
  } finally {
    await hub.cleanup();
    dir.remove();
  }
});

test('200 idle capacity-0 sockets do not push working contributors off the board', async () => {
  const hub = await startTestHub({ board: { intervalMs: 100, maxRows: 10 } });
  const board = watchBoard(hub.url);
  const sockets: WorkerSocket[] = [];
  try {
    // A contributor with validated pages, now offline.
    const [veteran] = await startWorkers(hub.url, 1, { name: 'veteran', localAddress: '127.0.0.2' });
    await waitForCrawlEnd(hub, (await hub.engine.createCrawl(wideSpec(site.origin, 5))).id);
    await veteran!.stop();

    // Three working now: each holds a lease (none of them has finished a page yet).
    const workers = await Promise.all(['w1', 'w2', 'w3'].map((name, i) => connectWorker(hub.url, { name, capacity: 1 }, `127.0.0.${3 + i}`)));
    for (const w of workers) sockets.push(w.socket);
    await hub.engine.createCrawl(wideSpec(site.origin, 10));
    await board.until(() => board.rows.size === 4, 'the veteran and three working contributors are listed');

    // Then a crowd of sockets that will never work, each from an address of its own, newer than everyone.
    for (let i = 0; i < 200; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) => connectWorker(hub.url, { name: `idle ${i + j}`, capacity: 0 }, `127.0.${1 + Math.floor((i + j) / 250)}.${10 + ((i + j) % 240)}`)),
      );
      for (const w of batch) sockets.push(w.socket);
    }
    // The round that counts them in the totals computed the rows too, and they came in the same delta.
    await board.until(() => board.totals?.sessionsOnline === 203, 'the idle sockets count in the totals');
    assert.deepEqual(board.names(), ['veteran', 'w1', 'w2', 'w3'], 'no idle socket takes a row');
    assert.equal(board.ordered()[0]!.name, 'veteran', 'ranked by validated pages');
    assert.ok(workers.every((w) => w.leases.length === 1));
  } finally {
    for (const s of sockets) s.disconnect();
    board.close();
    await hub.cleanup();
  }
});

test('the board credits validated pages only: a result waiting for its check counts nothing', async () => {
  const hub = await startTestHub({ board: { intervalMs: 100, maxRows: 10 }, validation: { replicaWaitMs: 600_000 } });
  const board = watchBoard(hub.url);
  try {
    const raw = await connectRawWorker(hub.url, { name: 'eager', capacity: 1 });
    await hub.engine.createCrawl(wideSpec(site.origin, 1));
    const [lease] = await raw.waitForLeases(1);
    await board.until(() => board.names().includes('eager'), 'a contributor holding a lease is listed');
    assert.equal((await raw.relay(lease!.id)).status, 200);
    const reply = await raw.socket.timeout(5000).emitWithAck('result', { leaseId: lease!.id, items: [], links: [] });
    assert.ok(reply.ok && reply.pending, 'held for a second opinion');
    await board.until(() => !board.names().includes('eager'), 'no validated page and no lease: not listed');
    assert.equal(board.totals?.pages, 0);
    raw.close();
  } finally {
    board.close();
    await hub.cleanup();
  }
});
