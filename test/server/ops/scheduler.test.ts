// The scheduler on fake time, against real SQLite: a schedule fires at its
// cron time in its own time zone; two schedulers on one database (two hubs of
// a fleet) start each run once; overlapping runs are skipped or queued; a
// paused schedule does not run, and a resumed one does not catch up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import { Scheduler } from '../../../server/ops/scheduler.ts';
import { silentLogger } from '../../../server/log.ts';
import type { ScheduleRow, Storage } from '../../../server/storage/storage.ts';
import { tempDir } from '../../helpers/hub.ts';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.ts';

const dirs: { remove(): void }[] = [];
after(() => dirs.forEach((d) => d.remove()));

const HOUR = 3_600_000;
// 2024-01-01T00:00Z; Paris is UTC+1 in January, so 03:00 there is 02:00Z.
const START = Date.UTC(2024, 0, 1);

function schedule(extra: Partial<ScheduleRow> = {}): ScheduleRow {
  return {
    id: 'sch_1', name: 'nightly', specId: 'spec_1', cron: '0 3 * * *', timeZone: 'Europe/Paris', overlap: 'skip',
    paused: false, incremental: false, keepRuns: 0, createdAt: START, updatedAt: START, ...extra,
  };
}

interface Fixture {
  clock: FakeClock;
  storages: Storage[];
  schedulers: Scheduler[];
  started: { hub: string; at: number }[];
  active: Set<string>;
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** `hubs` schedulers, each on its own connection to one database. */
async function fixture(hubs: number, row: ScheduleRow): Promise<Fixture> {
  const dir = tempDir('crowdcrawl-sched-');
  dirs.push(dir);
  const clock = createFakeClock(START);
  const storages = Array.from({ length: hubs }, () => SqliteStorage.open(dir.path));
  await storages[0]!.insertSchedule(row);
  const started: { hub: string; at: number }[] = [];
  const active = new Set<string>();
  let n = 0;
  const schedulers = storages.map((storage, i) =>
    new Scheduler({
      storage, clock, log: silentLogger, hubId: `hub-${i}`, pollMs: 60_000,
      startRun: async () => {
        const id = `crawl-${++n}`;
        started.push({ hub: `hub-${i}`, at: clock.now() });
        active.add(id);
        return id;
      },
      isActive: (id) => active.has(id),
    }),
  );
  const idle = async () => {
    for (let i = 0; i < 3; i++) await Promise.all(schedulers.map((s) => s.idle()));
  };
  for (const s of schedulers) s.start();
  await idle();
  return {
    clock, storages, schedulers, started, active, idle,
    async close() {
      for (const s of schedulers) s.close();
      await idle();
      for (const s of storages) await s.close();
    },
  };
}

/** Moves fake time on by `ms` in steps, letting every scheduler finish what each wake-up started. */
async function advance(f: Fixture, ms: number, step = 60_000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    f.clock.tick(Math.min(step, ms - done));
    await f.idle();
  }
}

test('a schedule runs at its cron time in its own time zone, once per occurrence, and says when it runs next', async () => {
  const f = await fixture(1, schedule());
  try {
    assert.equal(await f.schedulers[0]!.nextRunAt(schedule()), START + 2 * HOUR, '03:00 in Paris is 02:00 UTC in January');
    await advance(f, 2 * HOUR - 60_000);
    assert.equal(f.started.length, 0, 'not before its time');
    await advance(f, 60_000);
    assert.deepEqual(f.started.map((s) => s.at), [START + 2 * HOUR]);
    f.active.clear();
    await advance(f, 24 * HOUR);
    assert.deepEqual(f.started.map((s) => s.at), [START + 2 * HOUR, START + 26 * HOUR], 'and again the next night');
    await advance(f, 24 * HOUR);
    assert.equal(f.started.length, 2, 'the third night finds the second night\'s crawl still going (overlap: skip)');
    const runs = await f.storages[0]!.listScheduleRuns('sch_1', 10);
    assert.deepEqual(runs.map((r) => [r.dueAt, r.state, r.crawlId]), [
      [START + 50 * HOUR, 'skipped', null],
      [START + 26 * HOUR, 'started', 'crawl-2'],
      [START + 2 * HOUR, 'started', 'crawl-1'],
    ]);
    assert.match(runs[0]!.message!, /previous run \(crawl crawl-2\) is still going/);
  } finally {
    await f.close();
  }
});

