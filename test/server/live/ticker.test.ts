// The live feeds' ticker keeps its schedule (issue 11): a tick that ran late
// (a busy event loop) does not push the later ones back, as setInterval did;
// and a feed's prompt runs within promptMs of the first ask, at most once per
// promptMs. Fake time; a late tick is a jump of the fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ticker } from '../../../server/live/ticker.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';

test('ticks stay due every interval from the start, however late one ran', () => {
  const clock = createFakeClock(0);
  const at: number[] = [];
  const ticker = new Ticker(() => at.push(clock.now()), { intervalMs: 1000, clock });
  clock.tick(1000);
  assert.deepEqual(at, [1000]);
  // A busy loop: the tick due at 2000 runs at 2400 (jump fires what came due at the time jumped to).
  clock.sinon.jump(1400);
  clock.tick(600);
  assert.deepEqual(at, [1000, 2400, 3000], 'the next is due at 3000, not 3400');
  // Later than a whole interval: the ticks missed are skipped, not bunched.
  clock.sinon.jump(3500);
  clock.tick(500);
  assert.deepEqual(at, [1000, 2400, 3000, 6500, 7000]);
  ticker.close();
  clock.tick(10_000);
  assert.equal(at.length, 5, 'closed: no more ticks');
});

test('soon() runs the prompt within promptMs, at most once per promptMs however often it is asked', () => {
  const clock = createFakeClock(0);
  let prompts = 0;
  const ticker = new Ticker(() => {}, { intervalMs: 0, clock, prompt: () => prompts++, promptMs: 250 });
  ticker.soon();
  ticker.soon();
  clock.tick(0);
  assert.equal(prompts, 1, 'the first ask after a quiet spell: at once');
  clock.tick(100);
  for (let i = 0; i < 100; i++) ticker.soon();
  clock.tick(149);
  assert.equal(prompts, 1);
  clock.tick(1);
  assert.equal(prompts, 2, '250 ms after the first, one prompt for all those asks');
  clock.tick(10_000);
  assert.equal(prompts, 2, 'nothing asked, nothing run');
  ticker.soon();
  ticker.close();
  clock.tick(1000);
  assert.equal(prompts, 2, 'closed: a pending prompt does not run');
});
