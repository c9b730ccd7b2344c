// The hub as a member of the fleet (server/engine/fleet.ts, docs/scale-out.md):
// it registers, beats, is listed by GET /api/hubs; a hub that stops beating is
// marked gone by the others within hubDeadAfterMs + hubHeartbeatMs, and a hub
// taken for dead rejoins; storage that cannot be reached is reported once and
// its return too. On fake time, on the embedded SQLite (a fleet of one).
import { test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startTestHub, tempDir, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';
import { FleetMember } from '../../../server/engine/fleet.ts';
import { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import type { Logger } from '../../../server/log.ts';
import type { HubList } from '../../../shared/admin-api.ts';
import { hubOptionsSchema } from '../../../server/options.ts';

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (a: unknown, b?: unknown) => lines.push({ level, msg: String(typeof a === 'string' ? a : b) });
  const log = { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return log as unknown as Logger & { lines: { level: string; msg: string }[] };
}

test('GET /api/hubs lists this hub with its address, version, workers, leases, pages/s and heartbeat; the heartbeat moves on fake time', async () => {
  const clock = createFakeClock();
  const dir = tempDir();
  const hub = await startTestHub({ dataDir: dir.path, hubHeartbeatMs: 1000, hubDeadAfterMs: 4000 }, { clock });
  try {
    const get = async (): Promise<HubList> => (await (await fetch(`${hub.url}/api/hubs`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } })).json()) as HubList;
    const first = await get();
    assert.equal(first.hubs.length, 1);
    const [me] = first.hubs;
    assert.deepEqual(
      { ...me, id: undefined },
      { id: undefined, address: hub.url, version: (await import('../../../server/app.ts')).hubVersion(), startedAt: clock.now(), heartbeatAt: clock.now(), workers: 0, leases: 0, pagesPerSec: 0, alive: true, self: true },
    );
    assert.deepEqual(first.storage, { available: true, unavailableSince: null, code: null });
    await clock.tickAsync(1000);
    await hub.fleet.beat();
    assert.equal((await get()).hubs[0]!.heartbeatAt, clock.now(), 'renewed every hubHeartbeatMs');
    const unauthorised = await fetch(`${hub.url}/api/hubs`);
    assert.equal(unauthorised.status, 401);
  } finally {
    await hub.cleanup();
  }
  // A hub that closes leaves the fleet: its row says gone.
  const storage = SqliteStorage.open(hub.dataDir);
  try {
    assert.deepEqual((await storage.listHubs()).map((h) => h.state), ['gone']);
  } finally {
    await storage.close();
    dir.remove();
  }
});

test('a hub that stops beating is marked gone by another within deadAfter + heartbeat; the first, beating again, learns it and rejoins under a new id', async () => {
  const clock = createFakeClock();
  const dir = tempDir();
  const storage = SqliteStorage.open(dir.path);
  const log = recordingLogger();
  const options = { heartbeatMs: 1000, deadAfterMs: 4000, version: '1' };
  let rejoined = 0;
  const hooks = { stats: () => ({ workers: 2, leases: 5 }), rejoined: () => rejoined++ };
  // a's clock never moves: its heartbeat timer never fires (a frozen process).
  const frozen = createFakeClock();
  const a = new FleetMember(storage, frozen, log, options, hooks);
  const b = new FleetMember(storage, clock, log, options, hooks);
  try {
    await a.join('http://a');
    // On SQLite, a fleet of one, b's registration marks a gone at once; on a shared database they coexist.
    // Here a is stopped (it gets no beats) and b is the survivor; a's row is written back by hand to be "alive".
    await b.join('http://b');
    const db = new DatabaseSync(join(dir.path, 'crowdcrawl.db'));
    db.prepare('UPDATE hubs SET gone = 0 WHERE id = ?').run(a.id);
    db.close();
    const aStarted = frozen.now();
    const aId = a.id;
    for (let t = 1000; ; t += 1000) {
      await clock.tickAsync(1000);
      await b.beat();
      const row = (await b.hubs()).find((h) => h.id === aId)!;
      if (row.state === 'gone') {
        assert.ok(clock.now() - aStarted <= options.deadAfterMs + options.heartbeatMs, `gone after ${clock.now() - aStarted} ms`);
        assert.ok(clock.now() - aStarted > options.deadAfterMs, 'not before deadAfterMs');
        break;
      }
      assert.ok(t < 10_000, 'a was never taken for dead');
    }
    assert.ok(log.lines.some((l) => l.level === 'warn' && /stopped beating/.test(l.msg)));
    const before = a.id;
    await a.beat();
    assert.notEqual(a.id, before, 'a rejoined under a new id');
    assert.equal(rejoined, 1, 'its windows are read again');
    assert.ok(log.lines.some((l) => l.level === 'warn' && /taken for dead/.test(l.msg)));
    const listed = await a.hubs();
    assert.deepEqual(listed.filter((h) => h.self).map((h) => [h.id, h.alive, h.workers, h.leases]), [[a.id, true, 2, 5]]);
  } finally {
    await a.leave();
    await b.leave();
    await storage.close();
    dir.remove();
  }
});

