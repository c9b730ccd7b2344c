import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFakeClock, FAKE_CLOCK_START_MS, type Clock, type ClockTimer } from './fake-clock.ts';

test('the fake clock starts at the given time (or a fixed one) and stands still until ticked', async () => {
  const clock = createFakeClock(5_000);
  assert.equal(clock.now(), 5_000);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(clock.now(), 5_000, 'real time passing does not move it');
  clock.tick(250);
  assert.equal(clock.now(), 5_250);
  assert.equal(createFakeClock().now(), FAKE_CLOCK_START_MS);
});

test('it patches no globals: Date.now and the global timers keep real time', async () => {
  const realNow = Date.now;
  const realSetTimeout = globalThis.setTimeout;
  const clock = createFakeClock(0);
  clock.tick(3_600_000);
  assert.equal(Date.now, realNow);
  assert.equal(globalThis.setTimeout, realSetTimeout);
  assert.ok(Math.abs(Date.now() - performance.timeOrigin - performance.now()) < 1000, 'Date.now() is the real time');
  let fired = false;
  await new Promise<void>((resolve) => realSetTimeout(() => ((fired = true), resolve()), 1));
  assert.ok(fired);
});

test('timers fire in due order when time reaches them, not before; intervals repeat until cleared', () => {
  const clock = createFakeClock(1_000);
  const log: string[] = [];
  clock.setTimeout(() => log.push(`b@${clock.now()}`), 200);
  clock.setTimeout(() => log.push(`a@${clock.now()}`), 100);
  const every = clock.setInterval(() => log.push(`i@${clock.now()}`), 150);
  clock.tick(99);
  assert.deepEqual(log, []);
  clock.tick(1);
  assert.deepEqual(log, ['a@1100']);
  clock.tick(400);
  assert.deepEqual(log, ['a@1100', 'i@1150', 'b@1200', 'i@1300', 'i@1450']);
  clock.clearInterval(every);
  clock.tick(1_000);
  assert.equal(log.length, 5, 'a cleared interval fires no more');
  assert.equal(clock.pendingTimers, 0);
});

test('a cleared timer never fires; clearing undefined or a fired timer does nothing; timers can be unref()ed', () => {
  const clock = createFakeClock();
  let fired = 0;
  const timer = clock.setTimeout(() => fired++, 10);
  assert.equal(typeof timer.unref, 'function');
  timer.unref?.();
  assert.equal(clock.pendingTimers, 1, 'an unref()ed fake timer still fires');
  clock.clearTimeout(timer);
  clock.clearTimeout(undefined);
  clock.clearInterval(undefined);
  clock.tick(100);
  assert.equal(fired, 0);
  const once = clock.setTimeout(() => fired++, 10);
  clock.tick(10);
  clock.clearTimeout(once);
  assert.equal(fired, 1);
});

test('tickAsync lets promise callbacks run between timers, so async chains of timers advance; tick does not', async () => {
  // A retry loop as the core writes it: wait, then await some async work, then schedule the next wait.
  const retries = (clock: Clock, log: number[]) => {
    const attempt = (n: number) => {
      clock.setTimeout(() => {
        void Promise.resolve().then(() => {
          log.push(clock.now());
          if (n < 3) attempt(n + 1);
        });
      }, 1000);
    };
    attempt(1);
  };
  const sync = createFakeClock(0);
  const syncLog: number[] = [];
  retries(sync, syncLog);
  sync.tick(5000);
  await Promise.resolve();
  assert.deepEqual(syncLog, [5000], 'with tick, the first timer fired at the end of the tick and the chain stalled');

  const async = createFakeClock(0);
  const asyncLog: number[] = [];
  retries(async, asyncLog);
  await async.tickAsync(5000);
  assert.deepEqual(asyncLog, [1000, 2000, 3000]);
  assert.equal(async.now(), 5000);
});

test('runAllAsync fires everything scheduled, moving time as far as needed, and refuses an endless interval', async () => {
  const clock = createFakeClock(0);
  const log: number[] = [];
  clock.setTimeout(() => {
    log.push(clock.now());
    void Promise.resolve().then(() => clock.setTimeout(() => log.push(clock.now()), 60_000));
  }, 30_000);
  await clock.runAllAsync();
  assert.deepEqual(log, [30_000, 90_000]);
  assert.equal(clock.pendingTimers, 0);

  clock.setInterval(() => {}, 10);
  await assert.rejects(clock.runAllAsync(), /Aborting after running 1000 timers/);
});

test('it satisfies the Clock interface the core takes by injection', () => {
  const clock: Clock = createFakeClock();
  const timer: ClockTimer = clock.setInterval(() => {}, 5);
  clock.clearInterval(timer);
  assert.equal(typeof clock.now(), 'number');
});
