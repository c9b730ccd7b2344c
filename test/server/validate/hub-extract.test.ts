// The hub's extraction thread (server/validate/hub-extract.ts) starts on the
// first job, ends after idleMs without one (its isolate and parser are tens of
// MB of the hub's RSS), and starts again on the next job. The idle timer runs
// on a fake clock; the thread and its extractions are real.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubExtractor } from '../../../server/validate/hub-extract.ts';
import { assertSpec } from '../../../shared/spec/schema.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';

const spec = assertSpec({ name: 'idle', startUrls: ['http://127.0.0.1:1/'], items: [{ selector: 'main', fields: { title: 'h1::text' } }] });
const page = (title: string) => `<html><body><main><h1>${title}</h1><a href="/next">next</a></main></body></html>`;
const IDLE_MS = 10_000;

test('the thread ends after idleMs without a job and starts again on the next one', async () => {
  const clock = createFakeClock();
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock });
  try {
    assert.equal(hub.threadRunning, false, 'started on demand, not before');
    const first = await hub.extract(page('one'), spec, 'http://127.0.0.1:1/', 0);
    assert.deepEqual(first.items, [{ type: 'item', data: { title: 'one' } }]);
    assert.equal(hub.threadRunning, true);
    clock.tick(IDLE_MS - 1);
    assert.equal(hub.threadRunning, true);
    clock.tick(1);
    assert.equal(hub.threadRunning, false, 'ended after idleMs without a job');
    const second = await hub.extract(page('two'), spec, 'http://127.0.0.1:1/', 0);
    assert.deepEqual(second.items, [{ type: 'item', data: { title: 'two' } }]);
    assert.equal(hub.threadStarts, 2);
  } finally {
    hub.close();
  }
});

test('a job before idleMs keeps the thread, and the idle time counts from the last job', async () => {
  const clock = createFakeClock();
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock });
  try {
    await hub.extract(page('one'), spec, 'http://127.0.0.1:1/', 0);
    clock.tick(IDLE_MS - 1);
    await hub.extract(page('two'), spec, 'http://127.0.0.1:1/', 0);
    clock.tick(IDLE_MS - 1);
    assert.equal(hub.threadRunning, true);
    assert.equal(hub.threadStarts, 1);
    clock.tick(1);
    assert.equal(hub.threadRunning, false);
  } finally {
    hub.close();
  }
});

test('while a job is in the thread, the idle time does not end it', async () => {
  const clock = createFakeClock();
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock });
  try {
    await hub.extract(page('one'), spec, 'http://127.0.0.1:1/', 0);
    const running = hub.extract(page('two'), spec, 'http://127.0.0.1:1/', 0);
    // The timer armed after the first job was cleared by the second.
    clock.tick(IDLE_MS * 2);
    assert.equal(hub.threadRunning, true);
    assert.deepEqual((await running).items, [{ type: 'item', data: { title: 'two' } }]);
    assert.equal(clock.pendingTimers, 1, 'armed again once the thread has nothing to do');
  } finally {
    hub.close();
  }
  assert.equal(clock.pendingTimers, 0, 'close() leaves no timer behind');
});
