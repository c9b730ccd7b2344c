// What every storage backend must do, as tests: a backend's own test file
// calls storageContract() with a way to open a fresh store (and reopen it).
// Written against the Storage interface only, so another backend (PostgreSQL)
// runs the same suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpecNameTakenError, type FeedEntry, type NewRequest, type Storage } from '../../../server/storage/storage.ts';
import type { HubRow } from '../../../server/storage/fleet-rows.ts';
import type { TrustChange } from '../../../server/storage/storage.ts';
import { emptyChange } from '../../../server/storage/trust-changes.ts';
import { BODY_REFRESH_SLACK_MS, bodyPruneCutoff } from '../../../server/storage/kept-bodies.ts';

export interface StorageFactory {
  /** A new, empty store, and a way to open the same data again after close(). */
  open(): Promise<{ storage: Storage; reopen(): Promise<Storage>; another?(): Promise<Storage> }>;
  /**
   * Whether several hubs can share one database (PostgreSQL): then `open()`
   * answers `another()`, a second store on the same data, as a second hub has.
   */
  shared?: boolean;
}

const hub = (id: string, at: number): HubRow => ({
  id,
  address: `http://${id}.example:8470`,
  version: '1.0.0',
  startedAt: at,
  heartbeatAt: at,
  workers: 0,
  leases: 0,
  pagesPerSec: 0,
  state: 'alive',
});

const req = (path: string, depth = 0, host = 'a.example'): NewRequest => {
  const url = `http://${host}${path}`;
  return { url, key: url, host, depth };
};

const newCrawl = (id: string, startUrls: NewRequest[], sources = 0) => ({
  id,
  name: id,
  spec: '{"name":"x"}',
  specVersion: 1,
  createdAt: 1000,
  startUrls,
  sources: Array.from({ length: sources }, (_, i) => ({ url: `http://a.example/sitemap${i}.xml`, kind: 'sitemap' as const, scopeBase: 'http://a.example/', nesting: 0 })),
});

const page = (crawlId: string, key: string, links: NewRequest[] = [], items = 0) => ({
  crawlId,
  key,
  finalUrl: key,
  httpStatus: 200,
  contentHash: 'h',
  items: Array.from({ length: items }, (_, i) => ({ type: 'item', data: { n: String(i) } })),
  links,
  worker: 'w',
  leaseId: 'l',
  specVersion: 1,
  doneAt: 2000,
  clientId: 'client-w',
  validation: 'checked' as const,
  resultDigest: 'd',
  rejected: 0,
  extraExtractions: 1,
});

