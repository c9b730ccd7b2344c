// The board's and the console's fleet merging (server/live/board-fleet.ts,
// admin-fleet.ts), on LocalBuses in one process with a hand-moved clock: what
// a hub tells, when, how the receivers add it up, and when a hub is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalBus, LocalNetwork, MAX_NOTICE_BYTES, type FleetBus } from '../../../server/storage/fleet-bus.ts';
import { BoardFleet } from '../../../server/live/board-fleet.ts';
import { mergeCrawl } from '../../../server/live/admin-fleet.ts';
import type { BoardContributor, BoardTotals } from '../../../shared/board-protocol.ts';
import type { AdminCrawlProgress } from '../../../shared/admin-protocol.ts';
import type { ContributorTotals } from '../../../server/storage/storage.ts';

const STALE_MS = 10_000;
const totals = (sessions: number, pagesPerMinute = 0): BoardTotals => ({
  contributorsOnline: sessions,
  sessionsOnline: sessions,
  sessionsByKind: { tab: sessions, headless: 0, node: 0 },
  contributorsKnown: 0,
  pagesPerMinute,
  pagesPerSecond: pagesPerMinute / 60,
  pages: 0,
  items: 0,
});
const row = (id: string, pages: number, sessions = 1, pagesPerMinute = 6): BoardContributor => ({
  id, name: id, kind: 'tab', online: sessions > 0, sessions, pages, items: pages * 10, pagesPerMinute, lastSeenAt: 1,
});

function fleetOf(bus: FleetBus, clock: { now: number }, startedAt = 0) {
  const counted: ContributorTotals[] = [];
  let left = 0;
  const fleet = new BoardFleet(bus, {
    now: () => clock.now,
    startedAt,
    staleHubAfterMs: STALE_MS,
    counted: (d) => counted.push(d),
    left: () => left++,
  });
  return { fleet, counted, get left() { return left; } };
}

test('a hub tells its contributors once per change (or keepalive); another adds them up, and drops a hub gone quiet', () => {
  const network = new LocalNetwork();
  const clock = { now: 1000 };
  const sent: string[] = [];
  const busA = new LocalBus('a', network);
  const busB = new LocalBus('b', network);
  const spy = new LocalBus('spy', network);
  spy.subscribe('crowdcrawl_board', { message: (_from, payload) => sent.push(payload) });
  const a = fleetOf(busA, clock);
  const b = fleetOf(busB, clock, 500);

  a.fleet.publish([row('alice', 5)], totals(1, 6), { known: 1, pages: 5, items: 50 });
  a.fleet.publish([row('alice', 5)], totals(1, 6), { known: 1, pages: 5, items: 50 });
  assert.equal(sent.length, 1, 'nothing changed: no second notice');
  assert.deepEqual(b.counted, [], 'a started before b: what it counted is in the totals b read at start');
  assert.deepEqual([...b.fleet.rows().values()].map((r) => [r.id, r.sessions, r.pages, r.pagesPerMinute]), [['alice', 1, 5, 6]]);
  assert.equal(b.fleet.addTotals(totals(2, 12)).sessionsOnline, 3);
  assert.equal(b.fleet.addTotals(totals(2, 12)).pagesPerMinute, 18);

  clock.now += 1000;
  a.fleet.publish([row('alice', 7)], totals(1, 6), { known: 1, pages: 7, items: 70 });
  assert.deepEqual(b.counted, [{ known: 0, pages: 2, items: 20 }], 'the pages counted since the last notice');
  clock.now += STALE_MS / 3;
  a.fleet.publish([row('alice', 7)], totals(1, 6), { known: 1, pages: 7, items: 70 });
  assert.equal(sent.length, 3, 'a keepalive while it has something to say');

  // A's contributor leaves: B is told to read the stored totals again.
  a.fleet.publish([], totals(0), { known: 1, pages: 7, items: 70 });
  assert.equal(b.left, 1);
  assert.equal(b.fleet.rows().size, 0);

  // A dies (no goodbye): dropped after staleHubAfterMs, with its contributors.
  a.fleet.publish([row('bob', 1)], totals(1), { known: 2, pages: 8, items: 80 });
  clock.now += STALE_MS;
  assert.equal(b.fleet.rows().size, 1, 'still within the limit');
  clock.now += 1;
  assert.equal(b.fleet.rows().size, 0, 'gone quiet for longer than staleHubAfterMs');
  assert.equal(b.left, 2);

  // A hub that closes says so: dropped at once.
  a.fleet.publish([row('bob', 2)], totals(1), { known: 2, pages: 9, items: 90 });
  assert.equal(b.fleet.rows().size, 1);
  a.fleet.close();
  assert.equal(b.fleet.rows().size, 0);
});

test('a hub started after this one: all it counted is new; a notice too large is cut to its top rows', () => {
  const network = new LocalNetwork();
  const clock = { now: 1000 };
  const b = fleetOf(new LocalBus('b', network), clock, 0);
  const late = fleetOf(new LocalBus('late', network), clock, 900);
  const many = Array.from({ length: 500 }, (_, i) => row(`contributor-${String(i).padStart(4, '0')}-with-a-long-name`, 1000 - i));
  const sizes: number[] = [];
  new LocalBus('spy', network).subscribe('crowdcrawl_board', { message: (from, payload) => sizes.push(Buffer.byteLength(`${from}\nm${payload}`)) });
  late.fleet.publish(many, totals(500), { known: 3, pages: 30, items: 300 });
  assert.deepEqual(b.counted, [{ known: 3, pages: 30, items: 300 }]);
  assert.ok(sizes[0]! <= MAX_NOTICE_BYTES, `${sizes[0]} bytes fit one notice`);
  const rows = [...b.fleet.rows().keys()];
  assert.ok(rows.length > 10 && rows.length < 500, `${rows.length} rows kept`);
  assert.deepEqual(rows, many.slice(0, rows.length).map((r) => r.id), 'the top rows are kept');
});

test('a crawl seen by two hubs: the status of the latest change, the largest counters, rates and leases added up', () => {
  const view = (status: AdminCrawlProgress['status'], done: number, inFlight: number, queued: number): AdminCrawlProgress => ({
    id: 'c', name: 'c', status, finishReason: null, createdAt: 1, startedAt: 2, finishedAt: null, done, failed: 0, skipped: 0,
    queued, inFlight, items: done * 10, maxPages: null, pagesPerSecond: 1.5,
    validation: { checked: done, trusted: 0, rejected: 0, pending: 0, extraExtractions: 0, itemsWithdrawn: 0 },
  });
  const merged = mergeCrawl(view('running', 3, 1, 40), 100, view('paused', 9, 2, 30), 200);
  assert.equal(merged.status, 'paused');
  assert.deepEqual([merged.done, merged.items, merged.inFlight, merged.queued, merged.pagesPerSecond, merged.validation.checked], [9, 90, 3, 30, 3, 9]);
  assert.equal(mergeCrawl(view('running', 3, 1, 40), 300, view('paused', 9, 2, 30), 200).status, 'running', 'the later change wins');
});
