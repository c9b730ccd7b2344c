// The throwaway cluster the PostgreSQL tests run on: a database per test, each empty and apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTestDatabase } from '../helpers/postgres.ts';

test('each test database is new, empty and separate; dropped, it is gone', async () => {
  const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  assert.notEqual(a.name, b.name);
  const client = new pg.Client({ connectionString: a.url });
  await client.connect();
  try {
    await client.query('CREATE TABLE t (x int)');
    const tables = async (url: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((r) => r.table_name);
      } finally {
        await c.end();
      }
    };
    assert.deepEqual(await tables(a.url), ['t']);
    assert.deepEqual(await tables(b.url), [], 'the other database does not see it');
  } finally {
    await client.end();
  }
  await a.drop();
  await b.drop();
  const gone = new pg.Client({ connectionString: a.url });
  await assert.rejects(gone.connect(), /does not exist/);
});
