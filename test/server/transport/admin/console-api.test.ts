import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { ADMIN_NAMESPACE, PROTOCOL_VERSION } from '../../../../shared/protocol.ts';
import type { AdminCrawlDetail } from '../../../../shared/admin-protocol.ts';
import { expectedQuotes, quotesSite } from '../../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, TEST_ADMIN_TOKEN, waitForCrawlEnd } from '../../../helpers/hub.ts';

type Site = Awaited<ReturnType<typeof startFixtureServer>>;
type TestHub = Awaited<ReturnType<typeof startTestHub>>;

let site: Site;
let hub: TestHub;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 5 }));
  hub = await startTestHub();
});
after(async () => {
  await hub.cleanup();
  await site.close();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${hub.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

test('a preview fetches one page through the hub and answers with the items and links the spec extracts', async () => {
  const before = site.requestsFor('/page/1/');
  const res = await api('POST', '/preview', { spec: quotesSpec(site.origin) });
  assert.equal(res.status, 200);
  assert.equal(res.body.finalUrl, `${site.origin}/page/1/`);
  assert.equal(res.body.status, 200);
  assert.deepEqual(
    res.body.items.map((i: { data: { text: string; author: string } }) => i.data),
    expectedQuotes(1).map((q) => ({ text: q.text, author: q.author })),
  );
  assert.equal(res.body.itemsTotal, 10);
  assert.deepEqual(res.body.links, [`${site.origin}/page/2/`]);
  assert.equal(site.requestsFor('/page/1/'), before + 1, 'exactly one fetch');
  assert.equal(hub.engine.crawls.list().length, 0, 'a preview creates no crawl');

  const other = await api('POST', '/preview', { spec: quotesSpec(site.origin), url: `${site.origin}/page/5/` });
  assert.equal(other.body.items.length, 10);
  assert.deepEqual(other.body.links, [], 'the last page has no next link');
});

test('a preview of an invalid spec answers 400 with the path of every problem, and fetches nothing', async () => {
  const before = site.requests;
  const res = await api('POST', '/preview', { spec: quotesSpec(site.origin, { items: [{ selector: 'div.quote', fields: { text: 'span.text::txt' } }] }) });
  assert.equal(res.status, 400);
  assert.equal(res.body.error.code, 'SPEC_INVALID');
  assert.deepEqual(res.body.error.details.map((d: { path: string }) => d.path), ['$.items[0].fields.text']);
  assert.equal(site.requests, before);
});

test('a preview keeps the relay\'s safety rules: a loopback host not on the allow list is refused with the fetch error', async () => {
  const res = await api('POST', '/preview', { spec: quotesSpec(site.origin), url: `http://localhost:${new URL(site.origin).port}/page/1/` });
  assert.equal(res.status, 502);
  assert.equal(res.body.error.code, 'RELAY_BLOCKED_ADDRESS');
  const missing = await api('POST', '/preview', { spec: quotesSpec(site.origin), url: `${site.origin}/no-such-page/` });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'RELAY_HTTP_STATUS');
  assert.equal(missing.body.error.details.httpStatus, 404);
});

test('the specs library saves, lists, gets, renames, edits, duplicates and deletes named specs, and saves only valid ones', async () => {
  const spec = quotesSpec(site.origin);
  const created = await api('POST', '/specs', { name: 'Quotes', spec });
  assert.equal(created.status, 201);
  assert.equal(created.body.name, 'Quotes');
  assert.deepEqual(created.body.spec, spec, 'kept as written');
  const id = created.body.id as string;

  const taken = await api('POST', '/specs', { name: 'quotes', spec });
  assert.equal(taken.status, 409, 'names are unique regardless of case');
  assert.equal(taken.body.error.code, 'SPEC_NAME_TAKEN');
  const invalid = await api('POST', '/specs', { name: 'Broken', spec: { ...spec, startUrls: ['ftp://x/'] } });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.body.error.details[0].path, '$.startUrls[0]');

  const edited = await api('PUT', `/specs/${id}`, { name: 'Quotes, 2 pages', spec: { ...spec, limits: { maxPages: 2 } } });
  assert.equal(edited.status, 200);
  assert.equal(edited.body.name, 'Quotes, 2 pages');
  assert.deepEqual(edited.body.spec.limits, { maxPages: 2 });

  const copy = await api('POST', `/specs/${id}/duplicate`, {});
  assert.equal(copy.status, 201);
  assert.equal(copy.body.name, 'Quotes, 2 pages (copy)');
  assert.deepEqual(copy.body.spec, edited.body.spec);
  const copy2 = await api('POST', `/specs/${id}/duplicate`, {});
  assert.equal(copy2.body.name, 'Quotes, 2 pages (copy 2)');

  const list = await api('GET', '/specs');
  assert.deepEqual(new Set(list.body.specs.map((s: { name: string }) => s.name)), new Set(['Quotes, 2 pages', 'Quotes, 2 pages (copy)', 'Quotes, 2 pages (copy 2)']));
  assert.equal(list.body.specs[0].specName, 'quotes');

  assert.equal((await api('DELETE', `/specs/${copy2.body.id}`)).status, 204);
  assert.equal((await api('GET', `/specs/${copy2.body.id}`)).status, 404);
  assert.equal((await api('GET', `/specs/${id}`)).body.name, 'Quotes, 2 pages');
});

test('the item list searches values and page URLs, and pages through the matches', async () => {
  const workers = await startWorkers(hub.url, 1);
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'searchable' }));
    await waitForCrawlEnd(hub, crawl.id);
    const quote = expectedQuotes(3)[4]!;
    const needle = quote.text.slice(1, 25).toUpperCase();
    const found = await api('GET', `/crawls/${crawl.id}/items?q=${encodeURIComponent(needle)}`);
    assert.equal(found.status, 200);
    assert.ok(found.body.items.some((i: { data: { text: string } }) => i.data.text === quote.text));
    assert.equal(found.body.total, null);
    const byUrl = await api('GET', `/crawls/${crawl.id}/items?q=${encodeURIComponent('/page/2/')}&limit=4`);
    assert.equal(byUrl.body.items.length, 4);
    assert.ok(byUrl.body.items.every((i: { url: string }) => i.url.endsWith('/page/2/')));
    const rest = await api('GET', `/crawls/${crawl.id}/items?q=${encodeURIComponent('/page/2/')}&limit=100&after=${byUrl.body.next}`);
    assert.equal(rest.body.items.length, 6);
    assert.equal(rest.body.next, null);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
});

