import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, operatorToken } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { PROTOCOL_VERSION } from '../../../shared/protocol.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 3 }));
});
after(() => site.close());

function connectError(url: string, auth: unknown): Promise<{ message: string; data?: { code: string } }> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, auth: auth as Record<string, unknown> });
    socket.on('connect', () => {
      socket.disconnect();
      reject(new Error('connected'));
    });
    socket.on('connect_error', (error) => {
      socket.disconnect();
      resolve(error as never);
    });
  });
}

test('a worker with another protocol version is refused at connect with PROTOCOL_MISMATCH', async () => {
  const hub = await startTestHub();
  try {
    const error = await connectError(hub.url, { protocolVersion: PROTOCOL_VERSION + 1, kind: 'tab', name: 'x', clientId: 'a'.repeat(16), capacity: 1 });
    assert.equal(error.data?.code, 'PROTOCOL_MISMATCH');
    assert.match(error.message, /reload/);
  } finally {
    await hub.cleanup();
  }
});

test('a bad handshake is refused with the field at fault', async () => {
  const hub = await startTestHub();
  try {
    const cases: [unknown, RegExp][] = [
      [{ protocolVersion: PROTOCOL_VERSION, kind: 'robot', name: 'x', clientId: 'a'.repeat(16), capacity: 1 }, /kind/],
      [{ protocolVersion: PROTOCOL_VERSION, kind: 'tab', name: 42, clientId: 'a'.repeat(16), capacity: 1 }, /name/],
      [{ protocolVersion: PROTOCOL_VERSION, kind: 'tab', name: 'x', clientId: 'short', capacity: 1 }, /clientId/],
      [{ protocolVersion: PROTOCOL_VERSION, kind: 'tab', name: 'x', clientId: 'a'.repeat(16), capacity: 10_000 }, /capacity/],
    ];
    for (const [auth, reason] of cases) {
      const error = await connectError(hub.url, auth);
      assert.equal(error.data?.code, 'BAD_REQUEST');
      assert.match(error.message, reason);
    }
  } finally {
    await hub.cleanup();
  }
});

test('malformed and hostile events each get an error, change no stored data, and the hub stays up', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await w.waitForLeases(1);
    await (await w.relay(lease!.id)).text();
    const before = { items: (await hub.storage.countItems(crawl.id)), counts: (await hub.storage.countByState(crawl.id)) };
    const send = (event: string, payload: unknown) =>
      (w.socket as unknown as { timeout(ms: number): { emitWithAck(e: string, p: unknown): Promise<{ ok: boolean; error?: { code: string; message: string } }> } })
        .timeout(5000)
        .emitWithAck(event, payload);
    const hostile: [string, unknown, string][] = [
      ['result', null, 'BAD_REQUEST'],
      ['result', 'a string', 'BAD_REQUEST'],
      ['result', { leaseId: lease!.id }, 'BAD_REQUEST'],
      ['result', { leaseId: 42, items: [], links: [] }, 'BAD_REQUEST'],
      ['result', { leaseId: lease!.id, items: 'x', links: [] }, 'BAD_REQUEST'],
      ['result', { leaseId: lease!.id, items: [], links: Array.from({ length: 10_001 }, () => 'http://a/') }, 'BAD_REQUEST'],
      ['result', { leaseId: lease!.id, items: Array.from({ length: 10_001 }, () => ({ type: 'item', data: {} })), links: [] }, 'BAD_REQUEST'],
      ['result', JSON.parse(`{"leaseId":"${lease!.id}","items":[],"links":[],"__proto__":{"polluted":true}}`), 'BAD_REQUEST'],
      ['result', { leaseId: lease!.id, items: [{ type: 'item', data: JSON.parse('{"__proto__":"x"}') }], links: [] }, 'BAD_REQUEST'],
      ['capacity', { capacity: -1 }, 'BAD_REQUEST'],
      ['capacity', { capacity: '4' }, 'BAD_REQUEST'],
      ['spec:get', { crawlId: 'missing' }, 'CRAWL_UNKNOWN'],
      ['failure', { leaseId: 'nope', code: 'EXTRACT_FAILED', message: 'y' }, 'LEASE_UNKNOWN'],
      // Only the catalogue's worker failure codes (shared/errors.ts) are taken.
      ['failure', { leaseId: lease!.id, code: 'X', message: 'y' }, 'BAD_REQUEST'],
      ['release', { leaseIds: 'all' }, 'BAD_REQUEST'],
      ['no-such-event', { a: 1 }, 'UNKNOWN_EVENT'],
      ['constructor', {}, 'UNKNOWN_EVENT'],
    ];
    for (const [event, payload, code] of hostile) {
      const reply = await send(event, payload);
      assert.equal(reply.ok, false, `${event} ${JSON.stringify(payload)?.slice(0, 80)}`);
      assert.equal(reply.error?.code, code, `${event}: ${reply.error?.message}`);
      assert.equal(typeof reply.error?.message, 'string');
    }
    // An event without an ack gets a hub:error, not a crash.
    const hubError = new Promise<{ code: string }>((resolve) => w.socket.once('hub:error', resolve));
    (w.socket as unknown as { emit(e: string, p: unknown): void }).emit('result', { leaseId: lease!.id, items: [], links: [] });
    assert.equal((await hubError).code, 'BAD_REQUEST');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    assert.equal((await hub.storage.countItems(crawl.id)), before.items);
    assert.deepEqual((await hub.storage.countByState(crawl.id)), before.counts);
    // A well-formed result with an unknown item type is refused (a strike). Its page is then
    // decided without it (the hub's own opinion, docs/trust.md), so it is sent last: what is
    // stored after it depends on how soon the hub's extraction ends, not on the hostile event.
    const invalid = await send('result', { leaseId: lease!.id, items: [{ type: 'nope', data: { text: 'x' } }], links: [] });
    assert.equal(invalid.error?.code, 'RESULT_INVALID');
    w.close();
    // The page is decided by the hub, or goes back to the queue; either way the crawl finishes with it once.
    const [worker] = await startWorkers(hub.url, 1);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.equal((await hub.storage.countItems(crawl.id)), 10);
    await worker!.stop();
  } finally {
    await hub.cleanup();
  }
});

