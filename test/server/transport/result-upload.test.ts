// Huge messages: the socket reads at most transport.maxMessageBytes per message
// (a larger one closes the connection unread); a result larger than that goes
// through POST /results/:leaseId, authenticated like the relay, read as a
// stream up to transport.maxUploadBytes, checked and taken like the socket's.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { quotesSpec, startTestHub, startWorkers, waitForCrawlEnd, TEST_ADMIN_TOKEN } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';
import { BOARD_NAMESPACE, PROTOCOL_VERSION, RESULT_UPLOAD_PATH, WORKER_SECRET_HEADER } from '../../../shared/protocol.ts';
import { io } from 'socket.io-client';
import { extractHtml } from '../../../server/extract/cheerio.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
const BIG_ITEMS = 6000;

before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 2 }));
  // One page whose result is ~1.5 MB of JSON: more than one socket message may carry.
  const quote = (i: number) =>
    `<div class="quote"><span class="text">${`Quote number ${i} says something worth keeping. `.repeat(4)}</span><span><small>Author ${i}</small></span></div>`;
  site.setPage('/big/', { body: `<!doctype html><html><body>${Array.from({ length: BIG_ITEMS }, (_, i) => quote(i)).join('')}</body></html>` });
});
after(() => site.close());

async function adminAnswers(url: string): Promise<void> {
  const res = await fetch(`${url}/api/crawls`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
  assert.equal(res.status, 200);
}

async function snapshot(hub: Awaited<ReturnType<typeof startTestHub>>, crawlId: string) {
  return { items: await hub.storage.countItems(crawlId), counts: await hub.storage.countByState(crawlId) };
}

test('the welcome tells workers the socket message limit', async () => {
  const hub = await startTestHub({ transport: { maxMessageBytes: 256 * 1024 } });
  try {
    const w = await connectRawWorker(hub.url);
    assert.equal(w.welcome.maxMessageBytes, 256 * 1024);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('a 2 MiB socket message is dropped unread: the connection closes, nothing is stored, the hub answers', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await w.waitForLeases(1);
    await (await w.relay(lease!.id)).text();
    const before = await snapshot(hub, crawl.id);
    let handled = 0;
    hub.io.of('/').sockets.forEach((s) => s.onAny(() => handled++));
    const closed = new Promise<string>((resolve) => w.socket.once('disconnect', resolve));
    const huge = { leaseId: lease!.id, items: [{ type: 'quote', data: { text: 'x'.repeat(2 * 1024 * 1024) } }], links: [] };
    w.socket.emit('result', huge as never, () => undefined);
    assert.equal(await closed, 'transport close');
    assert.equal(handled, 0, 'no handler saw the message');
    await adminAnswers(hub.url);
    assert.deepEqual(await snapshot(hub, crawl.id), before);
  } finally {
    await hub.cleanup();
  }
});

test('the anonymous board reads no message over the limit either', async () => {
  const hub = await startTestHub();
  try {
    const board = io(`${hub.url}${BOARD_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { protocolVersion: PROTOCOL_VERSION } });
    await new Promise<void>((resolve, reject) => {
      board.once('connect', resolve);
      board.once('connect_error', reject);
    });
    const closed = new Promise<string>((resolve) => board.once('disconnect', resolve));
    board.emit('follow', { id: 'x'.repeat(2 * 1024 * 1024) }, () => undefined);
    assert.equal(await closed, 'transport close');
    await adminAnswers(hub.url);
  } finally {
    await hub.cleanup();
  }
});

test('a result larger than one message goes through the upload and is recorded', async () => {
  const hub = await startTestHub({ validation: { replicaWaitMs: 0 } });
  try {
    const uploads: string[] = [];
    hub.httpServer.prependListener('request', (req) => {
      if (req.method === 'POST' && req.url?.startsWith(`${RESULT_UPLOAD_PATH}/`)) uploads.push(req.url);
    });
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { startUrls: [site.url('/big/')], follow: [] }));
    const [worker] = await startWorkers(hub.url, 1);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 1);
    assert.equal(await hub.storage.countItems(crawl.id), BIG_ITEMS);
    assert.equal(uploads.length, 1, 'the result came by upload, not by socket');
    assert.equal(worker!.loop.stats.pages, 1);
    await worker!.stop();
  } finally {
    await hub.cleanup();
  }
});

test('small results still go by socket', async () => {
  const hub = await startTestHub({ validation: { replicaWaitMs: 0 } });
  try {
    let uploads = 0;
    hub.httpServer.prependListener('request', (req) => {
      if (req.method === 'POST') uploads++;
    });
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin));
    const [worker] = await startWorkers(hub.url, 1);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 2);
    assert.equal(uploads, 0);
    await worker!.stop();
  } finally {
    await hub.cleanup();
  }
});

/** Streams `total` bytes of a JSON-looking body without a Content-Length, until the hub answers. */
function streamUpload(url: string, leaseId: string, secret: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${RESULT_UPLOAD_PATH}/${encodeURIComponent(leaseId)}`, {
      method: 'POST',
      headers: { [WORKER_SECRET_HEADER]: secret, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // The hub may close the connection while we still write: only the answer matters.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    req.write('{"leaseId":"' + leaseId + '","items":[],"links":[],"junk":"');
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end('"}');
    };
    pump();
  });
}

test('an upload over the cap gets 413 RESULT_TOO_LARGE, whether declared or streamed, and nothing changes', async () => {
  const cap = 512 * 1024;
  const hub = await startTestHub({ transport: { maxUploadBytes: cap } });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await w.waitForLeases(1);
    await (await w.relay(lease!.id)).text();
    const before = await snapshot(hub, crawl.id);

    const declared = await w.upload(lease!.id, { leaseId: lease!.id, items: [{ type: 'quote', data: { text: 'x'.repeat(cap) } }], links: [] });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error: { code: string } }).error.code, 'RESULT_TOO_LARGE');

    const streamed = await streamUpload(hub.url, lease!.id, w.welcome.workerSecret, 8 * cap);
    assert.equal(streamed.status, 413);
    assert.equal((JSON.parse(streamed.body) as { error: { code: string } }).error.code, 'RESULT_TOO_LARGE');

    assert.deepEqual(await snapshot(hub, crawl.id), before);
    await adminAnswers(hub.url);
    // The lease still stands: a result within the cap is taken.
    const ok = await w.upload(lease!.id, { leaseId: lease!.id, items: [], links: [] });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { ok: boolean }).ok, true);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('an upload is refused with the same codes as the socket: not yours, unknown, not fetched, no secret, bad body', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    const mine = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await mine.waitForLeases(1);
    const other = await connectRawWorker(hub.url, { capacity: 0 });
    const before = await snapshot(hub, crawl.id);
    const empty = (leaseId: string) => ({ leaseId, items: [], links: [] });
    const code = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code });
    const socketCode = async (w: typeof mine, payload: unknown) => {
      const reply = (await w.socket.emitWithAck('result', payload as never)) as { ok: boolean; error?: { code: string } };
      return reply.error?.code;
    };

    // Not fetched through the relay yet.
    assert.deepEqual(await code(await mine.upload(lease!.id, empty(lease!.id))), { status: 409, code: 'LEASE_NOT_FETCHED' });
    assert.equal(await socketCode(mine, empty(lease!.id)), 'LEASE_NOT_FETCHED');
    await (await mine.relay(lease!.id)).text();

    // Another worker's lease.
    assert.deepEqual(await code(await other.upload(lease!.id, empty(lease!.id))), { status: 403, code: 'LEASE_NOT_YOURS' });
    assert.equal(await socketCode(other, empty(lease!.id)), 'LEASE_NOT_YOURS');
    // No such lease.
    assert.deepEqual(await code(await mine.upload('no-such-lease', empty('no-such-lease'))), { status: 404, code: 'LEASE_UNKNOWN' });
    assert.equal(await socketCode(mine, empty('no-such-lease')), 'LEASE_UNKNOWN');
    // No worker secret, or a wrong one.
    assert.deepEqual(await code(await mine.upload(lease!.id, empty(lease!.id), '')), { status: 401, code: 'LEASE_NOT_YOURS' });
    assert.deepEqual(await code(await mine.upload(lease!.id, empty(lease!.id), 'wrong')), { status: 401, code: 'LEASE_NOT_YOURS' });
    // The body names another lease than the path.
    assert.deepEqual(await code(await mine.upload(lease!.id, empty('other'))), { status: 400, code: 'BAD_REQUEST' });
    // Bad bodies: the socket's schema decides.
    assert.deepEqual(await code(await mine.upload(lease!.id, { leaseId: lease!.id, items: 'x', links: [] })), { status: 400, code: 'BAD_REQUEST' });
    assert.deepEqual(await code(await mine.upload(lease!.id, '{"leaseId":')), { status: 400, code: 'BAD_JSON' });
    assert.deepEqual(
      await code(await mine.upload(lease!.id, `{"leaseId":"${lease!.id}","items":[{"type":"quote","data":{"__proto__":"x"}}],"links":[]}`)),
      { status: 400, code: 'BAD_REQUEST' },
    );
    assert.equal(({} as Record<string, unknown>).x, undefined);
    const wrongType = await fetch(`${hub.url}${RESULT_UPLOAD_PATH}/${lease!.id}`, {
      method: 'POST',
      headers: { [WORKER_SECRET_HEADER]: mine.welcome.workerSecret, 'content-type': 'text/plain' },
      body: JSON.stringify(empty(lease!.id)),
    });
    assert.deepEqual(await code(wrongType), { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    // The spec's checks: an item type the crawl does not have.
    assert.deepEqual(await code(await mine.upload(lease!.id, { leaseId: lease!.id, items: [{ type: 'nope', data: { a: 'b' } }], links: [] })), {
      status: 400,
      code: 'RESULT_INVALID',
    });
    assert.deepEqual(await snapshot(hub, crawl.id), before);
    mine.close();
    other.close();
  } finally {
    await hub.cleanup();
  }
});

test('an accepted upload answers like the socket, and sending it again is a duplicate', async () => {
  const hub = await startTestHub({ validation: { replicaWaitMs: 0 } });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { follow: [] }));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await w.waitForLeases(1);
    const html = await (await w.relay(lease!.id)).text();
    // An honest result, as the Node worker would make it.
    const output = extractHtml(html, crawl.spec, lease!.url, { depth: lease!.depth });
    const payload = { leaseId: lease!.id, items: output.items, links: output.links };
    const first = (await (await w.upload(lease!.id, payload)).json()) as { ok: boolean; duplicate: boolean };
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.equal(first.duplicate, false);
    const again = (await (await w.upload(lease!.id, payload)).json()) as { ok: boolean; duplicate: boolean };
    assert.deepEqual({ ok: again.ok, duplicate: again.duplicate }, { ok: true, duplicate: true });
    await waitForCrawlEnd(hub, crawl.id);
    assert.equal(await hub.storage.countItems(crawl.id), 10);
    w.close();
  } finally {
    await hub.cleanup();
  }
});
