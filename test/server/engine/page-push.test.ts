// The hub's page pusher (server/engine/page-push.ts) on its own: pages ready in
// one turn share a message, within the message bound; a lease that ends before
// its message goes out is neither pushed nor counted as served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PagePusher } from '../../../server/engine/page-push.ts';
import type { LeaseRecord, ServedPage } from '../../../server/lease/leases.ts';
import type { WorkerSession } from '../../../server/lease/workers.ts';
import type { PushedPage } from '../../../shared/protocol.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options = { maxMessageBytes: 64 * 1024, maxPendingBytesPerWorker: 1024 * 1024 }) {
  const live = new Set<LeaseRecord>();
  const messages: PushedPage[][] = [];
  const worker = { id: 'w1', pushPages: (pages: PushedPage[]) => messages.push(pages) } as unknown as WorkerSession;
  const pusher = new PagePusher(options, (record) => live.has(record));
  const lease = (id: string): LeaseRecord => {
    const record = { id, crawl: { status: 'running' }, committing: false, fetched: undefined } as unknown as LeaseRecord;
    live.add(record);
    return record;
  };
  const page = (bytes: number): ServedPage => ({
    fetched: { finalUrl: 'http://site.test/', status: 200, contentHash: 'h', contentType: 'text/html', fetchedAt: 0 },
    payload: Buffer.alloc(bytes, 0x61),
    charset: 'utf-8',
  });
  return { live, messages, worker, pusher, lease, page };
}

test('pages ready in one turn go in one message; a lease that ended before it went is not pushed nor served', async () => {
  const { live, messages, worker, pusher, lease, page } = setup();
  const [a, b, c] = [lease('a'), lease('b'), lease('c')];
  pusher.ready(worker, a, page(100));
  pusher.ready(worker, b, page(100));
  pusher.ready(worker, c, page(100));
  live.delete(b); // revoked before the turn's message went out
  assert.equal(messages.length, 0, 'nothing goes before the turn ends');
  await nextTurn();
  assert.deepEqual(messages.map((m) => m.map((p) => p.leaseId)), [['a', 'c']]);
  assert.ok(a.fetched && c.fetched, 'pushed: served');
  assert.equal(b.fetched, undefined, 'not pushed: not served');
  assert.equal(pusher.pendingBytes(worker) > 0, true);
  live.delete(a);
  live.delete(c);
  assert.equal(pusher.pendingBytes(worker), 0, 'answered leases count no more');
});

test('a message stays within maxMessageBytes: pages that would overflow it go in the next one', async () => {
  const { messages, worker, pusher, lease, page } = setup({ maxMessageBytes: 64 * 1024, maxPendingBytesPerWorker: 1024 * 1024 });
  for (const id of ['a', 'b', 'c']) pusher.ready(worker, lease(id), page(30 * 1024));
  await nextTurn();
  assert.deepEqual(messages.map((m) => m.map((p) => p.leaseId)), [['a', 'b'], ['c']]);
});

test('a worker that does not take pushes is pushed nothing', async () => {
  const { messages, pusher, lease, page } = setup();
  pusher.ready({ id: 'w2' } as unknown as WorkerSession, lease('a'), page(10));
  pusher.failed({ id: 'w2' } as unknown as WorkerSession, lease('b'), { code: 'RELAY_TIMEOUT', message: 'slow', retryable: true });
  await nextTurn();
  assert.deepEqual(messages, []);
});
