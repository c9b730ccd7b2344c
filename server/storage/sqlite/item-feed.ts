// The SQLite backend's item feed (Storage.itemFeed): a crawl's items and the
// withdrawals of items, in one sequence of positions, in the order they were
// committed. Item ids are positions too: this file hands them out.
//
// Why positions cannot be skipped by a reader: there is one writer, and every
// position is taken inside the group commit's transaction, from a counter
// above every id and tombstone ever stored; a reader's query sees a committed
// state. So once a reader has seen position N, every later commit gets
// positions above N. SQLite's own rowid choice (the largest + 1) would reuse
// the ids of withdrawn items at the top of the table: ids are assigned here instead.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { FeedEntry } from '../storage.ts';
import { storedItem } from './rows.ts';

type Row = Record<string, unknown>;

export class SqliteItemFeed {
  private readonly maxPosition: StatementSync;
  private readonly pageItemIds: StatementSync;
  private readonly insertWithdrawal: StatementSync;
  private readonly read: StatementSync;
  private next: number | undefined;

  constructor(db: DatabaseSync) {
    this.maxPosition = db.prepare(
      'SELECT MAX(m) AS m FROM (SELECT MAX(id) AS m FROM items UNION ALL SELECT MAX(position) AS m FROM item_withdrawals)',
    );
    this.pageItemIds = db.prepare('SELECT id FROM items WHERE crawl_id = ? AND request_key = ? ORDER BY id');
    this.insertWithdrawal = db.prepare('INSERT INTO item_withdrawals (position, crawl_id, item_id) VALUES (?, ?, ?)');
    this.read = db.prepare(
      `SELECT id AS position, id, url, type, data, spec_version, worker, created_at, NULL AS withdrawn FROM items WHERE crawl_id = ? AND id > ?
       UNION ALL
       SELECT position, NULL, NULL, NULL, NULL, NULL, NULL, NULL, item_id FROM item_withdrawals WHERE crawl_id = ? AND position > ?
       ORDER BY position LIMIT ?`,
    );
  }

  /** The next position (an item's id, or a tombstone's); call only inside a write transaction. */
  take(): number {
    this.next ??= Number((this.maxPosition.get() as { m: number | null }).m ?? 0) + 1;
    return this.next++;
  }

  /** A rolled-back transaction may have taken positions it did not store: read the counter again. */
  forget(): void {
    this.next = undefined;
  }

  /** Tombstones for a page's items, before they are deleted (inside the same transaction). */
  withdrawPageItems(crawlId: string, key: string): void {
    for (const row of this.pageItemIds.all(crawlId, key)) this.insertWithdrawal.run(this.take(), crawlId, Number((row as Row).id));
  }

  entries(crawlId: string, after: number, limit: number): FeedEntry[] {
    return this.read.all(crawlId, after, crawlId, after, limit).map((value) => {
      const row = value as Row;
      const cursor = Number(row.position);
      return row.withdrawn === null ? { cursor, item: storedItem(row) } : { cursor, withdrawn: Number(row.withdrawn) };
    });
  }
}
