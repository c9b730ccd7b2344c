// A new spec version pushed to a running crawl (server/crawl/respec.ts): the
// connected workers are sent it without asking; a lease granted before the
// change is answered, checked and recorded under the old version; queued URLs
// the new rules exclude are dropped and counted; bad specs and ended crawls
// are refused with their codes, nothing stored changed.
import { test, after, before } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer } from '../../fixtures/site/server.ts';
import { TEST_ADMIN_TOKEN, operatorToken, quotesSpec, startTestHub, startWorkers, waitForCrawlEnd } from '../../helpers/hub.ts';
import { connectRawWorker, type RawWorker } from '../../helpers/raw-worker.ts';
import { waitFor } from '../../helpers/wait.ts';
import { extractHtml } from '../../../server/extract/cheerio.ts';
import { assertSpec } from '../../../shared/spec/schema.ts';
import type { CrawlSpecReply, Lease } from '../../../shared/protocol.ts';
import type { TestHub } from '../../helpers/hub.ts';
import type { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import type { SpecUpdated, SpecVersionList } from '../../../shared/admin-api.ts';

type Server = Awaited<ReturnType<typeof startFixtureServer>>;
let site: Server;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 10 }));
});
after(() => site.close());

const pager = (url: string) => /^https?:\/\/[^/]+\/page\//.test(url);

/** Version 1 follows every link on the site; version 2 only the pager, and calls the quote's text `quote`. */
const v1 = () => quotesSpec(site.origin, { follow: [{}] });
const v2 = () => quotesSpec(site.origin, {
  items: [{ selector: 'div.quote', fields: { quote: 'span.text::text', author: 'span small::text' } }],
  follow: [{ allow: [{ regex: '^https?://[^/]+/page/' }] }],
});

