import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { quotesSpec, startTestHub, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker } from '../../helpers/raw-worker.ts';

// A tiny site: a page, a 404, a redirect to a private address, a PDF.
let server: HttpServer;
let origin: string;
before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/page') {
      res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' });
      res.end(Buffer.from('<html><body><p>caf\xe9</p></body></html>', 'latin1'));
    } else if (req.url === '/to-private') {
      res.writeHead(302, { location: 'http://10.1.2.3/' });
      res.end();
    } else if (req.url === '/pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      res.end('%PDF-1.4');
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const spec = (paths: string[]) => quotesSpec(origin, { startUrls: paths.map((p) => `${origin}${p}`), follow: [] });

test('the relay serves a leased page decoded to UTF-8 with its final URL, status and content hash', async () => {
  const hub = await startTestHub();
  try {
    await hub.engine.createCrawl(spec(['/page']));
    const w = await connectRawWorker(hub.url, { capacity: 1 });
    const [lease] = await w.waitForLeases(1);
    const response = await w.relay(lease!.id);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(response.headers.get('x-crowdcrawl-final-url'), `${origin}/page`);
    assert.equal(response.headers.get('x-crowdcrawl-status'), '200');
    assert.match(response.headers.get('x-crowdcrawl-content-hash') ?? '', /^[0-9a-f]{64}$/);
    assert.match(await response.text(), /café/);
    w.close();
  } finally {
    await hub.cleanup();
  }
});

test('the relay refuses a request without the worker secret, an unknown lease, and a lease of another worker', async () => {
  const hub = await startTestHub();
  try {
    await hub.engine.createCrawl(spec(['/page']));
    const a = await connectRawWorker(hub.url, { capacity: 1 });
    const b = await connectRawWorker(hub.url, { capacity: 0 });
    const [lease] = await a.waitForLeases(1);
    const noSecret = await fetch(`${hub.url}/relay/${lease!.id}`);
    assert.equal(noSecret.status, 401);
    const unknown = await a.relay('not-a-lease');
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'LEASE_UNKNOWN');
    const foreign = await b.relay(lease!.id);
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'LEASE_NOT_YOURS');
    assert.equal((await a.relay(lease!.id)).status, 200, 'the holder still can');
    a.close();
    b.close();
  } finally {
    await hub.cleanup();
  }
});

test('a page the relay cannot fetch is recorded as failed with a stable code, and the crawl still ends', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(spec(['/missing', '/to-private', '/pdf']));
    const w = await connectRawWorker(hub.url, { capacity: 3 });
    const leases = await w.waitForLeases(3);
    const codes: Record<string, string> = {};
    for (const lease of leases) {
      const response = await w.relay(lease.id);
      assert.equal(response.status, 502);
      const body = (await response.json()) as { error: { code: string; retryable: boolean } };
      assert.equal(body.error.retryable, false);
      codes[new URL(lease.url).pathname] = body.error.code;
    }
    assert.deepEqual(codes, { '/missing': 'RELAY_HTTP_STATUS', '/to-private': 'RELAY_BLOCKED_ADDRESS', '/pdf': 'RELAY_CONTENT_TYPE' });
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesFailed, 3);
    assert.equal(summary.finishReason, 'completed');
    const rows = hub.storage.db.prepare('SELECT url, error_code, http_status FROM requests WHERE crawl_id = ? ORDER BY url').all(crawl.id);
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { url: `${origin}/missing`, error_code: 'RELAY_HTTP_STATUS', http_status: 404 },
      { url: `${origin}/pdf`, error_code: 'RELAY_CONTENT_TYPE', http_status: null },
      { url: `${origin}/to-private`, error_code: 'RELAY_BLOCKED_ADDRESS', http_status: null },
    ]);
    w.close();
  } finally {
    await hub.cleanup();
  }
});
