// /api/schedules on a real hub whose core runs on fake time: bad input gets
// SCHEDULE_INVALID with every problem, a schedule starts a crawl of its saved
// spec when its time comes, and it can be paused, resumed, run now and deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub } from '../../../helpers/hub.ts';
import { createFakeClock, FAKE_CLOCK_START_MS } from '../../../helpers/fake-clock.ts';
import { ADMIN_TOKEN, api, testSpec } from './helpers.ts';

const clock = createFakeClock();
let hub: Awaited<ReturnType<typeof startTestHub>>;
let specId: string;
before(async () => {
  hub = await startTestHub({ adminToken: ADMIN_TOKEN, ops: { schedulerPollMs: 60_000 } }, { clock });
  const saved = await api(hub, 'POST', '/specs', { body: { name: 'nightly books', spec: testSpec() } });
  assert.equal(saved.status, 201);
  specId = saved.body.id;
});
after(() => hub.cleanup());

const HOUR = 3_600_000;

/** Fake time moves on; the scheduler's wake-ups run to their end. */
async function advance(ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 60_000) {
    clock.tick(Math.min(60_000, ms - done));
    await hub.ops.scheduler.idle();
  }
}

test('a schedule with a bad cron expression, time zone, spec or setting is refused with every problem', async () => {
  const res = await api(hub, 'POST', '/schedules', {
    body: { specId: 'nope', cron: '61 * * *', timeZone: 'Mars/Olympus', overlap: 'sometimes', keepRuns: -1 },
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'SCHEDULE_INVALID');
  for (const path of ['cron', 'timeZone', 'overlap', 'keepRuns']) assert.match(res.body.error.message, new RegExp(`${path}: `), path);
  const noZone = await api(hub, 'POST', '/schedules', { body: { specId, cron: '0 3 * * *' } });
  assert.equal(noZone.body.error.code, 'SCHEDULE_INVALID', 'the time zone is never implied');
  assert.match(noZone.body.error.message, /timeZone/);
  const seconds = await api(hub, 'POST', '/schedules', { body: { specId, cron: '* * * * * *', timeZone: 'UTC' } });
  assert.match(seconds.body.error.message, /five cron fields/);
  const unknownSpec = await api(hub, 'POST', '/schedules', { body: { specId: 'nope', cron: '0 3 * * *', timeZone: 'UTC' } });
  assert.equal(unknownSpec.body.error.code, 'SCHEDULE_INVALID');
  assert.match(unknownSpec.body.error.message, /specId: no saved spec/);
  const extra = await api(hub, 'POST', '/schedules', { body: { specId, cron: '0 3 * * *', timeZone: 'UTC', every: 'day' } });
  assert.equal(extra.body.error.code, 'SCHEDULE_INVALID');
  assert.equal((await api(hub, 'GET', '/schedules/sch_missing')).body.error.code, 'SCHEDULE_UNKNOWN');
  assert.equal((await api(hub, 'GET', '/schedules')).body.schedules.length, 0, 'nothing was saved');
});

test('a schedule starts a crawl of its saved spec at each occurrence, lists its runs, pauses, resumes, runs now and is deleted', async () => {
  const created = await api(hub, 'POST', '/schedules', { body: { specId, cron: '30 4 * * *', timeZone: 'America/New_York' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const s = created.body;
  assert.deepEqual([s.name, s.specName, s.overlap, s.paused, s.incremental, s.keepRuns], ['nightly books', 'nightly books', 'skip', false, false, 0]);
  // 04:30 in New York is 09:30 UTC in January.
  assert.equal(s.nextRunAt, FAKE_CLOCK_START_MS + 9.5 * HOUR);
  await advance(10 * HOUR);
  const after = (await api(hub, 'GET', `/schedules/${s.id}`)).body;
  assert.equal(after.lastRuns.length, 1);
  assert.equal(after.lastRuns[0].state, 'started');
  const crawl = hub.engine.crawls.require(after.lastRuns[0].crawlId);
  assert.equal(crawl.name, 'books', 'a crawl of the saved spec');
  assert.equal(after.nextRunAt, FAKE_CLOCK_START_MS + 33.5 * HOUR);

  const paused = (await api(hub, 'POST', `/schedules/${s.id}/pause`)).body;
  assert.deepEqual([paused.paused, paused.nextRunAt], [true, null]);
  await hub.engine.control(crawl.id, 'cancel');
  await advance(26 * HOUR);
  assert.equal((await api(hub, 'GET', `/schedules/${s.id}`)).body.lastRuns.length, 1, 'no run while paused');
  const resumed = (await api(hub, 'POST', `/schedules/${s.id}/resume`)).body;
  assert.equal(resumed.paused, false);
  assert.ok(resumed.nextRunAt > clock.now());

  const ran = (await api(hub, 'POST', `/schedules/${s.id}/run`)).body;
  assert.equal(ran.lastRuns[0].state, 'started');
  assert.notEqual(ran.lastRuns[0].crawlId, crawl.id);

  const patched = await api(hub, 'PATCH', `/schedules/${s.id}`, { body: { overlap: 'queue', keepRuns: 3, cron: '@hourly' } });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.deepEqual([patched.body.overlap, patched.body.keepRuns, patched.body.cron], ['queue', 3, '@hourly']);
  assert.equal((await api(hub, 'PATCH', `/schedules/${s.id}`, { body: { cron: 'nope' } })).body.error.code, 'SCHEDULE_INVALID');

  assert.equal((await api(hub, 'DELETE', `/schedules/${s.id}`)).status, 204);
  assert.equal((await api(hub, 'GET', `/schedules/${s.id}`)).body.error.code, 'SCHEDULE_UNKNOWN');
});

test('a run whose saved spec was deleted is recorded as failed, with why', async () => {
  const spec = (await api(hub, 'POST', '/specs', { body: { name: 'short-lived', spec: testSpec() } })).body;
  const s = (await api(hub, 'POST', '/schedules', { body: { specId: spec.id, cron: '0 * * * *', timeZone: 'UTC' } })).body;
  assert.equal((await api(hub, 'DELETE', `/specs/${spec.id}`)).status, 204);
  const ran = (await api(hub, 'POST', `/schedules/${s.id}/run`)).body;
  assert.equal(ran.specName, null);
  assert.equal(ran.lastRuns[0].state, 'failed');
  assert.match(ran.lastRuns[0].message, /was deleted/);
});
