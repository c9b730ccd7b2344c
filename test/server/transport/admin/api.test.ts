import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeUrl, urlKey } from '../../../../shared/url/canonical.ts';
import { ADMIN_TOKEN, api, insertItems, startAdminTestHub, testSpec, type TestHub } from './helpers.ts';

let hub: TestHub;

before(async () => {
  // The first test sends ~60 wrong tokens, one per route and kind: past the usual
  // limit they would be 429s (the limit's own tests are in session.test.ts).
  hub = await startAdminTestHub({ adminAuth: { maxFailures: 1000 } });
});
after(async () => {
  await hub.cleanup();
});

function routes(id: string): [string, string][] {
  return [
    ['GET', '/stats'],
    ['GET', '/workers'],
    ['GET', '/crawls'],
    ['POST', '/crawls'],
    ['GET', `/crawls/${id}`],
    ['POST', `/crawls/${id}/start`],
    ['POST', `/crawls/${id}/pause`],
    ['POST', `/crawls/${id}/resume`],
    ['POST', `/crawls/${id}/cancel`],
    ['GET', `/crawls/${id}/items`],
    ['GET', `/crawls/${id}/pages`],
    ['GET', `/crawls/${id}/export?format=csv`],
    ['GET', '/no-such-route'],
  ];
}

