import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnownKeys } from '../../../server/storage/known-keys.ts';

test('known keys are per crawl, forgotten with their crawl or all at once, and never more than the capacity', () => {
  const known = new KnownKeys(3);
  known.add('a', 'k1');
  known.add('a', 'k1');
  known.add('b', 'k1');
  assert.deepEqual([known.has('a', 'k1'), known.has('b', 'k1'), known.has('a', 'k2'), known.count], [true, true, false, 2]);
  known.forget('b');
  assert.deepEqual([known.has('b', 'k1'), known.count], [false, 1]);
  known.add('a', 'k2');
  known.add('b', 'k3');
  known.add('a', 'k4');
  assert.deepEqual([known.has('a', 'k4'), known.has('a', 'k1'), known.count], [true, false, 1], 'emptied when full, then the new key kept');
  known.clear();
  assert.deepEqual([known.has('a', 'k4'), known.count], [false, 0]);
});
