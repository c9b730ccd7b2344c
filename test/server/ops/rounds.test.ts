import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rounds } from '../../../server/ops/rounds.ts';

test('kicks during a round fold into exactly one more round; never two rounds at once; after() once it settles', async () => {
  let active = 0;
  let maxActive = 0;
  let rounds = 0;
  let afters = 0;
  let release: () => void = () => {};
  const r = new Rounds(
    async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      rounds++;
      await new Promise<void>((resolve) => (release = resolve));
      active--;
    },
    () => assert.fail('no round fails here'),
    () => afters++,
  );
  assert.equal(r.kick(), true, 'the first kick starts a round');
  assert.equal(r.kick(), false);
  assert.equal(r.kick(), false, 'further kicks are folded in');
  release();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(rounds, 2, 'one more round for all the kicks that came meanwhile');
  assert.equal(afters, 0, 'after() waits for the rounds to settle');
  release();
  await r.idle();
  assert.deepEqual({ rounds, maxActive, afters }, { rounds: 2, maxActive: 1, afters: 1 });
});

test('a failing round is reported and the next kick still runs', async () => {
  const errors: unknown[] = [];
  let calls = 0;
  const r = new Rounds(async () => {
    calls++;
    if (calls === 1) throw new Error('boom');
  }, (error) => errors.push(error));
  r.kick();
  await r.idle();
  r.kick();
  await r.idle();
  assert.equal(calls, 2);
  assert.deepEqual(errors.map((e) => (e as Error).message), ['boom']);
});