test('two schedulers on one database (a fleet of two hubs) start each run exactly once', async () => {
  const f = await fixture(2, schedule({ cron: '*/10 * * * *', timeZone: 'UTC' }));
  try {
    for (let i = 0; i < 6; i++) {
      await advance(f, 10 * 60_000);
      f.active.clear(); // each run ends before the next is due
    }
    assert.equal(f.started.length, 6, `six occurrences, six crawls: ${JSON.stringify(f.started)}`);
    assert.deepEqual(new Set(f.started.map((s) => s.at)).size, 6, 'no occurrence started twice');
    const runs = await f.storages[1]!.listScheduleRuns('sch_1', 20);
    assert.equal(runs.length, 6);
    assert.ok(runs.every((r) => r.state === 'started'));
  } finally {
    await f.close();
  }
});

test('overlap "queue": a run due while the last one goes waits, then starts when it ends; one waits at most', async () => {
  const f = await fixture(2, schedule({ cron: '0 * * * *', timeZone: 'UTC', overlap: 'queue' }));
  try {
    await advance(f, HOUR);
    assert.equal(f.started.length, 1);
    await advance(f, 2 * HOUR);
    const states = (await f.storages[0]!.listScheduleRuns('sch_1', 10)).map((r) => r.state);
    assert.deepEqual(states, ['skipped', 'queued', 'started'], 'the second waits, the third finds one already waiting');
    f.active.clear();
    for (const s of f.schedulers) s.kick(); // what a crawl's end does
    await f.idle();
    assert.equal(f.started.length, 2, 'the queued run started once, on one hub');
    const after = await f.storages[0]!.listScheduleRuns('sch_1', 10);
    assert.deepEqual(after.map((r) => r.state), ['skipped', 'started', 'started']);
  } finally {
    await f.close();
  }
});

test('a paused schedule does not run; resumed, it does not catch up on what it missed', async () => {
  const f = await fixture(1, schedule({ cron: '0 * * * *', timeZone: 'UTC', paused: true }));
  try {
    await advance(f, 3 * HOUR);
    assert.equal(f.started.length, 0);
    assert.equal(await f.schedulers[0]!.nextRunAt(schedule({ paused: true })), undefined);
    const resumed = await f.storages[0]!.updateSchedule('sch_1', { ...schedule({ cron: '0 * * * *', timeZone: 'UTC' }), updatedAt: f.clock.now() });
    assert.ok(resumed);
    f.schedulers[0]!.kick();
    await f.idle();
    assert.equal(f.started.length, 0, 'the three missed hours are not run');
    await advance(f, HOUR);
    assert.deepEqual(f.started.map((s) => s.at), [START + 4 * HOUR]);
  } finally {
    await f.close();
  }
});

test('a hub that was down runs the latest missed occurrence once when it comes back', async () => {
  const f = await fixture(1, schedule({ cron: '0 * * * *', timeZone: 'UTC' }));
  try {
    f.schedulers[0]!.close();
    f.clock.tick(5 * HOUR + 30 * 60_000);
    const back = new Scheduler({
      storage: f.storages[0]!, clock: f.clock, log: silentLogger, hubId: 'back', pollMs: 60_000,
      startRun: async () => {
        f.started.push({ hub: 'back', at: f.clock.now() });
        return 'crawl-back';
      },
      isActive: () => false,
    });
    back.start();
    await back.idle();
    back.close();
    const runs = await f.storages[0]!.listScheduleRuns('sch_1', 10);
    assert.deepEqual(runs.map((r) => [r.dueAt, r.state]), [[START + 5 * HOUR, 'started']]);
  } finally {
    await f.close();
  }
});