test('storage out of reach: said once as an error, beats go on, and its return is said; nothing is thrown', async () => {
  const clock = createFakeClock();
  const dir = tempDir();
  const storage = SqliteStorage.open(dir.path);
  const log = recordingLogger();
  const member = new FleetMember(storage, clock, log, { heartbeatMs: 1000, deadAfterMs: 4000, version: '1' }, { stats: () => ({ workers: 0, leases: 0 }), rejoined: () => {} });
  const heartbeat = storage.heartbeat.bind(storage);
  try {
    await member.join('http://a');
    storage.heartbeat = () => Promise.reject(new Error('connection refused'));
    for (let i = 0; i < 3; i++) {
      await clock.tickAsync(1000);
      await member.beat();
    }
    assert.equal(member.unavailableSince, clock.now() - 2000);
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 1, 'said once');
    storage.heartbeat = heartbeat;
    await clock.tickAsync(1000);
    await member.beat();
    assert.equal(member.unavailableSince, null);
    assert.ok(log.lines.some((l) => l.level === 'info' && /reachable again/.test(l.msg)));
  } finally {
    await member.leave();
    await storage.close();
    dir.remove();
  }
});

test('hubDeadAfterMs shorter than two heartbeats is refused', () => {
  const parsed = hubOptionsSchema.safeParse({ hubHeartbeatMs: 5000, hubDeadAfterMs: 8000 });
  assert.equal(parsed.success, false);
  assert.match(JSON.stringify(parsed.error?.issues), /hubDeadAfterMs must be at least twice hubHeartbeatMs/);
  assert.equal(hubOptionsSchema.parse({}).hubDeadAfterMs, 20_000);
});

test('a beat that gives dead hubs\' rows back tells the hub at once (its windows are read again), and only then', async () => {
  const clock = createFakeClock();
  let rows = 0;
  const storage = {
    registerHub: async () => {},
    heartbeat: async () => true,
    // Rows come back once: the beat after gives back nothing.
    reclaimDeadHubs: async () => {
      const given = rows;
      rows = 0;
      return { hubs: given > 0 ? ['hub-dead'] : [], rows: given };
    },
    leaveFleet: async () => {},
  } as unknown as SqliteStorage;
  const told: number[] = [];
  const member = new FleetMember(storage, clock, recordingLogger(), { heartbeatMs: 1000, deadAfterMs: 4000, version: '1' }, {
    stats: () => ({ workers: 0, leases: 0 }),
    rejoined: () => {},
    reclaimed: (n) => told.push(n),
  });
  await member.join('http://a');
  await member.beat();
  assert.deepEqual(told, [], 'nothing reclaimed: windows stay');
  rows = 25;
  await clock.tickAsync(1000);
  await member.beat();
  await clock.tickAsync(1000);
  await member.beat();
  assert.deepEqual(told, [25]);
  await member.leave();
});