test('links a worker sends that the spec would not follow are dropped, not queued', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [{ selector: 'li.next a::attr(href)', allow: ['**/page/*/'] }] }));
    // An operator's worker: believed without a check, so only the follow rules stand between its links and the queue.
    const w = await connectRawWorker(hub.url, { capacity: 1, token: await operatorToken(hub) });
    const [lease] = await w.waitForLeases(1);
    await (await w.relay(lease!.id)).text();
    const reply = await w.socket.emitWithAck('result', {
      leaseId: lease!.id,
      items: [],
      links: [`${site.origin}/page/2/`, 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd', 'javascript:alert(1)', `${site.origin}/author/x`, `${site.origin}/page/2/#frag`],
    });
    assert.equal(reply.ok, true);
    const rows = hub.storage.db.prepare('SELECT url FROM requests WHERE crawl_id = ? ORDER BY seq').all(crawl.id) as { url: string }[];
    assert.deepEqual(rows.map((r) => r.url), [`${site.origin}/page/1/`, `${site.origin}/page/2/`]);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('an ordinary contributor\'s links that do not occur in the served page are refused (RESULT_REFUSED), and none is queued', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { limits: { maxPages: 1 } }));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await w.waitForLeases(1);
    await (await w.relay(lease!.id)).text();
    const reply = await w.socket.emitWithAck('result', { leaseId: lease!.id, items: [], links: [`${site.origin}/page/2/`, `${site.origin}/page/77/`] });
    assert.equal(reply.ok, false);
    assert.equal(!reply.ok && reply.error.code, 'RESULT_REFUSED');
    assert.match(!reply.ok ? reply.error.message : '', /page\/77/);
    // The page is decided without it (the hub's own extraction): page 2 is queued because the page links to it, page 77 never.
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.deepEqual([summary.pagesDone, summary.items, summary.validation.rejected, summary.validation.checked], [1, 10, 1, 1]);
    const urls = (hub.storage.db.prepare('SELECT url FROM requests WHERE crawl_id = ?').all(crawl.id) as { url: string }[]).map((r) => r.url);
    assert.ok(urls.includes(`${site.origin}/page/2/`));
    assert.ok(!urls.includes(`${site.origin}/page/77/`));
    w.close();
  } finally {
    await hub.cleanup();
  }
});