test('a crawl\'s live details say who worked on it and its rate over time', async () => {
  const workers = await startWorkers(hub.url, 2);
  const socket = io(`${hub.url}${ADMIN_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: TEST_ADMIN_TOKEN } });
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin, { name: 'watched' }));
    await waitForCrawlEnd(hub, crawl.id);
    await new Promise<void>((resolve) => socket.once('admin:update', () => resolve()));
    const detail = new Promise<AdminCrawlDetail>((resolve) => socket.once('admin:crawl', resolve));
    const ack = await socket.emitWithAck('admin:watch', { crawlId: crawl.id });
    assert.deepEqual(ack, { ok: true });
    const d = await detail;
    assert.equal(d.crawlId, crawl.id);
    assert.equal(d.contributors.reduce((n, c) => n + c.pages, 0), 5);
    const names = new Set(workers.map((w) => w.loop.welcome!.name));
    for (const c of d.contributors) assert.ok(names.has(c.name) && c.online && c.kind === 'node', `${c.name} is one of this test's workers`);
    assert.equal(d.rate.counts.reduce((a, b) => a + b, 0), 5);
    assert.deepEqual(d.errors, []);
    const unknown = await socket.emitWithAck('admin:watch', { crawlId: 'nope' });
    assert.equal(unknown.ok, false);
  } finally {
    socket.disconnect();
    await Promise.all(workers.map((w) => w.stop()));
  }
});

test('the operator disconnects one worker session, and a ban keeps its browser out under any nickname', async () => {
  const clientId = 'banned-browser-0123456789';
  const [worker] = await startWorkers(hub.url, 1, { clientId, name: 'mallory' });
  try {
    const session = [...hub.engine.workers.all()].find((w) => w.clientId === clientId)!;
    const gone = new Promise<void>((resolve) => worker!.socket.once('disconnect', () => resolve()));
    const res = await api('POST', `/workers/${session.id}/disconnect`);
    assert.equal(res.status, 200);
    await gone;
    assert.equal((await api('POST', `/workers/${session.id}/disconnect`)).status, 404, 'that session is gone');
  } finally {
    await worker!.stop();
  }

  const [again] = await startWorkers(hub.url, 1, { clientId, name: 'mallory' });
  const session = [...hub.engine.workers.all()].find((w) => w.clientId === clientId)!;
  const banned = await api('POST', `/workers/${session.id}/ban`);
  assert.equal(banned.status, 200);
  assert.equal(banned.body.banned, clientId);
  assert.equal(banned.body.sessionsClosed, 1);
  await again!.stop();

  const retry = io(hub.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { protocolVersion: PROTOCOL_VERSION, kind: 'tab', name: 'not-mallory', clientId, capacity: 1 },
  });
  const refusal = await new Promise<{ code?: string }>((resolve) => retry.once('connect_error', (e: Error & { data?: { code: string } }) => resolve(e.data ?? {})));
  retry.disconnect();
  assert.equal(refusal.code, 'BANNED');
});
