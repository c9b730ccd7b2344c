// The storage contract on the PostgreSQL backend, each test on a database of its own
// (the throwaway cluster of test/setup/postgres.ts; never skipped).
import { after } from 'node:test';
import { PostgresStorage } from '../../../server/storage/postgres/postgres-storage.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.ts';
import { storageContract } from './storage-contract.ts';

const databases: TestDatabase[] = [];
after(async () => {
  for (const db of databases) await db.drop();
});

storageContract('PostgreSQL', {
  async open() {
    const db = await createTestDatabase();
    databases.push(db);
    return { storage: await PostgresStorage.open(db.url), reopen: () => PostgresStorage.open(db.url), another: () => PostgresStorage.open(db.url) };
  },
  shared: true,
});
