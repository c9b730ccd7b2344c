// `crowdcrawl migrate`: a crawl half done on SQLite, copied into PostgreSQL and
// finished by a hub there, gives exactly the items a straight crawl gives; every
// table arrives whole; a target that holds data, or a dir without a database,
// is refused with its code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { expectedQuotes, quotesSite } from '../../fixtures/site/quotes.ts';
import { startFixtureServer, type FixtureServer } from '../../fixtures/site/server.ts';
import { quotesSpec, startTestHub, startWorkers, tempDir, waitForCrawlEnd } from '../../helpers/hub.ts';
import { createTestDatabase } from '../../helpers/postgres.ts';
import { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';
import type { Storage } from '../../../server/storage/storage.ts';

const MAIN = new URL('../../../server/cli/main.ts', import.meta.url).pathname;

let site: FixtureServer;
before(async () => {
  site = await startFixtureServer(quotesSite({ pages: 100 }));
});
after(() => site.close());

function crowdcrawl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
const migrate = (args: string[]) => crowdcrawl(['migrate', ...args]);

/** Everything but the crawl's moving parts, as the Storage interface shows it. */
async function snapshot(s: Storage) {
  const crawls = await s.listCrawls();
  return {
    crawls,
    states: await Promise.all(crawls.map((c) => s.countByState(c.id))),
    items: await Promise.all(crawls.map(async (c) => (await Array.fromAsync(s.iterateItems(c.id))).map((i) => [i.id, i.url, i.data]))),
    queued: await Promise.all(crawls.map((c) => s.countQueued(c.id))),
    // Positions carry over: a follower's cursor from before the move stays good.
    feed: await Promise.all(crawls.map(async (c) => (await s.itemFeed(c.id, 0, 100_000)).map((e) => e.cursor))),
    sources: await Promise.all(crawls.map((c) => s.listSources(c.id))),
    bans: await s.listBans(),
    tokens: await s.listWorkerTokens(),
    trust: (await s.listTrust()).sort((a, b) => (a.key < b.key ? -1 : 1)),
    specs: await s.listSpecs(),
    contributors: await s.topContributors(100),
    body: await s.getBody('body-1'),
  };
}

test('a crawl half done on SQLite, migrated to PostgreSQL and finished there: exactly the items of a straight crawl; every table copied', async () => {
  const dir = tempDir();
  const db = await createTestDatabase();
  try {
    // Half a crawl on SQLite, then the hub stops (as an operator stops it to migrate).
    const first = await startTestHub({ dataDir: dir.path });
    const workers = await startWorkers(first.url, 2, { concurrency: 2 });
    const crawl = await first.engine.createCrawl(quotesSpec(site.origin));
    while (first.engine.crawls.get(crawl.id)!.summary().pagesDone < 40) await new Promise((r) => setTimeout(r, 10));
    await Promise.all(workers.map((w) => w.stop()));
    // The rest of what a hub keeps: a ban, a token, trust records, a saved spec, a kept body (on a crawl of its own).
    await first.storage.addBan({ kind: 'address', value: '10.0.0.9', reason: 'strikes', createdAt: 5 });
    await first.storage.insertWorkerToken({ id: 'tok', name: 'edge', tokenHash: 'hash', createdAt: 6 });
    await first.storage.saveTrust([{ key: 'client:x', label: 'x', checked: 3, valid: 2, invalid: 1, trusted: 4, strikes: 1, consecutiveValid: 0, banned: true, lastReason: 'wrong', updatedAt: 7 }]);
    await first.storage.insertSpec({ id: 'spec-1', name: 'Quotes', spec: '{"name":"q"}', createdAt: 1, updatedAt: 2 });
    const side = { url: 'http://b.example/', key: 'http://b.example/', host: 'b.example', depth: 0 };
    await first.storage.createCrawl({ id: 'side', name: 'side', spec: JSON.stringify(quotesSpec('http://b.example')), specVersion: 1, createdAt: 1, startUrls: [side], sources: [] });
    await first.storage.recordPage({
      crawlId: 'side', key: side.key, finalUrl: side.url, httpStatus: 200, contentHash: 'body-1', items: [], links: [], worker: 'w', leaseId: 'l', specVersion: 1,
      doneAt: 3, clientId: 'x', validation: 'trusted', resultDigest: 'd', rejected: 0, extraExtractions: 0, body: { contentHash: 'body-1', data: new Uint8Array([0, 1, 255]) },
    });
    const half = first.engine.crawls.get(crawl.id)!.summary().pagesDone;
    await first.cleanup();
    assert.ok(half >= 40 && half < 100, `stopped half way (${half} pages)`);

    // Copied, in small batches (the memory bound is exercised: many pages per table).
    const copied = await migrate(['--from', dir.path, '--to', db.url, '--batch', '7']);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stdout, /requests\s+\d+/);
    const sqlite = SqliteStorage.open(dir.path);
    const pgStore = await PostgresStorage.open(db.url);
    try {
      const [a, b] = [await snapshot(sqlite), await snapshot(pgStore)];
      assert.deepEqual({ ...b, body: [...(b.body ?? [])] }, { ...a, body: [...(a.body ?? [])] }, 'PostgreSQL holds what SQLite held');
      assert.deepEqual([...(b.body ?? [])], [0, 1, 255]);
      // The copy goes on giving queue places after the ones SQLite gave.
      const lastSeq = (sqlite.db.prepare('SELECT MAX(seq) AS m FROM requests WHERE crawl_id = ?').get(crawl.id) as { m: number }).m;
      const host = (await pgStore.nextQueuedHost(crawl.id, ''))!;
      const [queued] = await pgStore.loadQueued(crawl.id, host, 0, 1);
      const moved = await pgStore.requeue(crawl.id, queued!.key, { attempts: queued!.attempts, notBefore: 0, code: 'RELAY_TIMEOUT', message: 'moved' });
      assert.equal(moved?.seq, lastSeq + 1);
    } finally {
      sqlite.db.close();
      await pgStore.close();
    }

    // A target that holds data is refused, and left as it was.
    const again = await migrate(['--from', dir.path, '--to', db.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /MIGRATE_TARGET_NOT_EMPTY/);

    // Finished on PostgreSQL: the items of a straight crawl, each once.
    const second = await startTestHub({ dataDir: dir.path, databaseUrl: db.url });
    const more = await startWorkers(second.url, 2, { concurrency: 2 });
    try {
      const summary = await waitForCrawlEnd(second, crawl.id, 120_000);
      assert.deepEqual([summary.status, summary.pagesDone, summary.items], ['finished', 100, 1000]);
      const items = (await Array.fromAsync(second.storage.iterateItems(crawl.id))).map((row) => ({ url: row.url, ...(JSON.parse(row.data) as { text: string; author: string }) }));
      const expected = Array.from({ length: 100 }, (_, i) => i + 1).flatMap((page) =>
        expectedQuotes(page).map((q) => ({ url: `${site.origin}/page/${page}/`, text: q.text, author: q.author })),
      );
      const key = (i: { url: string; text: string }) => `${i.url} ${i.text}`;
      assert.deepEqual(items.map(key).sort(), expected.map(key).sort(), 'exactly the straight crawl\'s items, none twice');
      assert.deepEqual(await second.storage.countByState(crawl.id), { queued: 0, done: 100, failed: 0, skipped: 0 });
    } finally {
      await Promise.all(more.map((w) => w.stop()));
      await second.cleanup();
    }
  } finally {
    await db.drop();
    dir.remove();
  }
});

test('migrate refuses a dir without a hub database and a bad command line; a hub whose database does not answer stops with STORAGE_UNAVAILABLE', async () => {
  const dir = tempDir();
  try {
    const missing = await migrate(['--from', dir.path, '--to', 'postgres://postgres@127.0.0.1:1/none']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /MIGRATE_SOURCE_MISSING/);
    const bad = await migrate(['--from', dir.path, '--to', 'mysql://x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--to must be a database URL/);
    // The hub itself, on a database that does not answer: STORAGE_UNAVAILABLE, exit 1, the password not shown.
    const hub = await crowdcrawl(['hub', '--port', '0', '--data-dir', dir.path, '--database-url', 'postgres://postgres:hunter2@127.0.0.1:1/none']);
    assert.equal(hub.code, 1);
    assert.match(hub.stderr, /STORAGE_UNAVAILABLE: cannot connect to the database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none/);
    assert.doesNotMatch(hub.stderr, /hunter2/);
  } finally {
    dir.remove();
  }
});
