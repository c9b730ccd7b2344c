// The storage contract on the embedded SQLite backend, each test on a data dir of its own.
import { after } from 'node:test';
import { SqliteStorage } from '../../../server/storage/sqlite/sqlite-storage.ts';
import { tempDir } from '../../helpers/hub.ts';
import { storageContract } from './storage-contract.ts';

const dirs: { remove(): void }[] = [];
after(() => {
  for (const dir of dirs) dir.remove();
});

storageContract('SQLite', {
  async open() {
    const dir = tempDir('crowdcrawl-storage-');
    dirs.push(dir);
    return { storage: SqliteStorage.open(dir.path), reopen: async () => SqliteStorage.open(dir.path) };
  },
});