async function api(hub: TestHub<SqliteStorage>, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${hub.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

/** Fetches a lease's page through the relay and extracts it with `spec`, as an honest worker of that version would. */
async function answer(worker: RawWorker, lease: Lease, spec: unknown) {
  const res = await worker.relay(lease.id);
  assert.equal(res.status, 200);
  const html = await res.text();
  const finalUrl = decodeURI(res.headers.get('x-crowdcrawl-final-url') ?? lease.url);
  const out = extractHtml(html, assertSpec(spec), finalUrl, { depth: lease.depth });
  return worker.socket.emitWithAck('result', { leaseId: lease.id, items: out.items, links: out.links });
}

function queuedUrls(hub: TestHub<SqliteStorage>, crawlId: string): string[] {
  return (hub.storage.db.prepare('SELECT url FROM requests WHERE crawl_id = ? AND state = 0').all(crawlId) as { url: string }[]).map((r) => r.url);
}

test('a new version mid-crawl: sent to every worker, an older lease is answered and checked under its version, excluded URLs dropped and counted', async () => {
  const hub = await startTestHub();
  const workers: RawWorker[] = [];
  try {
    const crawl = await hub.engine.createCrawl(v1());
    // On probation: every result is checked by the hub's own extraction, which must use the lease's version.
    const w1 = await connectRawWorker(hub.url, { capacity: 1, name: 'one' }, { localAddress: '127.0.0.2' });
    const w2 = await connectRawWorker(hub.url, { capacity: 0, name: 'two' }, { localAddress: '127.0.0.3' });
    workers.push(w1, w2);
    const changes: CrawlSpecReply[][] = [[], []];
    w1.socket.on('spec:changed', (c) => changes[0]!.push(c));
    w2.socket.on('spec:changed', (c) => changes[1]!.push(c));

    const [first] = await w1.waitForLeases(1, 30_000);
    assert.equal(first!.specVersion, 1);
    assert.deepEqual(await answer(w1, first!, v1()), { ok: true, duplicate: false, pending: true });
    await waitFor(() => crawl.pagesDone === 1, { timeoutMs: 30_000 });
    const [, old] = await w1.waitForLeases(2, 30_000);
    assert.equal(old!.specVersion, 1, 'granted before the change');
    const before = queuedUrls(hub, crawl.id);
    const excluded = before.filter((u) => !pager(u) && u !== old!.url);
    assert.ok(excluded.length >= 5, `author and tag pages are queued: ${before.join(' ')}`);

    const put = await api(hub, 'PUT', `/crawls/${crawl.id}/spec`, v2());
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const updated = put.json as SpecUpdated;
    assert.deepEqual([updated.version, updated.dropped, updated.crawl.specVersion, updated.crawl.droppedBySpec], [2, excluded.length, 2, excluded.length]);
    assert.equal(updated.crawl.pagesSkipped, excluded.length, 'dropped URLs are skipped pages');
    assert.deepEqual(queuedUrls(hub, crawl.id).filter((u) => !pager(u) && u !== old!.url), [], 'only the pager is left (and the leased page)');
    assert.equal((await hub.storage.getRequest(crawl.id, excluded[0]!))?.errorCode, 'SPEC_DROPPED');

    // Sent, not polled: both workers have it without asking (w2 never sent a thing).
    await waitFor(() => changes[0]!.length === 1 && changes[1]!.length === 1, { timeoutMs: 30_000 });
    for (const [c] of changes) assert.deepEqual([c!.crawlId, c!.specVersion, Object.keys(c!.spec.items[0]!.fields)], [crawl.id, 2, ['quote', 'author']]);

    // The old lease is answered under version 1: its fields are not version 2's, and the hub's check agrees.
    assert.deepEqual(await answer(w1, old!, v1()), { ok: true, duplicate: false, pending: true });
    await waitFor(() => crawl.pagesDone === 2, { timeoutMs: 30_000 });
    const oldPage = await hub.storage.getRequest(crawl.id, old!.url);
    assert.deepEqual([oldPage?.state, oldPage?.specVersion], ['done', 1]);
    assert.equal(crawl.validation.rejected, 0, 'nobody was struck: the check used version 1');
    // Its links were checked against version 1, but only what version 2 allows is queued.
    assert.deepEqual(queuedUrls(hub, crawl.id).filter((u) => !pager(u)), []);

    // New leases carry version 2; a worker can still fetch version 1 for an older lease.
    const [, , next] = await w1.waitForLeases(3, 30_000);
    assert.equal(next!.specVersion, 2);
    const asked = await w2.socket.emitWithAck('spec:get', { crawlId: crawl.id, specVersion: 1 });
    assert.ok(asked.ok && asked.specVersion === 1 && 'text' in asked.spec.items[0]!.fields);
    const current = await w2.socket.emitWithAck('spec:get', { crawlId: crawl.id });
    assert.ok(current.ok && current.specVersion === 2);
    const unknown = await w2.socket.emitWithAck('spec:get', { crawlId: crawl.id, specVersion: 7 });
    assert.ok(!unknown.ok && unknown.error.code === 'SPEC_VERSION_UNKNOWN');
    assert.deepEqual(await answer(w1, next!, v2()), { ok: true, duplicate: false, pending: true });
    await waitFor(() => crawl.pagesDone === 3, { timeoutMs: 30_000 });

    // Items record their version; the console's list has items per version.
    const items = hub.storage.db.prepare('SELECT spec_version AS v, data FROM items WHERE crawl_id = ? ORDER BY id').all(crawl.id) as { v: number; data: string }[];
    for (const item of items) assert.deepEqual(Object.keys(JSON.parse(item.data)), item.v === 1 ? ['text', 'author'] : ['quote', 'author']);
    const list = (await api(hub, 'GET', `/crawls/${crawl.id}/versions`)).json as SpecVersionList;
    assert.deepEqual(list.versions.map((v) => [v.version, v.items, v.dropped, v.current]), [[1, 20, 0, false], [2, 10, excluded.length, true]]);

    // Bad specs are refused with their codes; nothing changes.
    const invalid = await api(hub, 'PUT', `/crawls/${crawl.id}/spec`, { ...v2(), follow: [{ selector: 'a[href' }] });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.code, 'SPEC_INVALID');
    assert.ok(invalid.json.error.details.some((d: { path: string }) => d.path.startsWith('$.follow[0].selector')), JSON.stringify(invalid.json));
    const stale = await api(hub, 'PUT', `/crawls/${crawl.id}/spec`, { spec: { ...v2(), version: 2 } });
    assert.deepEqual([stale.status, stale.json.error.code], [409, 'SPEC_VERSION_STALE']);
    const extra = await api(hub, 'PUT', `/crawls/${crawl.id}/spec`, { spec: v2(), start: true });
    assert.deepEqual([extra.status, extra.json.error.code], [400, 'BAD_REQUEST']);
    const none = await api(hub, 'PUT', '/crawls/nope/spec', v2());
    assert.deepEqual([none.status, none.json.error.code], [404, 'CRAWL_UNKNOWN']);
    assert.deepEqual((await hub.storage.listSpecVersions(crawl.id)).map((v) => v.version), [1, 2]);
    assert.equal(crawl.specVersion, 2);

    // An ended crawl's spec can no longer change.
    await api(hub, 'POST', `/crawls/${crawl.id}/cancel`);
    const ended = await api(hub, 'PUT', `/crawls/${crawl.id}/spec`, v2());
    assert.deepEqual([ended.status, ended.json.error.code], [409, 'CRAWL_STATE']);
    assert.deepEqual((await hub.storage.listSpecVersions(crawl.id)).map((v) => v.version), [1, 2]);
  } finally {
    for (const w of workers) w.close();
    await hub.cleanup();
  }
});

test('a Node worker switches to a version pushed while it crawls, and a restarted hub knows every version', async () => {
  const hub = await startTestHub();
  try {
    const crawl = await hub.engine.createCrawl(quotesSpec(site.origin));
    const [worker] = await startWorkers(hub.url, 1, { concurrency: 1, token: await operatorToken(hub) });
    await waitFor(() => crawl.pagesDone >= 2);
    // Paused, so every lease from here on is of the new version (a running crawl works the same; this pins the order).
    await api(hub, 'POST', `/crawls/${crawl.id}/pause`);
    const put = await api(hub, 'PUT', `/crawls/${crawl.id}/spec`, { spec: { ...v2(), version: 5 } });
    assert.equal(put.json.version, 5, 'a version may be given, above the current one');
    await api(hub, 'POST', `/crawls/${crawl.id}/resume`);
    const summary = await waitForCrawlEnd(hub, crawl.id);
    assert.equal(summary.pagesDone, 10);
    const rows = hub.storage.db.prepare('SELECT spec_version AS v, data FROM items WHERE crawl_id = ?').all(crawl.id) as { v: number; data: string }[];
    const byVersion = new Map<number, number>();
    for (const r of rows) {
      byVersion.set(r.v, (byVersion.get(r.v) ?? 0) + 1);
      assert.ok(r.v === 1 ? 'text' in JSON.parse(r.data) : 'quote' in JSON.parse(r.data));
    }
    assert.ok((byVersion.get(1) ?? 0) >= 20 && (byVersion.get(5) ?? 0) >= 10 && rows.length === 100, JSON.stringify([...byVersion]));
    await worker!.stop();
  } finally {
    await hub.close();
  }
  // The same data dir: every version comes back (a re-check of an old page uses its own).
  const again = await startTestHub({ dataDir: hub.dataDir });
  try {
    const crawl = again.engine.crawls.require(hub.engine.crawls.list()[0]!.id);
    assert.deepEqual(crawl.specVersions.map((v) => v.version), [1, 5]);
    assert.equal(crawl.specVersion, 5);
  } finally {
    await again.cleanup();
    rmSync(hub.dataDir, { recursive: true, force: true });
  }
});
