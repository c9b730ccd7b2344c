// `crowdcrawl migrate`: copies a hub's SQLite data dir into an empty PostgreSQL
// database, crawls in progress included (their queued requests, items,
// sources and counters), with the trust state, bans, worker tokens, kept
// bodies, contributors and saved specs. Table by table in pages of `batch`
// rows (read by primary key, written as one multi-row INSERT each), so memory
// holds one page at a time whatever the size; all in one transaction, so a
// copy that fails leaves the target empty and can simply be run again. Item
// ids and feed positions are kept, so exports and followers' cursors carry over.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { ErrorCode } from '../../../shared/errors.ts';
import { DB_FILE, openDatabase } from '../sqlite/schema.ts';
import { PostgresStorage } from './postgres-storage.ts';

export class MigrateError extends Error {
  override readonly name = 'MigrateError';
  readonly code: typeof ErrorCode.MIGRATE_TARGET_NOT_EMPTY | typeof ErrorCode.MIGRATE_SOURCE_MISSING;
  constructor(code: MigrateError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

interface TableCopy {
  table: string;
  /** Column name and its PostgreSQL type (for the unnest casts). */
  columns: [string, string][];
  /** The primary key's columns: the order pages are read in. */
  key: string[];
  /** A value as PostgreSQL takes it (SQLite has no booleans and gives BLOBs as Uint8Array). */
  convert?: Partial<Record<string, (v: unknown) => unknown>>;
  /** What to read for a column SQLite does not have by that name. */
  from?: Partial<Record<string, string>>;
}

const text = (names: string) => names.split(' ').map((n): [string, string] => [n, 'text']);
const big = (names: string) => names.split(' ').map((n): [string, string] => [n, 'bigint']);

const TABLES: TableCopy[] = [
  {
    table: 'crawls',
    columns: [
      ...text('id name spec'), ['spec_version', 'int'], ...text('status finish_reason'), ...big('created_at started_at finished_at'),
      ...big('pages_done pages_failed pages_skipped items_count pages_checked pages_trusted results_rejected extra_extractions items_withdrawn'),
    ],
    key: ['id'],
  },
  {
    table: 'requests',
    columns: [
      ...text('crawl_id key url host'), ['depth', 'int'], ['seq', 'bigint'], ['state', 'smallint'], ['attempts', 'int'], ['not_before', 'bigint'],
      ...text('final_url'), ['http_status', 'int'], ...text('content_hash'), ['items', 'int'], ['links', 'int'], ...text('worker lease_id'),
      ['spec_version', 'int'], ...text('error_code error_message'), ['done_at', 'bigint'], ...text('client_id'), ['validation', 'smallint'], ...text('result_digest'),
    ],
    key: ['crawl_id', 'key'],
  },
  {
    table: 'items',
    columns: [['id', 'bigint'], ...text('crawl_id request_key url type data'), ['spec_version', 'int'], ...text('worker'), ['created_at', 'bigint'], ['position', 'bigint']],
    key: ['id'],
    // SQLite's item ids are its feed positions (sqlite/item-feed.ts): a follower's cursor stays good.
    from: { position: 'id' },
  },
  { table: 'item_withdrawals', columns: [...text('crawl_id'), ['position', 'bigint'], ['item_id', 'bigint']], key: ['position'] },
  {
    table: 'crawl_sources',
    columns: [...text('crawl_id url kind scope_base'), ['nesting', 'int'], ['state', 'smallint'], ['attempts', 'int'], ['not_before', 'bigint'], ['urls_queued', 'bigint'], ...text('error_code error_message'), ['done_at', 'bigint']],
    key: ['crawl_id', 'url'],
  },
  { table: 'contributors', columns: [...text('id client_id name kind'), ...big('pages items first_seen_at last_seen_at')], key: ['id'] },
  { table: 'specs', columns: [...text('id name spec'), ...big('created_at updated_at')], key: ['id'] },
  {
    table: 'bodies',
    columns: [...text('content_hash'), ['data', 'bytea'], ['stored_at', 'bigint']],
    key: ['content_hash'],
    convert: { data: (v) => Buffer.from(v as Uint8Array) },
  },
  {
    table: 'trust',
    columns: [...text('key label'), ...big('checked valid invalid trusted strikes consecutive_valid'), ['banned', 'boolean'], ...text('last_reason'), ['updated_at', 'bigint']],
    key: ['key'],
    convert: { banned: (v) => Number(v) === 1 },
  },
  { table: 'bans', columns: [...text('kind value reason'), ['created_at', 'bigint']], key: ['kind', 'value'] },
  { table: 'worker_tokens', columns: [...text('id name token_hash'), ['created_at', 'bigint']], key: ['id'] },
];

export interface MigrateProgress {
  table: string;
  rows: number;
}

/** Copies the data dir's database into the empty database at `url`; answers how many rows of each table. */
export async function copySqliteToPostgres(
  dataDir: string,
  url: string,
  options: { batch?: number; onProgress?: (p: MigrateProgress) => void } = {},
): Promise<Record<string, number>> {
  if (!existsSync(join(dataDir, DB_FILE))) {
    throw new MigrateError(ErrorCode.MIGRATE_SOURCE_MISSING, `no hub database in ${dataDir} (looked for ${DB_FILE})`);
  }
  const batch = options.batch ?? 2000;
  // Brings an older data dir's schema up to date first, as the hub would on start.
  const source = openDatabase(dataDir);
  let target: PostgresStorage | undefined;
  try {
    target = await PostgresStorage.open(url);
    const client = await target.pool.connect();
    try {
      const holding: string[] = [];
      for (const t of TABLES) {
        if ((await client.query(`SELECT EXISTS (SELECT 1 FROM ${t.table}) AS any`)).rows[0].any) holding.push(t.table);
      }
      if (holding.length > 0) {
        throw new MigrateError(ErrorCode.MIGRATE_TARGET_NOT_EMPTY, `the target database is not empty (${holding.join(', ')} hold rows): migrate copies into an empty database only`);
      }
      const counts: Record<string, number> = {};
      await client.query('BEGIN');
      try {
        for (const t of TABLES) {
          counts[t.table] = await copyTable(source, client, t, batch, (rows) => options.onProgress?.({ table: t.table, rows }));
        }
        // The next queue position of each crawl (the SQLite backend keeps it in memory), and the next item id.
        await client.query('UPDATE crawls c SET next_seq = COALESCE((SELECT MAX(seq) FROM requests r WHERE r.crawl_id = c.id), 0) + 1');
        await client.query(`SELECT setval(pg_get_serial_sequence('items', 'id'), COALESCE((SELECT MAX(id) FROM items), 0) + 1, false)`);
        // Each crawl's item feed goes on after the last position it had (items' and tombstones').
        await client.query(`UPDATE crawls c SET feed_position = GREATEST(
          COALESCE((SELECT MAX(position) FROM items i WHERE i.crawl_id = c.id), 0),
          COALESCE((SELECT MAX(position) FROM item_withdrawals w WHERE w.crawl_id = c.id), 0))`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
      return counts;
    } finally {
      client.release();
    }
  } finally {
    source.close();
    await target?.close();
  }
}

async function copyTable(
  source: DatabaseSync,
  client: { query(text: string, values?: unknown[]): Promise<unknown> },
  t: TableCopy,
  batch: number,
  onProgress: (rows: number) => void,
): Promise<number> {
  const names = t.columns.map(([n]) => n);
  const selected = names.map((n) => (t.from?.[n] ? `${t.from[n]} AS ${n}` : n)).join(', ');
  const keyList = t.key.join(', ');
  const after = t.key.length === 1 ? `${t.key[0]} > ?` : `(${keyList}) > (${t.key.map(() => '?').join(', ')})`;
  const first = source.prepare(`SELECT ${selected} FROM ${t.table} ORDER BY ${keyList} LIMIT ?`);
  const next = source.prepare(`SELECT ${selected} FROM ${t.table} WHERE ${after} ORDER BY ${keyList} LIMIT ?`);
  const insert = `INSERT INTO ${t.table} (${names.join(', ')}) SELECT * FROM unnest(${t.columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})`;
  let total = 0;
  let last: unknown[] | undefined;
  for (;;) {
    const rows = (last ? next.all(...(last as (string | number)[]), batch) : first.all(batch)) as Record<string, unknown>[];
    if (rows.length === 0) return total;
    const columns = names.map((n) => {
      const convert = t.convert?.[n];
      return rows.map((r) => (r[n] === null || r[n] === undefined ? null : convert ? convert(r[n]) : r[n]));
    });
    await client.query(insert, columns);
    total += rows.length;
    onProgress(total);
    last = t.key.map((k) => rows[rows.length - 1]![k]);
  }
}
