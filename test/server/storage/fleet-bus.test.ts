// The fleet bus (server/storage/fleet-bus.ts): LISTEN/NOTIFY between hubs on
// one PostgreSQL database, and the in-process LocalBus of SQLite hubs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { LocalBus, LocalNetwork, MAX_NOTICE_BYTES, decodeNotice, encodeNotice, type BusHandler } from '../../../server/storage/fleet-bus.ts';
import { PgBus } from '../../../server/storage/postgres/pg-bus.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const db of databases) await db.drop();
});

/** A subscriber that keeps what it hears and lets a test wait for the next of each. */
function recorder() {
  const heard: { from: string; payload: string | null }[] = [];
  let resyncs = 0;
  let waiters: (() => void)[] = [];
  const changed = () => {
    for (const w of waiters.splice(0)) w();
  };
  const handler: BusHandler = {
    message: (from, payload) => {
      heard.push({ from, payload });
      changed();
    },
    reload: (from) => {
      heard.push({ from, payload: null });
      changed();
    },
    resync: () => {
      resyncs++;
      changed();
    },
  };
  return {
    handler,
    heard,
    get resyncs() {
      return resyncs;
    },
    async until(check: () => boolean): Promise<void> {
      while (!check()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    stop: () => (waiters = []),
  };
}

test('a notice is a sender and a payload; one too large for PostgreSQL becomes "reload"', () => {
  assert.deepEqual(decodeNotice(encodeNotice('hub-a', '{"x":1}')), { from: 'hub-a', kind: 'message', payload: '{"x":1}' });
  const big = 'é'.repeat(MAX_NOTICE_BYTES / 2);
  assert.deepEqual(decodeNotice(encodeNotice('hub-a', big)), { from: 'hub-a', kind: 'reload' });
  assert.equal(decodeNotice('no sender'), undefined);
  assert.equal(decodeNotice('hub-a\nx'), undefined);
});

test('LocalBus: buses of one network hear each other, never themselves; a lone bus tells no one', async () => {
  const network = new LocalNetwork();
  const a = new LocalBus('a', network);
  const b = new LocalBus('b', network);
  const lone = new LocalBus('lone');
  const atA = recorder();
  const atB = recorder();
  const atLone = recorder();
  a.subscribe('ch', atA.handler);
  const stopB = b.subscribe('ch', atB.handler);
  lone.subscribe('ch', atLone.handler);
  a.publish('ch', 'one');
  lone.publish('ch', 'nobody hears');
  assert.deepEqual(atB.heard, [{ from: 'a', payload: 'one' }]);
  assert.deepEqual(atA.heard, []);
  assert.deepEqual(atLone.heard, []);
  stopB();
  a.publish('ch', 'two');
  assert.equal(atB.heard.length, 1, 'unsubscribed');
  await Promise.all([a.close(), b.close(), lone.close()]);
});

test('PgBus: hubs on one database hear each other in order, not themselves; a payload over 8000 bytes arrives as "reload"', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const a = new PgBus(db.url, 'hub-a');
  const b = new PgBus(db.url, 'hub-b');
  const atA = recorder();
  const atB = recorder();
  a.subscribe('crowdcrawl_board', atA.handler);
  b.subscribe('crowdcrawl_board', atB.handler);
  try {
    await Promise.all([a.ready(), b.ready()]);
    for (let i = 0; i < 5; i++) a.publish('crowdcrawl_board', `tick ${i}`);
    a.publish('crowdcrawl_board', 'x'.repeat(9000));
    b.publish('crowdcrawl_board', 'from b');
    await atB.until(() => atB.heard.length === 6);
    await atA.until(() => atA.heard.length === 1);
    assert.deepEqual(atB.heard.map((h) => h.payload), ['tick 0', 'tick 1', 'tick 2', 'tick 3', 'tick 4', null]);
    assert.ok(atB.heard.every((h) => h.from === 'hub-a'));
    assert.deepEqual(atA.heard, [{ from: 'hub-b', payload: 'from b' }], 'a hears b, never itself');
    assert.throws(() => a.subscribe('Bad; DROP', atA.handler), /plain channel name/);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('PgBus: a terminated LISTEN connection comes back, LISTENs again and tells its subscribers to resync', async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const statuses: string[] = [];
  const a = new PgBus(db.url, 'hub-a');
  const b = new PgBus(db.url, 'hub-b', { reconnectMinMs: 20, reconnectMaxMs: 200, onStatus: (s) => statuses.push(s) });
  const atB = recorder();
  b.subscribe('crowdcrawl_crawls', atB.handler);
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await Promise.all([a.ready(), b.ready()]);
    a.publish('crowdcrawl_crawls', 'before');
    await atB.until(() => atB.heard.length === 1);

    const pid = await b.backendPid();
    assert.ok(pid);
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await atB.until(() => atB.resyncs === 1);
    await b.ready();
    assert.deepEqual(statuses, ['lost', 'back']);
    assert.notEqual(await b.backendPid(), pid, 'a new connection');

    a.publish('crowdcrawl_crawls', 'after');
    await atB.until(() => atB.heard.length === 2);
    assert.deepEqual(atB.heard.map((h) => h.payload), ['before', 'after']);
  } finally {
    await admin.end();
    await Promise.all([a.close(), b.close()]);
  }
});
