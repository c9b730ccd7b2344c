// The two storage backends, for tests that run the same scenario on each: a
// hub's options (in-process hubs) or arguments (hub-process.ts, for SIGKILL),
// and read-only looks at what the hub's database holds, asked in SQL that
// both understand. Each backend instance is one store: a data dir, or a fresh
// PostgreSQL database on the test cluster (test/helpers/postgres.ts).
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import pg from 'pg';
import { DB_FILE } from '../../server/storage/sqlite/schema.ts';
import { tempDir } from './hub.ts';
import { createTestDatabase } from './postgres.ts';

export type BackendName = 'SQLite' | 'PostgreSQL';
export const BACKENDS: readonly BackendName[] = ['SQLite', 'PostgreSQL'];

export interface TestStore {
  readonly name: BackendName;
  /** The hub's data dir (the admin token; the SQLite file too). */
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** For startTestHub: the data dir, and the database URL on PostgreSQL. */
  hubOptions(): { dataDir: string; databaseUrl?: string };
  /** For hub-process.ts: DATA_DIR PORT [DATABASE_URL]. */
  hubArgs(port?: string): string[];
  /** Rows of a query with `?` placeholders (numbered for PostgreSQL), read on a connection of its own. */
  query<R extends Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<R[]>;
  /** The database's own consistency check (SQLite's integrity_check; PostgreSQL checks its pages itself). */
  checkIntegrity(): Promise<void>;
  remove(): Promise<void>;
}

export async function openTestStore(name: BackendName): Promise<TestStore> {
  const dir = tempDir();
  const db = name === 'PostgreSQL' ? await createTestDatabase() : undefined;
  const databaseUrl = db?.url;
  return {
    name,
    dataDir: dir.path,
    databaseUrl,
    hubOptions: () => (databaseUrl ? { dataDir: dir.path, databaseUrl } : { dataDir: dir.path }),
    hubArgs: (port) => [dir.path, port ?? '0', ...(databaseUrl ? [databaseUrl] : [])],
    async query<R extends Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<R[]> {
      if (!databaseUrl) {
        const file = new DatabaseSync(join(dir.path, DB_FILE), { readOnly: true });
        try {
          return file.prepare(sql).all(...(params as (string | number)[])).map((r) => ({ ...r }) as R);
        } finally {
          file.close();
        }
      }
      let n = 0;
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const rows = (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as Record<string, unknown>[];
        // BIGINT counts come back as strings: numbers, as SQLite gives them.
        return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'data' ? Number(v) : v])) as R);
      } finally {
        await client.end();
      }
    },
    async checkIntegrity() {
      if (databaseUrl) return;
      const file = new DatabaseSync(join(dir.path, DB_FILE));
      try {
        const result = (file.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
        if (result !== 'ok') throw new Error(`integrity_check: ${result}`);
      } finally {
        file.close();
      }
    },
    async remove() {
      await db?.drop();
      dir.remove();
    },
  };
}
