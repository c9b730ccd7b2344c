// The console's own read queries, beside the store's: searching a crawl's
// items and grouping its errors with a readable example each. Prepared once per
// database.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { StoredItem } from './store.ts';
import type { AdminErrorGroup } from '../../shared/admin-protocol.ts';

export class AdminQueries {
  private readonly search: StatementSync;
  private readonly errors: StatementSync;

  constructor(db: DatabaseSync) {
    // instr on lower() finds the text anywhere in the item's JSON or its page URL
    // (case-insensitive for ASCII letters); keyset paging by id keeps every page cheap to reach.
    this.search = db.prepare(
      `SELECT id, url, type, data, spec_version, worker, created_at FROM items
       WHERE crawl_id = ? AND id > ? AND (instr(lower(data), lower(?)) > 0 OR instr(lower(url), lower(?)) > 0)
       ORDER BY id LIMIT ?`,
    );
    // SQLite fills the bare columns (url, error_message) from the row that has MAX(done_at): the latest example.
    this.errors = db.prepare(
      `SELECT COALESCE(error_code, 'UNKNOWN') AS code, host, COUNT(*) AS n, url, error_message AS message, MAX(done_at) AS last_at
       FROM requests WHERE crawl_id = ? AND state IN (3, 4)
       GROUP BY error_code, host ORDER BY n DESC, code, host LIMIT ?`,
    );
  }

  /** Items whose data or URL contains `text`, after id `after`, at most `limit`. */
  searchItems(crawlId: string, text: string, after: number, limit: number): StoredItem[] {
    return this.search.all(crawlId, after, text, text, limit) as unknown as StoredItem[];
  }

  /** Failed and skipped pages by error code and host, largest group first, each with its latest example. */
  errorGroups(crawlId: string, limit = 200): AdminErrorGroup[] {
    const rows = this.errors.all(crawlId, limit) as { code: string; host: string; n: number; url: string; message: string | null }[];
    return rows.map((r) => ({ code: r.code, host: r.host, count: Number(r.n), exampleUrl: r.url, exampleMessage: r.message }));
  }
}
