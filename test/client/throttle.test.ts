// The contributor page's panel refresh (client/src/lib/throttle.ts): however
// many state changes a fast crawl makes, the panel is synced at most once per
// SYNC_EVERY_MS. Fake timers: no waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import FakeTimers from '@sinonjs/fake-timers';
import { Throttle } from '../../client/src/lib/throttle.ts';

test('a thousand changes a second render the panel four times a second, and the last change is always shown', () => {
  const clock = FakeTimers.withGlobal(globalThis).install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  try {
    let renders = 0;
    let shown = -1;
    let state = 0;
    const throttle = new Throttle(() => {
      renders++;
      shown = state;
    }, 250);
    // 1000 changes over one second (a tab at 250 pages/s changes state ~4 times per page).
    for (let ms = 0; ms < 1000; ms++) {
      state = ms;
      throttle.request();
      clock.tick(1);
    }
    assert.equal(renders, 4, 'four renders in the second');
    clock.tick(250);
    assert.equal(renders, 4, 'no render without a change');
    assert.equal(shown, 999, 'the last change is on the panel');
    state = 1000;
    throttle.request();
    throttle.request();
    assert.ok(throttle.pending);
    throttle.cancel();
    clock.tick(1000);
    assert.equal(renders, 4, 'a cancelled render does not happen');
  } finally {
    clock.uninstall();
  }
});
