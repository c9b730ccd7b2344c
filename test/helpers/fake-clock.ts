// A fake clock for the hub's core, which takes its clock and timers by
// injection: time stands still until a test moves it, so lease expiry, retry
// backoff and politeness delays are tested without sleeping. Built on
// @sinonjs/fake-timers' createClock(), which patches no globals: the rest of
// the process (sockets, the test runner, the fixture sites) keeps real time.
//
//   const clock = createFakeClock();
//   const hub = await startTestHub({ clock });   // once the core takes one
//   ...
//   await clock.tickAsync(60_000);               // a minute passes, timers fire in order
import { createClock, type Clock as SinonClock, type TimerId } from '@sinonjs/fake-timers';

// The core's clock (the same shape as server/engine/clock.ts will export; import it from there once it does).
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined): void;
  setInterval(fn: () => void, ms: number): ClockTimer;
  clearInterval(timer: ClockTimer | undefined): void;
}
export interface ClockTimer {
  unref?(): unknown;
}

export interface FakeClock extends Clock {
  /** Moves time on by `ms`, firing due timers synchronously (promise callbacks they start run only afterwards). */
  tick(ms: number): void;
  /** Moves time on by `ms`, letting promise callbacks run before each due timer fires: use this when timers start async work. */
  tickAsync(ms: number): Promise<void>;
  /** Fires timers (and what they schedule) until none is left, moving time as far as needed; throws after 1,000 loops (an interval never ends). */
  runAllAsync(): Promise<void>;
  /** Timers scheduled and not yet fired or cleared. */
  readonly pendingTimers: number;
  /** The underlying @sinonjs/fake-timers clock, for anything else (next(), jump(), setSystemTime()). */
  readonly sinon: SinonClock;
}

/** 2024-01-01T00:00:00Z: a fixed, realistic epoch, so timestamps in a failure are the same on every run. */
export const FAKE_CLOCK_START_MS = Date.UTC(2024, 0, 1);

export function createFakeClock(startMs: number = FAKE_CLOCK_START_MS): FakeClock {
  // In Node, createClock's timers are objects with ref()/unref(), like Node's own.
  const sinon = createClock(startMs, 1000);
  return {
    sinon,
    now: () => sinon.now,
    setTimeout: (fn, ms) => sinon.setTimeout(fn, ms) as ClockTimer,
    clearTimeout: (timer) => {
      if (timer !== undefined) sinon.clearTimeout(timer as TimerId);
    },
    setInterval: (fn, ms) => sinon.setInterval(fn, ms) as ClockTimer,
    clearInterval: (timer) => {
      if (timer !== undefined) sinon.clearInterval(timer as TimerId);
    },
    tick(ms) {
      sinon.tick(ms);
    },
    async tickAsync(ms) {
      await sinon.tickAsync(ms);
    },
    async runAllAsync() {
      await sinon.runAllAsync();
    },
    get pendingTimers() {
      return sinon.countTimers();
    },
  };
}
