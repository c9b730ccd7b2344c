import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_START_MS, delayAfterBackoff, delayAfterResponse, isBackoffSignal, smoothLatency, type ThrottleSettings } from '../../../server/politeness/auto-throttle.ts';

const on: ThrottleSettings = { enabled: true, targetConcurrency: 2, maxDelayMs: 10_000 };

test('after a 200 the delay moves halfway towards latency / target concurrency', () => {
  // target 400 / 2 = 200; halfway from 1000 is 600.
  assert.equal(delayAfterResponse(1000, 0, on, 400, 200), 600);
  // From below, it goes straight to the target, never below it.
  assert.equal(delayAfterResponse(0, 0, on, 400, 200), 200);
});

test('a series of fast answers brings a backed-off delay down step by step, to the target', () => {
  let delay = 8000;
  const seen: number[] = [];
  for (let i = 0; i < 20; i++) {
    delay = delayAfterResponse(delay, 0, on, 100, 200);
    seen.push(delay);
  }
  assert.deepEqual(seen.slice(0, 4), [4025, 2037, 1043, 546]);
  assert.equal(seen.at(-1), 50);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! <= seen[i - 1]!);
});

test('a non-200 answer may raise the delay but never lowers it (error pages are fast)', () => {
  assert.equal(delayAfterResponse(1000, 0, on, 10, 404), 1000);
  assert.equal(delayAfterResponse(100, 0, on, 4000, 404), 2000);
});

test('the delay stays between the floor and the ceiling, and the floor wins when it is above the ceiling', () => {
  assert.equal(delayAfterResponse(0, 300, on, 10, 200), 300);
  assert.equal(delayAfterResponse(10_000, 0, on, 60_000, 200), 10_000);
  assert.equal(delayAfterResponse(0, 20_000, on, 10, 200), 20_000, 'a Crawl-delay above the ceiling is honoured');
});

test('a 429, a 503 or a timeout doubles the delay, from at least one second, up to the ceiling', () => {
  assert.equal(delayAfterBackoff(0, 0, on), BACKOFF_START_MS);
  assert.equal(delayAfterBackoff(1500, 0, on), 3000);
  assert.equal(delayAfterBackoff(8000, 0, on), 10_000);
  assert.equal(isBackoffSignal(429, 'RELAY_HTTP_STATUS'), true);
  assert.equal(isBackoffSignal(503, 'RELAY_HTTP_STATUS'), true);
  assert.equal(isBackoffSignal(undefined, 'RELAY_TIMEOUT'), true);
  assert.equal(isBackoffSignal(500, 'RELAY_HTTP_STATUS'), false, 'one broken page is not a slow-down');
  assert.equal(isBackoffSignal(undefined, 'RELAY_CONNECT_FAILED'), false);
});

test('with AutoThrottle off the delay is the floor whatever happens', () => {
  const off = { ...on, enabled: false };
  assert.equal(delayAfterResponse(5000, 250, off, 3000, 200), 250);
  assert.equal(delayAfterBackoff(5000, 250, off), 250);
});

test('the latency shown in stats is a moving average', () => {
  assert.equal(smoothLatency(undefined, 100), 100);
  assert.equal(smoothLatency(100, 200), 130);
});