test('every route refuses a request without the admin token, or with a wrong one, with 401 and changes nothing', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'auth' }), { start: false });
  const before = hub.engine.crawls.list().length;
  const wrongTokens: (string | null)[] = [null, 'y'.repeat(32), ADMIN_TOKEN.slice(1), `${ADMIN_TOKEN}x`, ''];
  for (const [method, path] of routes(crawl.id)) {
    for (const token of wrongTokens) {
      const res = await api(hub, method, path, { token, ...(method === 'POST' ? { body: testSpec() } : {}) });
      assert.equal(res.status, 401, `${method} ${path} with token ${JSON.stringify(token)}`);
      assert.equal(res.body.error.code, 'UNAUTHORIZED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  }
  const basic = await fetch(`${hub.url}/api/stats`, { headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` } });
  assert.equal(basic.status, 401, 'only a Bearer token is accepted');
  assert.equal(hub.engine.crawls.list().length, before, 'no crawl was created');
  assert.equal(hub.engine.crawls.require(crawl.id).status, 'created', 'no action ran');
});

test('POST /api/crawls with a valid spec answers 201 with the running crawl and where to find it', async () => {
  const res = await api(hub, 'POST', '/crawls', { body: testSpec({ name: 'created-running' }) });
  assert.equal(res.status, 201);
  assert.equal(res.body.name, 'created-running');
  assert.equal(res.body.status, 'running');
  assert.equal(res.body.specVersion, 1);
  assert.equal(res.body.queued, 1);
  assert.equal(res.headers.get('location'), `/api/crawls/${res.body.id}`);
  assert.equal(hub.engine.crawls.require(res.body.id).status, 'running');
});

test('POST /api/crawls with { spec, start: false } creates the crawl without starting it', async () => {
  const res = await api(hub, 'POST', '/crawls', { body: { spec: testSpec({ name: 'created-paused' }), start: false } });
  assert.equal(res.status, 201);
  assert.equal(res.body.status, 'created');
  assert.equal(res.body.startedAt, null);
});

test('an invalid spec is refused with 400 SPEC_INVALID and the JSON path and message of every problem', async () => {
  const before = hub.engine.crawls.list().length;
  const res = await api(hub, 'POST', '/crawls', {
    body: { name: 'bad name!', startUrls: ['ftp://example.com/'], items: [{ selector: 'div', fields: { text: 'span[class' } }], colour: 'red' },
  });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'SPEC_INVALID');
  const paths = (res.body.error.details as { path: string; message: string }[]).map((d) => d.path);
  for (const expected of ['$.name', '$.startUrls[0]', '$.items[0].fields.text', '$']) assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
  for (const detail of res.body.error.details) assert.equal(typeof detail.message, 'string');
  assert.equal(hub.engine.crawls.list().length, before);

  const wrapped = await api(hub, 'POST', '/crawls', { body: { spec: { name: 'x' } } });
  assert.equal(wrapped.status, 400);
  assert.equal(wrapped.body.error.code, 'SPEC_INVALID');
  assert.ok(wrapped.body.error.details.some((d: { path: string }) => d.path === '$.startUrls'));
});

test('a body that is not JSON, not sent as JSON, or has unknown wrapper keys is refused with a clear code', async () => {
  const broken = await api(hub, 'POST', '/crawls', { rawBody: '{"name": ' });
  assert.equal(broken.status, 400);
  assert.equal(broken.body.error.code, 'BAD_JSON');

  const text = await api(hub, 'POST', '/crawls', { rawBody: JSON.stringify(testSpec()), contentType: 'text/plain' });
  assert.equal(text.status, 415);
  assert.equal(text.body.error.code, 'UNSUPPORTED_MEDIA_TYPE');

  const extra = await api(hub, 'POST', '/crawls', { body: { spec: testSpec(), start: true, priority: 1 } });
  assert.equal(extra.status, 400);
  assert.equal(extra.body.error.code, 'BAD_REQUEST');
  assert.match(extra.body.error.message, /"priority"/);

  const startType = await api(hub, 'POST', '/crawls', { body: { spec: testSpec(), start: 'yes' } });
  assert.equal(startType.status, 400);

  const huge = await api(hub, 'POST', '/crawls', { rawBody: JSON.stringify({ ...testSpec(), pad: 'x'.repeat(6 * 1024 * 1024) }) });
  assert.equal(huge.status, 413);
  assert.equal(huge.body.error.code, 'BODY_TOO_LARGE');
});

test('GET /api/crawls lists every crawl newest first; GET /api/crawls/:id adds the spec, counts by state and errors', async () => {
  const a = await hub.engine.createCrawl(testSpec({ name: 'list-a', startUrls: ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b', 'http://127.0.0.1:9/c'] }), { start: false });
  await sleep(2);
  const b = await hub.engine.createCrawl(testSpec({ name: 'list-b' }), { start: false });
  const list = await api(hub, 'GET', '/crawls');
  assert.equal(list.status, 200);
  const ids = (list.body.crawls as { id: string }[]).map((c) => c.id);
  assert.ok(ids.indexOf(b.id) < ids.indexOf(a.id), 'newest first');
  assert.deepEqual(list.body.crawls.find((c: { id: string }) => c.id === a.id), a.summary());

  // Two pages end badly, as the hub records failures.
  for (const [path, code] of [['/a', 'RELAY_HTTP_STATUS'], ['/b', 'RELAY_HTTP_STATUS']] as const) {
    const url = normalizeUrl(`http://127.0.0.1:9${path}`)!;
    assert.equal(await hub.storage.endRequest(a.id, urlKey(url), 'failed', { attempts: 1, code, message: 'not found', httpStatus: 404, at: Date.now() }), true);
  }
  const detail = await api(hub, 'GET', `/crawls/${a.id}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.id, a.id);
  assert.equal(detail.body.status, 'created');
  assert.equal(detail.body.spec.name, 'list-a');
  assert.equal(detail.body.spec.politeness.perHostConcurrency, 8, 'the spec comes back with its defaults filled in');
  assert.deepEqual(detail.body.counts, { queued: 1, done: 0, failed: 2, skipped: 0 });
  assert.deepEqual(detail.body.errors, [{ code: 'RELAY_HTTP_STATUS', host: '127.0.0.1:9', count: 2, exampleUrl: normalizeUrl('http://127.0.0.1:9/a') }]);

  const failed = await api(hub, 'GET', `/crawls/${a.id}/pages?state=failed&limit=1`);
  assert.equal(failed.status, 200);
  assert.equal(failed.body.total, 2);
  assert.equal(failed.body.pages.length, 1);
  assert.equal(failed.body.pages[0].errorCode, 'RELAY_HTTP_STATUS');
  assert.equal(failed.body.pages[0].httpStatus, 404);
  const second = await api(hub, 'GET', `/crawls/${a.id}/pages?state=failed&limit=1&offset=1`);
  assert.notEqual(second.body.pages[0].url, failed.body.pages[0].url);
  const done = await api(hub, 'GET', `/crawls/${a.id}/pages`);
  assert.deepEqual({ state: done.body.state, total: done.body.total, pages: done.body.pages }, { state: 'done', total: 0, pages: [] });
  const badState = await api(hub, 'GET', `/crawls/${a.id}/pages?state=leased`);
  assert.equal(badState.status, 400);
  assert.equal(badState.body.error.code, 'BAD_REQUEST');
  const badLimit = await api(hub, 'GET', `/crawls/${a.id}/pages?limit=-1`);
  assert.equal(badLimit.status, 400);
});

test('GET /api/crawls/:id/items pages through the items with an after cursor', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'paged' }), { start: false });
  await insertItems(hub, crawl.id, Array.from({ length: 5 }, (_, i) => ({ url: `http://127.0.0.1:9/p${i}`, type: 'item', data: { title: `t${i}`, price: null } })));
  const first = await api(hub, 'GET', `/crawls/${crawl.id}/items?limit=2`);
  assert.equal(first.status, 200);
  assert.equal(first.body.total, 5);
  assert.deepEqual(first.body.items.map((i: { data: { title: string } }) => i.data.title), ['t0', 't1']);
  assert.deepEqual(Object.keys(first.body.items[0]).sort(), ['data', 'extractedAt', 'id', 'specVersion', 'type', 'url']);
  const second = await api(hub, 'GET', `/crawls/${crawl.id}/items?limit=2&after=${first.body.next}`);
  assert.deepEqual(second.body.items.map((i: { data: { title: string } }) => i.data.title), ['t2', 't3']);
  const third = await api(hub, 'GET', `/crawls/${crawl.id}/items?limit=2&after=${second.body.next}`);
  assert.deepEqual(third.body.items.map((i: { data: { title: string } }) => i.data.title), ['t4']);
  assert.equal(third.body.next, null, 'no next page after the last item');
  const exact = await api(hub, 'GET', `/crawls/${crawl.id}/items?limit=5`);
  assert.equal(exact.body.next, null, 'a page that ends exactly at the last item has no next page');
  const tooMany = await api(hub, 'GET', `/crawls/${crawl.id}/items?limit=100000`);
  assert.equal(tooMany.status, 400);
});

test('pause, resume, cancel and start change a crawl as allowed and answer 409 CRAWL_STATE otherwise', async () => {
  const created = await api(hub, 'POST', '/crawls', { body: { spec: testSpec({ name: 'states' }), start: false } });
  const id = created.body.id as string;
  const act = (action: string) => api(hub, 'POST', `/crawls/${id}/${action}`);

  for (const action of ['pause', 'resume']) {
    const refused = await act(action);
    assert.equal(refused.status, 409, `${action} a created crawl`);
    assert.equal(refused.body.error.code, 'CRAWL_STATE');
  }
  const started = await act('start');
  assert.equal(started.status, 200);
  assert.equal(started.body.status, 'running');
  assert.equal(typeof started.body.startedAt, 'number');
  assert.equal((await act('start')).status, 409, 'start a running crawl');
  assert.equal((await act('resume')).status, 409, 'resume a running crawl');

  const paused = await act('pause');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.status, 'paused');
  assert.equal((await act('pause')).status, 409, 'pause a paused crawl');

  const resumed = await act('resume');
  assert.equal(resumed.body.status, 'running');

  const cancelled = await act('cancel');
  assert.equal(cancelled.status, 200);
  assert.equal(cancelled.body.status, 'cancelled');
  assert.equal(cancelled.body.finishReason, 'cancelled');
  for (const action of ['cancel', 'pause', 'resume', 'start']) {
    const refused = await act(action);
    assert.equal(refused.status, 409, `${action} a cancelled crawl`);
    assert.equal(refused.body.error.code, 'CRAWL_STATE');
    assert.match(refused.body.error.message, /cancelled/);
  }
  assert.equal((await api(hub, 'GET', `/crawls/${id}`)).body.status, 'cancelled');
});

test('a crawl that was never started can be cancelled', async () => {
  const crawl = await hub.engine.createCrawl(testSpec({ name: 'never-started' }), { start: false });
  const res = await api(hub, 'POST', `/crawls/${crawl.id}/cancel`);
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'cancelled');
});

test('unknown crawl ids answer 404 CRAWL_UNKNOWN on every crawl route, unknown routes 404 NOT_FOUND', async () => {
  for (const [method, path] of routes('no-such-crawl').filter(([, p]) => p.startsWith('/crawls/'))) {
    const res = await api(hub, method, path);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.equal(res.body.error.code, 'CRAWL_UNKNOWN');
    assert.match(res.body.error.message, /no-such-crawl/);
  }
  const unknown = await api(hub, 'GET', '/no-such-route');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'NOT_FOUND');
  const wrongMethod = await api(hub, 'DELETE', '/crawls');
  assert.equal(wrongMethod.status, 404);
});

