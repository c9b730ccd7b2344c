// The crowd bench's arithmetic (bench/swarm.ts): its two processes must get
// disjoint index ranges (both once got index 0: the same addresses and
// clientIds, the second's sockets refused and the bench silent), and the
// board's latency pairs the k-th result sent with the board first showing k pages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boardLatencies, swarmRanges } from '../../bench/swarm.ts';

test('the two swarm processes get disjoint index ranges covering every socket', () => {
  assert.deepEqual(swarmRanges(2000), [{ first: 0, n: 1000 }, { first: 1000, n: 1000 }]);
  assert.deepEqual(swarmRanges(5), [{ first: 0, n: 3 }, { first: 3, n: 2 }]);
  assert.deepEqual(swarmRanges(1), [{ first: 0, n: 1 }]);
});

test('board latency: each result to the first board update that counts it', () => {
  const sent = [1000, 1100, 1200, 1300];
  const shown = [
    { at: 1500, pagesDone: 2 },
    { at: 2500, pagesDone: 3 },
    { at: 3500, pagesDone: 4 },
  ];
  assert.deepEqual(boardLatencies(sent, shown), [500, 400, 1300, 2200]);
});

test('board latency: results the board never showed are left out', () => {
  assert.deepEqual(boardLatencies([10, 20, 30], [{ at: 50, pagesDone: 1 }]), [40]);
});