export function storageContract(name: string, factory: StorageFactory): void {
  test(`${name}: a crawl is created with its start URLs (each once, in order) and sources`, async () => {
    const { storage } = await factory.open();
    try {
      const { row, queued, sources } = await storage.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/1')], 2));
      assert.deepEqual([row.id, row.status, row.pagesDone, row.items, row.specVersion], ['c', 'created', 0, 0, 1]);
      assert.deepEqual(queued.map((q) => [q.url, q.seq]), [['http://a.example/1', 1], ['http://a.example/2', 2]], 'a repeated URL is queued once; places are dense');
      assert.equal(sources, 2);
      assert.equal(await storage.countQueued('c'), 2);
      assert.deepEqual((await storage.listCrawls()).map((c) => c.id), ['c']);
      await storage.setCrawlStatus('c', { status: 'running', finishReason: null, startedAt: 1500, finishedAt: null });
      assert.deepEqual(((await storage.listCrawls())[0]!), { ...row, status: 'running', startedAt: 1500 });
    } finally {
      await storage.close();
    }
  });

  test(`${name}: a page is recorded once, with its items and the links it found that are new`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1'), req('/2')]));
      const first = await storage.recordPage(page('c', 'http://a.example/1', [req('/2', 1), req('/3', 1), req('/4', 1, 'b.example')], 3));
      assert.equal(first.recorded, true);
      assert.deepEqual(first.queued.map((q) => [q.url, q.seq, q.depth]), [['http://a.example/3', 3, 1], ['http://b.example/4', 4, 1]], '/2 was already known');
      const again = await storage.recordPage(page('c', 'http://a.example/1', [req('/5', 1)], 3));
      assert.deepEqual(again, { recorded: false, queued: [] }, 'a second result for the page changes nothing');
      const crawl = (await storage.listCrawls())[0]!;
      assert.deepEqual([crawl.pagesDone, crawl.items], [1, 3]);
      assert.equal(await storage.countItems('c'), 3);
      assert.deepEqual(await storage.countByState('c'), { queued: 3, done: 1, failed: 0, skipped: 0 });
      const items = await Array.fromAsync(storage.iterateItems('c', 2));
      assert.deepEqual(items.map((i) => JSON.parse(i.data)), [{ n: '0' }, { n: '1' }, { n: '2' }], 'read in pages of 2, in order');
      assert.deepEqual((await storage.searchItems('c', '"1"', 0, 10)).map((i) => i.id), [items[1]!.id]);
      const done = await storage.getRequest('c', 'http://a.example/1');
      assert.deepEqual([done?.state, done?.attempts, done?.httpStatus, done?.items, done?.links], ['done', 1, 200, 3, 3]);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: a failed page goes to the end of its host's queue, or ends as failed or skipped, counted once`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/3')]));
      const moved = await storage.requeue('c', 'http://a.example/1', { attempts: 1, notBefore: 5000, code: 'RELAY_HTTP_STATUS', message: '503' });
      assert.deepEqual([moved?.seq, moved?.attempts, moved?.notBefore], [4, 1, 5000]);
      assert.deepEqual((await storage.loadQueued('c', 'a.example', 0, 10)).map((q) => q.url), ['http://a.example/2', 'http://a.example/3', 'http://a.example/1']);
      assert.deepEqual((await storage.loadQueued('c', 'a.example', 2, 1)).map((q) => q.seq), [3], 'after a place, up to a limit');
      assert.equal(await storage.endRequest('c', 'http://a.example/2', 'failed', { attempts: 3, code: 'RELAY_HTTP_STATUS', message: '500', httpStatus: 500, at: 3000 }), true);
      assert.equal(await storage.endRequest('c', 'http://a.example/2', 'failed', { attempts: 3, code: 'RELAY_HTTP_STATUS', message: '500', at: 3000 }), false, 'ended once');
      assert.equal(await storage.endRequest('c', 'http://a.example/3', 'skipped', { attempts: 0, code: 'ROBOTS_DISALLOWED', message: 'no', at: 3000 }), true);
      assert.equal(await storage.requeue('c', 'http://a.example/2', { attempts: 4, notBefore: 0, code: 'RELAY_TIMEOUT', message: 'x' }), undefined, 'an ended page is not queued again');
      const crawl = (await storage.listCrawls())[0]!;
      assert.deepEqual([crawl.pagesFailed, crawl.pagesSkipped], [1, 1]);
      assert.deepEqual(await storage.countByState('c'), { queued: 1, done: 0, failed: 1, skipped: 1 });
      assert.deepEqual((await storage.requestsByState('c', 'failed', 10, 0)).map((r) => [r.url, r.errorCode, r.httpStatus]), [['http://a.example/2', 'RELAY_HTTP_STATUS', 500]]);
      assert.deepEqual(await storage.errorSummary('c'), [
        { code: 'RELAY_HTTP_STATUS', host: 'a.example', count: 1, exampleUrl: 'http://a.example/2' },
        { code: 'ROBOTS_DISALLOWED', host: 'a.example', count: 1, exampleUrl: 'http://a.example/3' },
      ].sort((a, b) => (a.code < b.code ? -1 : 1)));
    } finally {
      await storage.close();
    }
  });

  test(`${name}: the writes of one turn commit together, or not at all; what failed leaves nothing behind`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1')]));
      // Asked for in the same turn: a good page and a crawl whose id is taken. The batch fails whole.
      const results = await Promise.allSettled([
        storage.recordPage(page('c', 'http://a.example/1', [req('/2', 1)], 1)),
        storage.createCrawl(newCrawl('c', [req('/9')])),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
      assert.deepEqual(await storage.countByState('c'), { queued: 1, done: 0, failed: 0, skipped: 0 }, 'the page was not recorded');
      assert.equal(await storage.countItems('c'), 0);
      // The next write gives places as if the failed batch had never been.
      const next = await storage.recordPage(page('c', 'http://a.example/1', [req('/2', 1)]));
      assert.deepEqual(next.queued.map((q) => q.seq), [2]);
    } finally {
      await storage.close();
    }
  });

  // Links already in the crawl's table are not inserted again (server/storage/known-keys.ts): what a
  // backend remembers of them must never keep a link out that is not in the table.
  test(`${name}: a link is queued once whatever came before: a failed batch, a source's budget, a deleted crawl of the same id`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1'), req('/2')], 1));
      const seen = await storage.recordPage(page('c', 'http://a.example/1', [req('/2', 1), req('/3', 1), req('/3', 1)]));
      assert.deepEqual(seen.queued.map((q) => [q.url, q.seq]), [['http://a.example/3', 3]], '/2 was queued, /3 is new (once)');
      // A batch that fails: the link it queued is not in the table, and is queued by the next page that finds it.
      const failed = await Promise.allSettled([
        storage.recordPage(page('c', 'http://a.example/2', [req('/2', 1), req('/4', 1)])),
        storage.createCrawl(newCrawl('c', [])),
      ]);
      assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
      const again = await storage.recordPage(page('c', 'http://a.example/2', [req('/3', 1), req('/4', 1), req('/1', 1)]));
      assert.deepEqual(again.queued.map((q) => [q.url, q.seq]), [['http://a.example/4', 4]]);
      // A source past its budget: the URLs it did not queue are not in the table either.
      const source = (await storage.nextPendingSource('c'))!;
      const { queued } = await storage.completeSource('c', source.url, { attempts: 1, at: 10, sources: [], urls: [req('/4'), req('/5'), req('/6')], budget: 1 });
      assert.deepEqual(queued.map((q) => q.url), ['http://a.example/5']);
      const third = await storage.recordPage(page('c', 'http://a.example/3', [req('/5', 1), req('/6', 1)]));
      assert.deepEqual(third.queued.map((q) => [q.url, q.seq]), [['http://a.example/6', 6]]);
      // Deleted, and created again with the same id: every link is new again.
      assert.equal(await storage.deleteCrawl('c'), true);
      await storage.createCrawl(newCrawl('c', [req('/1')]));
      const fresh = await storage.recordPage(page('c', 'http://a.example/1', [req('/2', 1), req('/3', 1), req('/1', 1)]));
      assert.deepEqual(fresh.queued.map((q) => [q.url, q.seq]), [['http://a.example/2', 2], ['http://a.example/3', 3]]);
      assert.deepEqual(await storage.countByState('c'), { queued: 2, done: 1, failed: 0, skipped: 0 });
    } finally {
      await storage.close();
    }
  });

  test(`${name}: sources queue up to their budget and name further sources; hosts are found in order`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [], 2));
      assert.equal(await storage.countPendingSources('c'), 2);
      const first = await storage.nextPendingSource('c');
      assert.deepEqual([first?.url, first?.state, first?.kind], ['http://a.example/sitemap0.xml', 'pending', 'sitemap']);
      const { queued } = await storage.completeSource('c', first!.url, {
        attempts: 1,
        at: 10,
        sources: [{ url: 'http://a.example/child.xml', kind: 'sitemap', scopeBase: 'http://a.example/', nesting: 1 }],
        urls: [req('/x'), req('/y', 0, 'c.example'), req('/z', 0, 'b.example')],
        budget: 2,
      });
      assert.deepEqual(queued.map((q) => q.url), ['http://a.example/x', 'http://c.example/y'], 'no more than the budget');
      assert.equal(await storage.sumSourceUrls('c'), 2);
      await storage.retrySource('c', 'http://a.example/sitemap1.xml', { attempts: 1, notBefore: 99, code: 'RELAY_TIMEOUT', message: 'slow' });
      await storage.failSource('c', 'http://a.example/child.xml', { attempts: 1, code: 'SITEMAP_INVALID', message: 'not xml', at: 20 });
      assert.deepEqual((await storage.listSources('c')).map((s) => [s.url.slice(17), s.state, s.urlsQueued, s.errorCode]), [
        ['child.xml', 'failed', 0, 'SITEMAP_INVALID'],
        ['sitemap0.xml', 'done', 2, null],
        ['sitemap1.xml', 'pending', 0, 'RELAY_TIMEOUT'],
      ]);
      assert.equal(await storage.nextQueuedHost('c', ''), 'a.example');
      assert.equal(await storage.nextQueuedHost('c', 'a.example'), 'c.example');
      assert.equal(await storage.nextQueuedHost('c', 'c.example'), undefined);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: bans, contributors and saved specs are kept; spec names are unique regardless of case`, async () => {
    const { storage, reopen } = await factory.open();
    await storage.addBan({ kind: 'client', value: 'client-1', reason: 'r', createdAt: 1 });
    await storage.addBan({ kind: 'address', value: '127.0.0.9', reason: 'strikes', createdAt: 2 });
    await storage.addToContributors([
      { id: 'a', clientId: 'c1', name: 'alice', kind: 'tab', pages: 5, items: 50, firstSeenAt: 1, lastSeenAt: 2 },
      { id: 'b', clientId: 'c2', name: 'bob', kind: 'node', pages: 9, items: 90, firstSeenAt: 1, lastSeenAt: 3 },
    ]);
    const saved = await storage.insertSpec({ id: 's1', name: 'Quotes', spec: '{}', createdAt: 1, updatedAt: 1 });
    assert.equal(saved.name, 'Quotes');
    await assert.rejects(storage.insertSpec({ id: 's2', name: 'quotes', spec: '{}', createdAt: 2, updatedAt: 2 }), SpecNameTakenError);
    assert.equal(await storage.specNameTaken('QUOTES'), true);
    assert.equal((await storage.updateSpec('s1', { name: 'Books', spec: '{"a":1}', updatedAt: 5 }))?.spec, '{"a":1}');
    assert.equal(await storage.updateSpec('nope', { name: 'x', spec: '{}', updatedAt: 5 }), undefined);
    await storage.close();

    const again = await reopen();
    try {
      assert.deepEqual((await again.listBans()).map((b) => `${b.kind}:${b.value}`), ['address:127.0.0.9', 'client:client-1']);
      assert.equal(await again.removeBan('address', '127.0.0.9'), true);
      assert.equal(await again.removeBan('address', '127.0.0.9'), false);
      assert.deepEqual((await again.topContributors(1)).map((c) => c.name), ['bob']);
      assert.deepEqual(await again.contributorTotals(), { known: 2, pages: 14, items: 140 });
      assert.equal((await again.contributor('a'))?.items, 50);
      assert.deepEqual((await again.listSpecs()).map((s) => s.name), ['Books']);
      assert.equal(await again.deleteSpec('s1'), true);
      assert.equal(await again.getSpec('s1'), undefined);
    } finally {
      await again.close();
    }
  });

  // Contributors' totals are increments (docs/scale-out.md): hubs counting one contributor add up, never overwrite.
  test(`${name}: contributors' totals are added to, by one store or several on one database`, async () => {
    const { storage, another } = await factory.open();
    const other = factory.shared && another ? await another() : storage;
    const alice = (pages: number, items: number, at: number, kind: 'tab' | 'node' = 'tab') => ({ id: 'a', clientId: 'c1', name: 'alice', kind, pages, items, firstSeenAt: at, lastSeenAt: at });
    try {
      await storage.addToContributors([alice(5, 50, 10)]);
      // Two hubs at once, and one id twice in one call.
      await Promise.all([storage.addToContributors([alice(2, 20, 30)]), other.addToContributors([alice(3, 30, 20, 'node'), alice(1, 10, 25, 'node')])]);
      const row = await storage.contributor('a');
      assert.equal(row?.pages, 11);
      assert.equal(row?.items, 110);
      assert.equal(row?.firstSeenAt, 10, 'the first seen time stays');
      assert.equal(row?.lastSeenAt, 30, 'the latest seen time wins, whichever hub wrote last');
      assert.deepEqual(await other.contributorTotals(), { known: 1, pages: 11, items: 110 });
      // A row seen again without pages keeps its totals.
      await other.addToContributors([alice(0, 0, 40)]);
      assert.deepEqual([(await storage.contributor('a'))?.pages, (await storage.contributor('a'))?.lastSeenAt], [11, 40]);
    } finally {
      if (other !== storage) await other.close();
      await storage.close();
    }
  });

  test(`${name}: trust records, worker tokens and kept bodies survive a reopen; a page got in on trust is re-checked, replaced or withdrawn`, async () => {
    const { storage, reopen } = await factory.open();
    const trust = (key: string, strikes: number) => ({
      key, label: key, checked: 3, valid: 3 - strikes, invalid: strikes, trusted: 7, strikes, consecutiveValid: 0, banned: strikes > 1, lastReason: strikes ? 'wrong' : null, updatedAt: 10,
    });
    await storage.saveTrust([trust('client:c1', 0), trust('address:10.0.0.1', 2)]);
    await storage.saveTrust([{ ...trust('client:c1', 1), updatedAt: 11 }]);
    await storage.insertWorkerToken({ id: 't1', name: 'edge', tokenHash: 'hash-1', createdAt: 5 });
    await storage.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/3')]));
    const body = (n: number) => ({ contentHash: `body-${n}`, data: new Uint8Array([n, n, n]) });
    const trusted = (key: string, n: number, items: number) => ({ ...page('c', key, [], items), contentHash: `body-${n}`, validation: 'trusted' as const, clientId: 'cheat', resultDigest: `digest-${n}`, body: body(n) });
    await storage.recordPage(trusted('http://a.example/1', 1, 2));
    await storage.recordPage({ ...trusted('http://a.example/2', 2, 3), body: { ...body(2), data: new Uint8Array([2]) } });
    await storage.recordPage(page('c', 'http://a.example/3', [], 1));
    await storage.close();

    const again = await reopen();
    try {
      assert.deepEqual((await again.listTrust()).map((r) => [r.key, r.strikes, r.banned, r.updatedAt]).sort(), [['address:10.0.0.1', 2, true, 10], ['client:c1', 1, false, 11]]);
      assert.deepEqual(await again.listWorkerTokens(), [{ id: 't1', name: 'edge', tokenHash: 'hash-1', createdAt: 5 }]);
      assert.equal(await again.deleteWorkerToken('t1'), true);
      assert.equal(await again.deleteWorkerToken('t1'), false);
      // Only what was accepted on trust is listed for a re-check (page 3 was checked).
      const pages = await again.trustedPagesOf('cheat');
      assert.deepEqual(pages.map((p) => [p.key, p.contentHash, p.resultDigest]).sort(), [['http://a.example/1', 'body-1', 'digest-1'], ['http://a.example/2', 'body-2', 'digest-2']]);
      assert.deepEqual([...(await again.getBody('body-1'))!], [1, 1, 1]);
      assert.equal(await again.getBody('nope'), undefined);
      // Replaced: its items swapped for the hub's, its new links queued, counted once.
      const replaced = await again.replacePage({ crawlId: 'c', key: 'http://a.example/1', items: [{ type: 'item', data: { n: 'hub' } }], links: [req('/9', 1)], resultDigest: 'hub-digest', doneAt: 3000 });
      assert.deepEqual([replaced.itemsBefore, replaced.itemsAfter, replaced.queued.map((q) => q.url)], [2, 1, ['http://a.example/9']]);
      // Withdrawn: its items removed and the page queued again.
      const withdrawn = await again.withdrawPage('c', 'http://a.example/2');
      assert.deepEqual([withdrawn?.itemsRemoved, withdrawn?.queued.url], [3, 'http://a.example/2']);
      assert.equal(await again.withdrawPage('c', 'http://a.example/2'), undefined, 'withdrawn once');
      assert.equal(await again.countItems('c'), 2, 'the hub\'s one item and page 3\'s');
      assert.deepEqual(await again.countByState('c'), { queued: 2, done: 2, failed: 0, skipped: 0 });
      assert.deepEqual((await again.trustedPagesOf('cheat')).length, 0, 'nothing of it is left on trust');
      // Bodies past their retention go.
      assert.equal(await again.pruneBodies(Number.MAX_SAFE_INTEGER), 2);
      assert.equal(await again.getBody('body-1'), undefined);
    } finally {
      await again.close();
    }
  });

  test(`${name}: a body written lately is not made nor written again, yet kept for its whole retention after the last result; a failed batch's body is written again`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', Array.from({ length: 6 }, (_, i) => req(`/${i}`))));
      let made = 0;
      const body = (hash: string, n: number) => ({ contentHash: hash, data: () => { made++; return new Uint8Array([n]); } });
      const trusted = (i: number, hash: string, n: number, doneAt: number) => ({ ...page('c', `http://a.example/${i}`), contentHash: hash, validation: 'trusted' as const, doneAt, body: body(hash, n) });
      const retention = 7 * 24 * 3_600_000;
      await storage.recordPage(trusted(0, 'h', 1, 2000));
      await storage.recordPage(trusted(1, 'h', 2, 3000));
      assert.equal(made, 1, 'the second result for the same bytes made no body');
      assert.deepEqual([...(await storage.getBody('h'))!], [1]);
      assert.equal(await storage.pruneBodies(bodyPruneCutoff(3000 + retention, retention)), 0, 'kept a retention after the second result');
      assert.deepEqual([...(await storage.getBody('h'))!], [1]);
      const later = 3000 + BODY_REFRESH_SLACK_MS + 1;
      await storage.recordPage(trusted(2, 'h', 3, later));
      assert.equal(made, 2, 'past the slack, the body is written again (its age with it)');
      assert.equal(await storage.pruneBodies(bodyPruneCutoff(later + retention - 1, retention)), 0);
      assert.equal(await storage.pruneBodies(bodyPruneCutoff(later + retention + BODY_REFRESH_SLACK_MS + 1, retention)), 1);
      assert.equal(await storage.getBody('h'), undefined);
      // Pruned: whatever this store wrote lately, the next result with those bytes writes them again.
      await storage.recordPage(trusted(3, 'h', 4, later + 1));
      assert.deepEqual([...(await storage.getBody('h'))!], [4]);
      // A batch that fails: its body is not stored, and is written by the next result that has it.
      const failed = await Promise.allSettled([storage.recordPage(trusted(4, 'g', 5, later + 2)), storage.createCrawl(newCrawl('c', []))]);
      assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
      await storage.recordPage(trusted(5, 'g', 6, later + 3));
      assert.deepEqual([...(await storage.getBody('g'))!], [6]);
    } finally {
      await storage.close();
    }
  });

  // A running crawl's spec versions (server/crawl/respec.ts)

  test(`${name}: a crawl's spec versions are all kept; queued URLs a version drops end as skipped, counted once; items are counted per version`, async () => {
    const { storage, reopen } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/3'), req('/4', 0, 'b.example')]));
      await storage.createCrawl(newCrawl('other', [req('/1')]));
      assert.deepEqual(await storage.listSpecVersions('c'), [], 'a crawl never changed keeps its one spec in its row');
      await storage.recordPage(page('c', 'http://a.example/1', [req('/5', 1)], 2));
      await storage.addSpecVersion('c', { version: 2, spec: '{"name":"x","version":2}', at: 3000 });
      await storage.addSpecVersion('c', { version: 5, spec: '{"name":"x","version":5}', at: 4000 });
      await assert.rejects(storage.addSpecVersion('c', { version: 5, spec: '{}', at: 5000 }), 'a version is stored once');
      assert.deepEqual((await storage.listSpecVersions('c')).map((v) => [v.version, v.spec, v.createdAt, v.dropped]), [
        [1, '{"name":"x"}', 1000, 0],
        [2, '{"name":"x","version":2}', 3000, 0],
        [5, '{"name":"x","version":5}', 4000, 0],
      ], 'the first version is kept with the crawl\'s creation time');
      const row = (await storage.listCrawls()).find((c) => c.id === 'c')!;
      assert.deepEqual([row.specVersion, row.spec], [5, '{"name":"x","version":5}'], 'the crawl runs the newest');
      // Scanned in key order, a page at a time; only what is queued.
      const first = await storage.scanQueued('c', '', 2);
      const rest = await storage.scanQueued('c', first.at(-1)!.key, 10);
      assert.deepEqual([...first, ...rest].map((q) => [q.url, q.depth]), [
        ['http://a.example/2', 0], ['http://a.example/3', 0], ['http://a.example/5', 1], ['http://b.example/4', 0],
      ]);
      const dropped = await storage.dropQueued('c', 5, ['http://a.example/5', 'http://b.example/4', 'http://a.example/1', 'http://nope/'], { code: 'SPEC_DROPPED', message: 'no rule', at: 4500 });
      assert.equal(dropped, 2, 'a done page and an unknown key are not dropped');
      assert.equal(await storage.dropQueued('c', 5, ['http://a.example/5'], { code: 'SPEC_DROPPED', message: 'no rule', at: 4500 }), 0, 'dropped once');
      assert.deepEqual(await storage.countByState('c'), { queued: 2, done: 1, failed: 0, skipped: 2 });
      assert.equal((await storage.getRequest('c', 'http://a.example/5'))?.errorCode, 'SPEC_DROPPED');
      assert.deepEqual((await storage.loadQueued('c', 'b.example', 0, 10)).length, 0, 'gone from its host\'s queue');
      const page2 = { ...page('c', 'http://a.example/2', [], 3), specVersion: 5 };
      await storage.recordPage(page2);
      assert.deepEqual(await storage.itemsByVersion('c'), [{ specVersion: 1, items: 2 }, { specVersion: 5, items: 3 }]);
      assert.deepEqual(await storage.itemsByVersion('other'), []);
    } finally {
      await storage.close();
    }
    const again = await reopen();
    try {
      const row = (await again.listCrawls()).find((c) => c.id === 'c')!;
      assert.deepEqual([row.pagesSkipped, row.specVersion], [2, 5]);
      assert.deepEqual((await again.listSpecVersions('c')).map((v) => [v.version, v.dropped]), [[1, 0], [2, 0], [5, 2]]);
    } finally {
      await again.close();
    }
  });

  // Metrics
  test(`${name}: observeCommits is told of each commit that made writes durable, until it is removed`, async () => {
    const { storage } = await factory.open();
    try {
      const seen: { seconds: number; writes: number }[] = [];
      storage.observeCommits((seconds, writes) => seen.push({ seconds, writes }));
      await storage.createCrawl(newCrawl('c', [req('/1'), req('/2')]));
      await Promise.all([storage.recordPage(page('c', 'http://a.example/1', [], 2)), storage.recordPage(page('c', 'http://a.example/2'))]);
      assert.ok(seen.length >= 2, `${seen.length} commits seen`);
      assert.ok(seen.every((c) => c.seconds >= 0 && c.seconds < 60 && Number.isInteger(c.writes) && c.writes >= 1));
      assert.ok(seen.reduce((sum, c) => sum + c.writes, 0) >= 3, 'every write is in some commit');
      storage.observeCommits(undefined);
      const before = seen.length;
      await storage.setCrawlStatus('c', { status: 'running', finishReason: null, startedAt: 1, finishedAt: null });
      assert.equal(seen.length, before, 'a removed observer hears nothing');
    } finally {
      await storage.close();
    }
  });

  // The item feed
  test(`${name}: the item feed gives items and withdrawals in commit order, resumable from any cursor, positions never reused`, async () => {
    const { storage, reopen } = await factory.open();
    const data = (entry: FeedEntry) => ('item' in entry ? JSON.parse(entry.item.data).n : `-${entry.withdrawn}`) as string;
    let again: Storage | undefined;
    try {
      await storage.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/3'), req('/4')]));
      await storage.createCrawl(newCrawl('other', [req('/1')]));
      await storage.recordPage(page('c', 'http://a.example/1', [], 2));
      await storage.recordPage(page('other', 'http://a.example/1', [], 5));
      await storage.recordPage(page('c', 'http://a.example/2', [], 1));
      const first = await storage.itemFeed('c', 0, 100);
      assert.deepEqual(first.map(data), ['0', '1', '0'], 'only this crawl\'s items, in commit order');
      const cursors = first.map((e) => e.cursor);
      assert.deepEqual(cursors, [...cursors].sort((a, b) => a - b));
      assert.equal(new Set(cursors).size, 3);
      assert.deepEqual((await storage.itemFeed('c', cursors[0]!, 1)).map((e) => e.cursor), [cursors[1]], 'resumes after a cursor, at most limit entries');
      assert.deepEqual(await storage.itemFeed('c', cursors[2]!, 100), [], 'nothing after the last');
      const ids = first.map((e) => ('item' in e ? e.item.id : -1));

      // Page 1's contributor was caught: its two items are withdrawn (the highest ids of the crawl are not).
      await storage.withdrawPage('c', 'http://a.example/1');
      const withdrawn = await storage.itemFeed('c', cursors[2]!, 100);
      assert.deepEqual(withdrawn.map((e) => ('withdrawn' in e ? e.withdrawn : null)), [ids[0], ids[1]]);
      assert.ok(withdrawn[0]!.cursor > cursors[2]!);
      assert.deepEqual((await storage.itemFeed('c', 0, 100)).map(data), ['0', `-${ids[0]}`, `-${ids[1]}`], 'from the start: what is left, then the tombstones');

      // The highest item of all is withdrawn: the next item still gets a new, higher position and id.
      await storage.withdrawPage('c', 'http://a.example/2');
      await storage.recordPage(page('c', 'http://a.example/3', [], 1));
      const latest = await storage.itemFeed('c', withdrawn.at(-1)!.cursor, 100);
      assert.deepEqual(latest.map(data), [`-${ids[2]}`, '0']);
      const newItem = latest[1]!;
      assert.ok('item' in newItem && newItem.item.id > Math.max(...ids) && newItem.cursor > latest[0]!.cursor, 'an id is never used twice');
      await storage.close();

      // Positions go on above every one stored, after a reopen too.
      again = await reopen();
      await again.recordPage(page('c', 'http://a.example/4', [], 1));
      const afterReopen = await again.itemFeed('c', newItem.cursor, 100);
      assert.equal(afterReopen.length, 1);
      assert.ok(afterReopen[0]!.cursor > newItem.cursor);
    } finally {
      await (again ?? storage).close();
    }
  });

  // Operations (server/ops/): schedules, their runs, webhooks and deliveries.

  test(`${name}: schedules are saved, and each (schedule, due time) run is claimed once, whoever asks`, async () => {
    const { storage } = await factory.open();
    try {
      const row = { id: 's1', name: 'nightly', specId: 'x', cron: '0 3 * * *', timeZone: 'UTC', overlap: 'skip' as const, paused: false, incremental: true, keepRuns: 2, createdAt: 1, updatedAt: 1 };
      await storage.insertSchedule(row);
      assert.deepEqual(await storage.getSchedule('s1'), row);
      const { id: _id, createdAt: _c, ...rest } = row;
      assert.deepEqual(await storage.updateSchedule('s1', { ...rest, paused: true, updatedAt: 5 }), { ...row, paused: true, updatedAt: 5 });
      assert.equal(await storage.updateSchedule('nope', { ...rest, updatedAt: 5 }), undefined);
      const claims = await Promise.all([storage.claimScheduleRun('s1', 100, 'hub-a', 7), storage.claimScheduleRun('s1', 100, 'hub-b', 7)]);
      assert.deepEqual(claims.sort(), [false, true], 'one claim wins');
      assert.equal(await storage.claimScheduleRun('s1', 200, 'hub-b', 8), true);
      assert.equal(await storage.setScheduleRun('s1', 100, 'claimed', { state: 'started', crawlId: 'c1', startedAt: 9 }), true);
      assert.equal(await storage.setScheduleRun('s1', 100, 'claimed', { state: 'failed' }), false, 'guarded by the state it leaves');
      assert.equal(await storage.setScheduleRun('s1', 200, 'claimed', { state: 'queued', message: 'waits' }), true);
      assert.equal(await storage.setScheduleRun('s1', 200, 'queued', { state: 'claimed', hub: 'hub-c' }), true);
      const runs = await storage.listScheduleRuns('s1', 10);
      assert.deepEqual(runs.map((r) => [r.dueAt, r.state, r.crawlId, r.hub]), [[200, 'claimed', null, 'hub-c'], [100, 'started', 'c1', runs[1]!.hub]]);
      assert.equal(await storage.lastScheduleDue('s1'), 200);
      assert.equal(await storage.lastScheduleDue('s2'), undefined);
      assert.equal(await storage.deleteSchedule('s1'), true);
      assert.deepEqual([await storage.listSchedules(), await storage.listScheduleRuns('s1', 10)], [[], []]);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: a webhook delivery is queued once and claimed by one hub at a time until its claim runs out`, async () => {
    const { storage } = await factory.open();
    try {
      const hook = { id: 'w1', url: 'http://127.0.0.1:1/hook', secret: 's'.repeat(20), specName: null, events: ['crawl.finished' as const], enabled: true, createdAt: 1 };
      await storage.insertWebhook(hook);
      assert.deepEqual(await storage.listWebhooks(), [hook]);
      const d = { id: 'w1:c:crawl.finished', webhookId: 'w1', crawlId: 'c', event: 'crawl.finished' as const, payload: '{}', createdAt: 10 };
      assert.deepEqual(await Promise.all([storage.enqueueDelivery(d), storage.enqueueDelivery(d)]), [true, false]);
      const [a, b] = await Promise.all([storage.claimDeliveries(10, 'hub-a', 110, 5), storage.claimDeliveries(10, 'hub-b', 110, 5)]);
      assert.equal(a!.length + b!.length, 1, 'one hub gets it');
      assert.deepEqual(await storage.claimDeliveries(50, 'hub-b', 150, 5), [], 'held until the claim runs out');
      const taken = await storage.claimDeliveries(110, 'hub-b', 210, 5);
      assert.equal(taken.length, 1, 'a dead hub\'s claim is taken over');
      const loser = a!.length === 1 ? 'hub-a' : 'hub-b';
      if (loser === 'hub-a') assert.equal(await storage.recordDeliveryAttempt(d.id, 'hub-a', { at: 120, status: 200, latencyMs: 3, error: null, state: 'delivered', nextAttemptAt: 120 }), false, 'the old claim records nothing');
      assert.equal(await storage.recordDeliveryAttempt(d.id, 'hub-b', { at: 120, status: 500, latencyMs: 3, error: 'the receiver answered 500', state: 'pending', nextAttemptAt: 1000 }), true);
      assert.deepEqual(await storage.claimDeliveries(999, 'hub-a', 2000, 5), [], 'not before its retry is due');
      const retry = await storage.claimDeliveries(1000, 'hub-a', 2000, 5);
      assert.deepEqual(retry.map((r) => [r.attempts, r.lastStatus, r.lastError]), [[1, 500, 'the receiver answered 500']]);
      assert.equal(await storage.recordDeliveryAttempt(d.id, 'hub-a', { at: 1001, status: 204, latencyMs: 4, error: null, state: 'delivered', nextAttemptAt: 1001 }), true);
      const [done] = await storage.listDeliveries('w1', 10);
      assert.deepEqual([done!.state, done!.attempts, done!.deliveredAt, done!.claimedBy], ['delivered', 2, 1001, null]);
      assert.equal(await storage.redeliver(d.id, 1100), true);
      assert.equal((await storage.claimDeliveries(1100, 'hub-a', 1200, 5)).length, 1, 'redelivered');
      assert.deepEqual((await storage.updateWebhook('w1', { url: hook.url, specName: 'books', events: ['crawl.started'], enabled: false }))?.enabled, false);
      assert.equal(await storage.deleteWebhook('w1'), true);
      assert.deepEqual([await storage.listWebhooks(), await storage.listDeliveries(undefined, 10)], [[], []]);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: a re-crawl is seeded with the previous run's URLs and validators, carries unchanged pages' items, and a crawl is deleted whole`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('old', [req('/1')]));
      await storage.recordPage(page('old', 'http://a.example/1', [req('/2', 1), req('/3', 1)], 2));
      await storage.setValidators('old', 'http://a.example/1', { etag: '"e1"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' });
      await storage.recordPage(page('old', 'http://a.example/2', [], 1));
      await storage.createCrawl(newCrawl('new', [req('/1')]));
      assert.equal(await storage.seedRecrawl('new', 'old', true), 2, '/2 and /3 (the start URL was queued already)');
      assert.deepEqual(await storage.listRecrawls(), [{ crawlId: 'new', previousCrawlId: 'old' }]);
      assert.deepEqual(await storage.countByState('new'), { queued: 3, done: 0, failed: 0, skipped: 0 });
      assert.deepEqual(await storage.previousPage('new', 'http://a.example/1'), { etag: '"e1"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT', contentHash: 'h' });
      assert.deepEqual(await storage.previousPage('new', 'http://a.example/2'), { etag: null, lastModified: null, contentHash: 'h' });
      assert.equal(await storage.previousPage('new', 'http://a.example/3'), undefined, 'never fetched: nothing known');
      const carry = { crawlId: 'new', key: 'http://a.example/1', previousCrawlId: 'old', finalUrl: 'http://a.example/1', httpStatus: 304, contentHash: 'h', etag: null, lastModified: null, specVersion: 1, doneAt: 5000 };
      assert.deepEqual(await storage.carryPage(carry), { recorded: true, items: 2 });
      assert.deepEqual(await storage.carryPage(carry), { recorded: false, items: 0 }, 'once');
      await storage.recordPage(page('new', 'http://a.example/2', [], 1));
      assert.equal(await storage.countItems('new'), 3);
      assert.deepEqual((await Array.fromAsync(storage.iterateChangedItems('new'))).map((i) => i.url), ['http://a.example/2'], 'carried items are not changes');
      assert.deepEqual(await storage.recrawlCounts('new'), { pagesUnchanged: 1, itemsCarried: 2 });
      const next = (await storage.listCrawls()).find((c) => c.id === 'new')!;
      assert.deepEqual([next.pagesDone, next.items], [2, 3]);
      assert.equal((await storage.getRequest('new', 'http://a.example/1'))?.httpStatus, 304);
      // The next run asks with what this one kept (the 304 carried the validators on).
      await storage.createCrawl(newCrawl('newer', []));
      await storage.seedRecrawl('newer', 'new', true);
      assert.equal((await storage.previousPage('newer', 'http://a.example/1'))?.etag, '"e1"');
      assert.equal(await storage.deleteCrawl('old'), true);
      assert.equal(await storage.deleteCrawl('old'), false);
      assert.deepEqual((await storage.listCrawls()).map((c) => c.id).sort(), ['new', 'newer']);
      assert.deepEqual([await storage.countItems('old'), await storage.countQueued('old')], [0, 0]);
      assert.deepEqual(await storage.listRecrawls(), [{ crawlId: 'newer', previousCrawlId: 'new' }]);
    } finally {
      await storage.close();
    }
  });

  // The fleet (docs/scale-out.md)

  test(`${name}: a hub registers, beats, is listed; one that stops beating is marked gone and must rejoin; gone hubs are forgotten in the end`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.registerHub(hub('h1', 1000));
      assert.equal(await storage.heartbeat('h1', { heartbeatAt: 2000, workers: 3, leases: 7, pagesPerSec: 12.5 }), true);
      assert.deepEqual(await storage.listHubs(), [{ ...hub('h1', 1000), heartbeatAt: 2000, workers: 3, leases: 7, pagesPerSec: 12.5 }]);
      assert.deepEqual(await storage.reclaimDeadHubs(1500, 0), { hubs: [], rows: 0 }, 'a heartbeat after the limit keeps it alive');
      const reclaimed = await storage.reclaimDeadHubs(2500, 0);
      assert.deepEqual(reclaimed.hubs, ['h1']);
      assert.equal(await storage.heartbeat('h1', { heartbeatAt: 3000, workers: 3, leases: 7, pagesPerSec: 1 }), false, 'a gone hub is told so');
      assert.equal((await storage.listHubs())[0]!.state, 'gone');
      // It rejoins (as a new run would).
      await storage.registerHub(hub('h2', 4000));
      assert.deepEqual((await storage.listHubs()).map((h) => [h.id, h.state]), [['h2', 'alive'], ['h1', 'gone']], 'alive first');
      await storage.leaveFleet('h2', 5000);
      assert.deepEqual((await storage.listHubs()).map((h) => [h.id, h.state]), [['h2', 'gone'], ['h1', 'gone']]);
      assert.deepEqual((await storage.reclaimDeadHubs(6000, 4500)).hubs, [], 'no hub was alive');
      assert.deepEqual((await storage.listHubs()).map((h) => h.id), ['h2'], 'h1 (last seen at 2000) is forgotten');
    } finally {
      await storage.close();
    }
  });

  test(`${name}: trust records change by increments: counts add up, a wrong result resets the run, a lifted ban resets strikes; the records are answered as they stand`, async () => {
    const { storage } = await factory.open();
    try {
      const change = (over: Partial<TrustChange>): TrustChange => ({ ...emptyChange('client:c1', 'Ann', 10), ...over });
      const first = await storage.updateTrust([change({ checked: 3, valid: 3, consecutiveValid: 3, trusted: 2 }), { ...emptyChange('address:10.0.0.1', '10.0.0.1', 10), checked: 1, valid: 1, consecutiveValid: 1 }]);
      assert.deepEqual(first.map((r) => [r.key, r.checked, r.consecutiveValid]).sort(), [['address:10.0.0.1', 1, 1], ['client:c1', 3, 3]], 'new records are made');
      // Another hub's changes: a wrong result (the run starts again from it, 1 valid since), then this one's valid result.
      const [after] = await storage.updateTrust([
        change({ label: 'Ann B', checked: 2, valid: 1, invalid: 1, strikes: 1, runReset: true, consecutiveValid: 1, lastReason: 'wrong', updatedAt: 20 }),
      ]);
      assert.deepEqual(after, { key: 'client:c1', label: 'Ann B', checked: 5, valid: 4, invalid: 1, trusted: 2, strikes: 1, consecutiveValid: 1, banned: false, lastReason: 'wrong', updatedAt: 20 });
      const [banned] = await storage.updateTrust([change({ strikes: 1, banned: true, updatedAt: 15 })]);
      assert.deepEqual([banned!.strikes, banned!.banned, banned!.lastReason, banned!.updatedAt], [2, true, 'wrong', 20], 'an older change keeps the later time; unset fields stay');
      const [lifted] = await storage.updateTrust([change({ banned: false, strikesReset: true, runReset: true, updatedAt: 30 }), change({ valid: 1, checked: 1, consecutiveValid: 1, updatedAt: 31 })]);
      assert.deepEqual([lifted!.strikes, lifted!.consecutiveValid, lifted!.banned, lifted!.checked], [0, 1, false, 6], 'two changes of one record in one call, in order');
      assert.deepEqual((await storage.listTrust()).find((r) => r.key === 'client:c1'), lifted);
      assert.deepEqual(await storage.updateTrust([]), []);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: robots.txt copies are kept for the fleet (a later one wins); SQLite, a fleet of one, keeps none`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.putRobots({ origin: 'http://a.example', body: 'User-agent: *\nDisallow: /x\n', fetchedAt: 10, expiresAt: 100 });
      await storage.putRobots({ origin: 'http://b.example', body: null, fetchedAt: 10, expiresAt: 100 });
      await storage.putRobots({ origin: 'http://a.example', body: 'older', fetchedAt: 5, expiresAt: 95 });
      const kept = factory.shared ? { origin: 'http://a.example', body: 'User-agent: *\nDisallow: /x\n', fetchedAt: 10, expiresAt: 100 } : undefined;
      assert.deepEqual(await storage.getRobots('http://a.example'), kept);
      assert.deepEqual(await storage.getRobots('http://b.example'), factory.shared ? { origin: 'http://b.example', body: null, fetchedAt: 10, expiresAt: 100 } : undefined, 'no rules (4xx) is kept too');
      await storage.putRobots({ origin: 'http://a.example', body: 'newer', fetchedAt: 20, expiresAt: 120 });
      assert.equal((await storage.getRobots('http://a.example'))?.body, factory.shared ? 'newer' : undefined);
      assert.equal(await storage.getRobots('http://c.example'), undefined);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: a hub alone publishing its leases per address learns of no other hub's`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.registerHub(hub('h1', 1000));
      assert.deepEqual(await storage.shareAddressLeases('h1', { '10.0.0.1': 3 }), {});
    } finally {
      await storage.close();
    }
  });

  test(`${name}: host ownership: a store alone (SQLite, or PostgreSQL before it registers) holds every host at once`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1')]));
      if (!factory.shared) {
        await storage.registerHub(hub('h1', 1000));
        assert.equal(storage.sharesHosts, false, 'a fleet of one: the frontier never asks');
      } else assert.equal(storage.sharesHosts, false, 'not registered yet');
      assert.deepEqual(await storage.holdHost('c', 'a.example'), { held: true, notBefore: 0 });
      await storage.releaseHosts('c', [{ host: 'a.example', notBefore: 5000 }]);
      assert.deepEqual((await storage.loadQueued('c', 'a.example', 0, 10)).map((q) => q.url), ['http://a.example/1']);
    } finally {
      await storage.close();
    }
  });

  // A crawl across the fleet (server/crawl/sync.ts): its end and maxPages decided on storage.

  test(`${name}: endCrawlIfDrained ends a running crawl only when nothing is queued (leased rows are) and no source is pending, once`, async () => {
    const { storage } = await factory.open();
    try {
      await storage.createCrawl(newCrawl('c', [req('/1')], 1));
      const running = { status: 'running' as const, finishReason: null, startedAt: 1000, finishedAt: null };
      assert.equal(await storage.endCrawlIfDrained('c', 3000), false, 'not running yet');
      await storage.setCrawlStatus('c', running);
      assert.equal(await storage.endCrawlIfDrained('c', 3000), false, 'a URL is queued (or leased)');
      await storage.recordPage(page('c', 'http://a.example/1'));
      assert.equal(await storage.endCrawlIfDrained('c', 3000), false, 'a source is pending');
      await storage.failSource('c', 'http://a.example/sitemap0.xml', { attempts: 1, code: 'X', message: 'x', at: 2500 });
      await storage.setCrawlStatus('c', { ...running, status: 'paused' });
      assert.equal(await storage.endCrawlIfDrained('c', 3000), false, 'a paused crawl is not ended');
      await storage.setCrawlStatus('c', running);
      assert.equal(await storage.endCrawlIfDrained('c', 3000), true);
      assert.equal(await storage.endCrawlIfDrained('c', 4000), false, 'once');
      const row = (await storage.listCrawls()).find((c) => c.id === 'c')!;
      assert.deepEqual([row.status, row.finishReason, row.finishedAt], ['finished', 'completed', 3000]);
    } finally {
      await storage.close();
    }
  });

  if (!factory.shared) return;

  test(`${name}: two hubs on one database change one contributor's record at once: both hubs' counts are kept`, async () => {
    const { storage: a, another } = await factory.open();
    const b = await another!();
    try {
      const change = (valid: number): TrustChange => ({ ...emptyChange('client:new', 'Nell', 10), checked: valid, valid, consecutiveValid: valid });
      // Both make the record (it is new) and add to it in the same instant, many times over.
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).updateTrust([change(i + 1)])));
      const [row] = (await a.listTrust()).filter((r) => r.key === 'client:new');
      assert.deepEqual([row!.checked, row!.valid, row!.consecutiveValid], [55, 55, 55]);
    } finally {
      await b.close();
      await a.close();
    }
  });

  test(`${name}: two hubs on one database: each publishes its leases per address and reads the other live hubs', added up`, async () => {
    const { storage: a, another } = await factory.open();
    const b = await another!();
    try {
      await a.registerHub(hub('a', 1000));
      await b.registerHub(hub('b', 1000));
      await b.registerHub(hub('c', 1000));
      assert.deepEqual(await a.shareAddressLeases('a', { '10.0.0.1': 3 }), {}, 'the others have published nothing yet');
      assert.deepEqual(await b.shareAddressLeases('b', { '10.0.0.1': 2, '10.0.0.2': 1 }), { '10.0.0.1': 3 });
      assert.deepEqual(await b.shareAddressLeases('c', { '10.0.0.1': 1 }), { '10.0.0.1': 5, '10.0.0.2': 1 });
      assert.deepEqual(await a.shareAddressLeases('a', {}), { '10.0.0.1': 3, '10.0.0.2': 1 }, 'its own are not counted');
      await b.leaveFleet('b', 2000);
      assert.deepEqual(await a.shareAddressLeases('a', {}), { '10.0.0.1': 1 }, 'a gone hub holds none');
    } finally {
      await b.close();
      await a.close();
    }
  });

  test(`${name}: two hubs on one database: a host is held by one hub at a time, and only its holder claims the host's rows; given up, or its holder dead, the other takes it`, async () => {
    const { storage: a, another } = await factory.open();
    const b = await another!();
    try {
      await a.registerHub(hub('a', 1000));
      await b.registerHub(hub('b', 1000));
      assert.equal(a.sharesHosts, true);
      await a.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/1', 0, 'b.example'), req('/1', 0, 'c.example')]));
      assert.deepEqual(await a.holdHost('c', 'a.example'), { held: true, notBefore: 0 });
      assert.deepEqual(await b.holdHost('c', 'a.example'), { held: false, notBefore: 0 }, 'a holds it');
      assert.deepEqual(await a.holdHost('c', 'a.example'), { held: true, notBefore: 0 }, 'asking again is harmless');
      assert.deepEqual(await b.loadQueued('c', 'a.example', 0, 10), [], 'b does not hold the host: it claims none of its rows');
      assert.deepEqual((await a.loadQueued('c', 'a.example', 0, 1)).map((q) => q.url), ['http://a.example/1']);
      // Each hub holds hosts of its own; holding one host is per crawl.
      assert.equal((await b.holdHost('c', 'b.example')).held, true);
      assert.equal((await a.holdHost('c', 'b.example')).held, false);
      await a.createCrawl(newCrawl('d', [req('/1')]));
      assert.equal((await b.holdHost('d', 'a.example')).held, true, 'another crawl\'s host of the same name is another host');
      // a gives a.example up, its next lease not before 5000: b takes it with that time, and the row a had claimed.
      await a.releaseHosts('c', [{ host: 'a.example', notBefore: 5000 }]);
      assert.deepEqual(await b.holdHost('c', 'a.example'), { held: true, notBefore: 5000 });
      assert.deepEqual((await b.loadQueued('c', 'a.example', 0, 10)).map((q) => q.url), ['http://a.example/1', 'http://a.example/2']);
      assert.equal((await a.holdHost('c', 'a.example')).held, false);
      await a.releaseHosts('c', [{ host: 'b.example', notBefore: 9000 }]);
      assert.equal((await a.holdHost('c', 'b.example')).held, false, 'a cannot give up a host it does not hold');
      // b leaves: its hosts are free.
      await b.leaveFleet('b', 2000);
      assert.deepEqual(await a.holdHost('c', 'b.example'), { held: true, notBefore: 0 });
      assert.deepEqual((await a.loadQueued('c', 'a.example', 0, 10)).length, 0, 'a.example is not a\'s until it holds it again');
      assert.equal((await a.holdHost('c', 'a.example')).held, true);
      assert.deepEqual((await a.loadQueued('c', 'a.example', 0, 10)).map((q) => q.url), ['http://a.example/1', 'http://a.example/2'], 'the rows b had claimed came back when it left');
      // a stops beating: a hub that registers later takes a's hosts once a is reclaimed.
      await b.registerHub(hub('b2', 40_000));
      assert.equal((await b.holdHost('c', 'c.example')).held, true);
      const back = await b.reclaimDeadHubs(30_000, 0);
      assert.deepEqual(back.hubs, ['a']);
      assert.equal((await b.holdHost('c', 'a.example')).held, true, 'a dead hub\'s hosts are free');
      assert.equal((await a.holdHost('c', 'b.example')).held, false, 'a gone hub holds nothing');
    } finally {
      await b.close();
      await a.close();
    }
  });


  test(`${name}: two hubs on one database: a row one hub read into its window is not read by the other until the first is reclaimed; a result is recorded once`, async () => {
    const { storage: a, another } = await factory.open();
    const b = await another!();
    try {
      await a.registerHub(hub('a', 1000));
      await b.registerHub(hub('b', 1000));
      await a.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/3')]));
      assert.equal((await a.holdHost('c', 'a.example')).held, true);
      const mine = await a.loadQueued('c', 'a.example', 0, 2);
      assert.deepEqual(mine.map((q) => q.url), ['http://a.example/1', 'http://a.example/2']);
      assert.deepEqual(await b.loadQueued('c', 'a.example', 0, 10), [], 'the host is a\'s: b claims none of its rows');
      assert.equal(await a.countQueued('c'), 3, 'claimed rows are still queued');
      // a stops beating: its rows go back, b reads them.
      await b.heartbeat('b', { heartbeatAt: 30_000, workers: 0, leases: 0, pagesPerSec: 0 });
      const back = await b.reclaimDeadHubs(25_000, 0);
      assert.deepEqual(back, { hubs: ['a'], rows: 2 });
      assert.equal((await b.holdHost('c', 'a.example')).held, true, 'a dead hub\'s host is free');
      assert.deepEqual((await b.loadQueued('c', 'a.example', 0, 10)).map((q) => q.url), ['http://a.example/1', 'http://a.example/2', 'http://a.example/3'], 'its own, and those a held');
      // a, not dead after all, records page 1; b's record of it then changes nothing.
      assert.equal((await a.recordPage(page('c', 'http://a.example/1', [req('/4', 1)], 1))).recorded, true);
      assert.equal((await b.recordPage(page('c', 'http://a.example/1', [req('/5', 1)], 1))).recorded, false);
      assert.equal(await b.countItems('c'), 1);
      assert.equal(await a.heartbeat('a', { heartbeatAt: 31_000, workers: 0, leases: 0, pagesPerSec: 0 }), false, 'a learns it was taken for dead');
    } finally {
      await b.close();
      await a.close();
    }
  });

  test(`${name}: two hubs on one database: a link one hub queued is not queued again by the other, nor by itself`, async () => {
    const { storage: a, another } = await factory.open();
    const b = await another!();
    try {
      await a.createCrawl(newCrawl('c', [req('/1'), req('/2'), req('/3')]));
      assert.deepEqual((await a.recordPage(page('c', 'http://a.example/1', [req('/4', 1)]))).queued.map((q) => q.url), ['http://a.example/4']);
      assert.deepEqual((await b.recordPage(page('c', 'http://a.example/2', [req('/4', 1), req('/5', 1)]))).queued.map((q) => q.url), ['http://a.example/5'], '/4 is a\'s');
      assert.deepEqual((await a.recordPage(page('c', 'http://a.example/3', [req('/4', 1), req('/5', 1), req('/6', 1)]))).queued.map((q) => [q.url, q.seq]), [['http://a.example/6', 6]]);
      assert.deepEqual(await b.countByState('c'), { queued: 3, done: 3, failed: 0, skipped: 0 });
    } finally {
      await b.close();
      await a.close();
    }
  });

  test(`${name}: two hubs recording at once never go past maxPages: exactly that many pages, and the crawl ends with them`, async () => {
    const { storage: a, another } = await factory.open();
    const b = await another!();
    try {
      const urls = Array.from({ length: 12 }, (_, i) => req(`/${i}`));
      await a.createCrawl(newCrawl('c', urls));
      await a.setCrawlStatus('c', { status: 'running', finishReason: null, startedAt: 1000, finishedAt: null });
      const outcomes = await Promise.all(urls.map((u, i) => (i % 2 ? a : b).recordPage({ ...page('c', u.key, [], 1), maxPages: 7 })));
      assert.equal(outcomes.filter((o) => o.recorded).length, 7);
      assert.ok(outcomes.some((o) => o.limitReached), 'the hub whose page reached the limit is told');
      assert.equal((await a.countByState('c')).done, 7);
      assert.equal(await b.countItems('c'), 7);
      const row = (await b.listCrawls())[0]!;
      assert.deepEqual([row.status, row.finishReason, row.pagesDone], ['finished', 'maxPages', 7]);
    } finally {
      await b.close();
      await a.close();
    }
  });
}
