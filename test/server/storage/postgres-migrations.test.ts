// The PostgreSQL schema: made from an empty database, migrated from every
// earlier version (each version's database made by stopping the migrations
// there), applied once when several hubs start at once, and a database that
// cannot be reached, or is newer than this code, refused with STORAGE_UNAVAILABLE.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';
import { MIGRATIONS, migrate, schemaVersion } from '../../../server/storage/postgres/schema.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const db of databases) await db.drop();
});

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A crawl with a page recorded and its link queued: the schema does what the hub needs of it. */
async function roundTrip(storage: PostgresStorage): Promise<void> {
  const url = (path: string) => ({ url: `http://a.example${path}`, key: `http://a.example${path}`, host: 'a.example', depth: 0 });
  await storage.createCrawl({ id: 'c', name: 'c', spec: '{}', specVersion: 1, createdAt: 1, startUrls: [url('/')], sources: [] });
  const page = await storage.recordPage({
    crawlId: 'c', key: 'http://a.example/', finalUrl: 'http://a.example/', httpStatus: 200, contentHash: 'h', items: [{ type: 't', data: { a: '1' } }],
    links: [url('/next')], worker: 'w', leaseId: 'l', specVersion: 1, doneAt: 2, clientId: null, validation: 'hub', resultDigest: 'd', rejected: 0, extraExtractions: 0,
  });
  assert.deepEqual(page.queued.map((q) => [q.url, q.seq]), [['http://a.example/next', 2]]);
  assert.equal(await storage.countItems('c'), 1);
}

for (let from = 0; from < MIGRATIONS.length; from++) {
  test(`a database at schema version ${from} is brought to ${MIGRATIONS.length}, each migration once, and works`, async () => {
    const db = await freshDatabase();
    if (from > 0) await withClient(db.url, (c) => migrate(c, 1, from));
    const storage = await PostgresStorage.open(db.url);
    try {
      await roundTrip(storage);
      const versions = await withClient(db.url, async (c) => (await c.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => r.version));
      assert.deepEqual(versions, MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await storage.close();
    }
    // Opened again: nothing left to do, the data is there.
    const again = await PostgresStorage.open(db.url);
    try {
      assert.equal(await again.countQueued('c'), 1);
    } finally {
      await again.close();
    }
  });
}

test('hubs starting at once on an empty database make the schema once (the advisory lock)', async () => {
  const db = await freshDatabase();
  const opened = await Promise.all(Array.from({ length: 4 }, () => PostgresStorage.open(db.url)));
  try {
    assert.equal(await withClient(db.url, (c) => schemaVersion(c)), MIGRATIONS.length);
    await roundTrip(opened[2]!);
    assert.equal(await opened[0]!.countQueued('c'), 1, 'every hub sees the one schema and its rows');
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
});

test('a database newer than this code, or one that cannot be reached, is refused with STORAGE_UNAVAILABLE', async () => {
  const db = await freshDatabase();
  await (await PostgresStorage.open(db.url)).close();
  await withClient(db.url, (c) => c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)', [MIGRATIONS.length + 1]));
  await assert.rejects(PostgresStorage.open(db.url), (e: Error & { code?: string }) => e.code === 'STORAGE_UNAVAILABLE' && /newer than this crowdcrawl knows/.test(e.message));

  const unreachable = new URL(db.url);
  unreachable.port = '1';
  unreachable.password = 'secret-password';
  await assert.rejects(PostgresStorage.open(unreachable.toString(), { connectTimeoutMs: 2000 }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'STORAGE_UNAVAILABLE');
    assert.match(e.message, /cannot connect to the database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\//);
    assert.doesNotMatch(e.message, /secret-password/, 'the password is not shown');
    return true;
  });
});
