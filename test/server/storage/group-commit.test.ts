// The SQLite group commit's window (server/storage/sqlite/group-commit.ts), on fake time:
// writes that come right after a commit share the next transaction; a lone write is never held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { GroupCommit } from '../../../server/storage/sqlite/group-commit.ts';
import { createFakeClock } from '../../helpers/fake-clock.ts';

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('after a commit, writes wait out the window and commit together; a lone write, a full batch and flush() go at once', async () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (x INTEGER)');
  const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
  const clock = createFakeClock();
  const commits = new GroupCommit(db, () => {}, { windowMs: 10, maxBatch: 3, timer: clock });
  const sizes: number[] = [];
  commits.observer = (_seconds, writes) => sizes.push(writes);
  const rows = () => Number((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n);
  const settled: number[] = [];
  const write = (x: number) => commits.run(() => insert.run(x)).then(() => settled.push(x));

  await write(1);
  assert.deepEqual(sizes, [1], 'the first write, after a quiet spell, commits at the end of its turn');

  const second = write(2);
  await turn();
  const third = write(3);
  await turn();
  await turn();
  assert.deepEqual([rows(), settled], [1, [1]], 'within the window: not written, nobody answered');
  clock.tick(10);
  await Promise.all([second, third]);
  assert.deepEqual(sizes, [1, 2], 'both in one transaction, at the window\'s end');

  await Promise.all([write(4), write(5), write(6)]);
  assert.deepEqual(sizes, [1, 2, 3], 'a full batch does not wait for the window');

  clock.tick(100);
  await write(7);
  assert.deepEqual(sizes, [1, 2, 3, 1], 'after a quiet spell, at once again');

  const eighth = write(8);
  commits.flush();
  await eighth;
  assert.deepEqual([sizes, rows()], [[1, 2, 3, 1, 1], 8], 'flush() commits what waits');
  assert.equal(clock.pendingTimers, 0, 'no window left open');
  db.close();
});
