// The worker's inbox of pushed pages (shared/worker/page-inbox.ts): a page that
// comes before its job waits for it, a job that starts first waits for its
// page, a dropped lease wakes its job empty-handed, and what is kept is bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageInbox } from '../../../shared/worker/page-inbox.ts';
import type { PushedPage } from '../../../shared/protocol.ts';

const page = (leaseId: string): PushedPage => ({ leaseId, body: new Uint8Array([0x61]), finalUrl: 'http://site.test/', status: 200 });

test('a page pushed before its job starts is kept for it; a job that starts first gets its page when it comes', async () => {
  const inbox = new PageInbox();
  inbox.received([page('early')]);
  assert.deepEqual(await inbox.take('early', 60_000), page('early'));
  assert.equal(inbox.size, 0, 'taken: not kept');
  const waiting = inbox.take('late', 60_000);
  inbox.received([page('late'), { leaseId: 'other', relay: true }]);
  assert.deepEqual(await waiting, page('late'));
  assert.equal(inbox.size, 1);
});

test('a dropped lease (revoked, disconnected) wakes its job with nothing, and its kept page goes', async () => {
  const inbox = new PageInbox();
  const waiting = inbox.take('revoked', 60_000);
  inbox.drop('revoked');
  assert.equal(await waiting, undefined);
  inbox.received([page('kept')]);
  const other = inbox.take('gone', 60_000);
  inbox.clear();
  assert.equal(await other, undefined);
  assert.equal(inbox.size, 0);
});

test('a job whose page does not come gives up waiting (and asks the relay)', async () => {
  const inbox = new PageInbox();
  assert.equal(await inbox.take('never', 1), undefined);
});

test('pages kept for jobs not started are bounded: the oldest go first', async () => {
  const inbox = new PageInbox();
  inbox.received(Array.from({ length: 1030 }, (_, i) => page(`l${i}`)));
  assert.equal(inbox.size, 1024);
  assert.equal(await inbox.take('l0', 1), undefined, 'the oldest went');
  assert.deepEqual(await inbox.take('l1029', 1), page('l1029'));
});
