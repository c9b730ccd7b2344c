// SQLite: a crawl's end decided on storage (Storage.endCrawlIfDrained), as on
// PostgreSQL (postgres/crawl-sync.ts). A SQLite hub is a fleet of one, so its
// memory already knows; the method keeps one Storage for both backends.
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export class SqliteCrawlSync {
  private readonly endStatement: StatementSync;

  constructor(db: DatabaseSync) {
    this.endStatement = db.prepare(
      `UPDATE crawls SET status = 'finished', finish_reason = 'completed', finished_at = ?
       WHERE id = ? AND status = 'running'
         AND NOT EXISTS (SELECT 1 FROM requests WHERE crawl_id = ? AND state = 0)
         AND NOT EXISTS (SELECT 1 FROM crawl_sources WHERE crawl_id = ? AND state = 0)`,
    );
  }

  /** Inside a write of the group commit. */
  endIfDrained(crawlId: string, at: number): boolean {
    return Number(this.endStatement.run(at, crawlId, crawlId, crawlId).changes) === 1;
  }
}
