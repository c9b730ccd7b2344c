// Waiting in tests: for a condition (polled, with a deadline) rather than for a
// fixed time, and a time factor for the fault tests that must wait in real time.
import { setTimeout as delay } from 'node:timers/promises';

/**
 * How much of their real-world durations the fault tests wait (a site outage,
 * a heartbeat timeout, a retry backoff): CROWDCRAWL_TEST_TIME_FACTOR, default
 * 0.2. Set it to 1 to run them at the durations the product is tuned for.
 */
export const TIME_FACTOR = parseTimeFactor(process.env.CROWDCRAWL_TEST_TIME_FACTOR);

function parseTimeFactor(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0.2;
  const factor = Number(raw);
  if (!Number.isFinite(factor) || factor <= 0 || factor > 10) throw new Error(`CROWDCRAWL_TEST_TIME_FACTOR must be a number in (0, 10], not ${JSON.stringify(raw)}`);
  return factor;
}

/** `ms` scaled by the time factor, rounded, and at least `min` (default 1). */
export function scaled(ms: number, min = 1): number {
  return Math.max(min, Math.round(ms * TIME_FACTOR));
}

export const sleep = (ms: number): Promise<void> => delay(ms);

export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Poll this often (default 10 ms). */
  intervalMs?: number;
  /** What was awaited, for the error (a function is called at the deadline, to report the state then). */
  message?: string | (() => string);
}

/**
 * Polls `condition` until it returns a truthy value and resolves with that
 * value; rejects when `timeoutMs` passes first (or when the condition throws).
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 10, message = 'the condition' } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (performance.now() >= deadline) {
      const what = typeof message === 'function' ? message() : message;
      throw new Error(`waitFor: ${what} did not hold within ${timeoutMs} ms`);
    }
    await delay(Math.min(intervalMs, Math.max(0, deadline - performance.now())));
  }
}