test('GET /api/stats and /api/workers show connected workers, the leases they hold and the crawls by status', async () => {
  // The leases go to a worker that never fetches them: no prefetch either, so they stay held.
  const fresh = await startAdminTestHub({ relay: { prefetch: false } });
  try {
    const empty = await api(fresh, 'GET', '/stats');
    assert.deepEqual(empty.body, {
      crawls: { total: 0, byStatus: { created: 0, running: 0, paused: 0, finished: 0, cancelled: 0, failed: 0 } },
      workers: { connected: 0, byKind: { tab: 0, headless: 0, node: 0 } },
      leasesInFlight: 0,
      pagesDone: 0,
      pagesFailed: 0,
      pagesSkipped: 0,
      items: 0,
    });
    assert.deepEqual((await api(fresh, 'GET', '/workers')).body, { workers: [] });

    // A worker session as the socket layer registers one; its leases are sent nowhere.
    const worker = fresh.engine.joinWorker({
      name: 'alice',
      kind: 'tab',
      clientId: 'client-0123456789abcdef',
      address: '127.0.0.1',
      capacity: 4,
      operatorTrusted: false,
      tokenId: null,
      send: () => {},
      revoke: () => {},
      disconnect: () => {},
    });
    await fresh.engine.createCrawl(testSpec({ name: 'leased', startUrls: ['http://127.0.0.1:9/1', 'http://127.0.0.1:9/2'] }));
    await fresh.engine.createCrawl(testSpec({ name: 'waiting' }), { start: false });
    while (fresh.engine.leasesInFlight < 2) await sleep(5);

    const stats = await api(fresh, 'GET', '/stats');
    assert.equal(stats.body.crawls.total, 2);
    assert.equal(stats.body.crawls.byStatus.running, 1);
    assert.equal(stats.body.crawls.byStatus.created, 1);
    assert.deepEqual(stats.body.workers, { connected: 1, byKind: { tab: 1, headless: 0, node: 0 } });
    assert.equal(stats.body.leasesInFlight, 2);

    const workers = await api(fresh, 'GET', '/workers');
    assert.equal(workers.body.workers.length, 1);
    const [view] = workers.body.workers;
    assert.equal(view.id, worker.id);
    assert.equal(view.name, 'alice');
    assert.equal(view.kind, 'tab');
    assert.equal(view.capacity, 4);
    assert.equal(view.leasesHeld, 2);
    assert.equal(view.pagesDone, 0);
    assert.equal(view.connectedAt, worker.connectedAt);
    assert.equal('secret' in view, false, 'the worker secret is never shown');
  } finally {
    await fresh.cleanup();
  }
});
