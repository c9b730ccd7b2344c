import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameRegistry } from '../../../server/live/names.ts';

test('the first browser to show a name owns it; the others get numbers, and keep them', () => {
  const names = new NameRegistry();
  assert.equal(names.claim('A', 'alice'), 'alice');
  assert.equal(names.claim('B', 'alice'), 'alice (2)');
  assert.equal(names.claim('C', 'Alice'), 'Alice (3)');
  assert.equal(names.claim('A', 'alice'), 'alice', 'a second tab');
  assert.equal(names.claim('A', 'ALICE'), 'ALICE', 'the owner may change the case of its own name');
  assert.equal(names.claim('D', 'alice (2)'), 'alice (2) (2)', 'a numbered name is a name like any other');
  assert.equal(names.shownFor('B', 'alice'), 'alice (2)');
  assert.equal(names.shownFor('E', 'alice'), undefined, 'a newcomer would be numbered');
  assert.equal(names.shownFor('E', 'bob'), 'bob');
});

test('a name with no validated page is free once its last session leaves; a credited one stays', () => {
  const names = new NameRegistry();
  assert.equal(names.claim('A', 'alice'), 'alice');
  assert.equal(names.claim('A', 'alice'), 'alice');
  names.left('A', 'alice');
  assert.equal(names.claim('B', 'alice'), 'alice (2)', 'one session of A is still there');
  names.left('A', 'alice');
  names.left('B', 'alice (2)');
  assert.equal(names.size, 0, 'nothing is kept for sockets that did nothing');
  assert.equal(names.claim('B', 'alice'), 'alice', 'free again');
  names.credit('B', 'alice');
  names.left('B', 'alice');
  assert.match(names.claim('C', 'alice'), /^alice \(\d+\)$/, 'credited: held while B is away');
  names.left('X', 'alice');
  assert.equal(names.claim('B', 'alice'), 'alice', 'another browser leaving does not free it');
});

test('names read back after a restart: the one with most pages keeps a clashing name, numbered ones come back', () => {
  const names = new NameRegistry();
  names.seed([
    { clientId: 'A', name: 'alice' },
    { clientId: 'B', name: 'alice (2)' },
    { clientId: 'C', name: 'Alice' }, // stored before names were unique
  ]);
  assert.equal(names.claim('B', 'alice'), 'alice (2)', 'B asked for "alice" and gets its number back');
  assert.equal(names.claim('A', 'alice'), 'alice');
  assert.equal(names.claim('C', 'Alice'), 'Alice (3)', 'the clash is settled by pages');
});

test('a crowd of one name is numbered without searching from 2 each time', () => {
  // Searched from 2 each time, this would be some 200 million skeletons.
  const names = new NameRegistry();
  for (let i = 0; i < 20_000; i++) names.claim(`client-${i}`, 'alice');
  assert.equal(names.claim('late', 'alice'), 'alice (20001)');
});
