// The hub's own extraction (server/validate/hub-extract.ts): pages up to
// inlineMaxChars are parsed on the main thread, bigger ones on a worker thread
// that starts on the first of them, ends after idleMs without one (its isolate
// and parser are tens of MB of the hub's RSS), and starts again on the next.
// The idle timer runs on a fake clock; the thread and its extractions are real.
// The idle cases send every page to the thread (inlineMaxChars: 0).
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
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock, inlineMaxChars: 0 });
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
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock, inlineMaxChars: 0 });
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
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock, inlineMaxChars: 0 });
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

test('a page up to inlineMaxChars is extracted on the main thread, a bigger one on the thread, with the same result', async () => {
  const clock = createFakeClock();
  const small = page('small');
  const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock, inlineMaxChars: small.length });
  try {
    const inline = await hub.extract(small, spec, 'http://127.0.0.1:1/', 0);
    assert.equal(hub.threadStarts, 0, 'no thread for a small page');
    assert.equal(clock.pendingTimers, 0);
    // One character more: the thread's.
    const threaded = await hub.extract(`${small} `, spec, 'http://127.0.0.1:1/', 0);
    assert.equal(hub.threadStarts, 1);
    assert.deepEqual(threaded, inline);
    assert.deepEqual(inline.items, [{ type: 'item', data: { title: 'small' } }]);
    assert.equal(hub.runs, 2);
  } finally {
    hub.close();
  }
});

test('a page the engine refuses fails the same way inline as on the thread', async () => {
  const bad = { ...spec, items: [{ selector: 'main', fields: { title: 'h1::nonsense(' } }] } as unknown as typeof spec;
  for (const inlineMaxChars of [Number.MAX_SAFE_INTEGER, 0]) {
    const hub = new HubExtractor(30_000, { idleMs: IDLE_MS, clock: createFakeClock(), inlineMaxChars });
    try {
      await assert.rejects(hub.extract(page('x'), bad, 'http://127.0.0.1:1/', 0), Error);
    } finally {
      hub.close();
    }
  }
});
