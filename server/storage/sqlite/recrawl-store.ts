// The SQLite backend's re-crawl and crawl-deletion writes (server/ops/ is
// their one user): a re-crawl is seeded with the previous run's URLs and what
// it knew of each (ETag, Last-Modified, content hash); an unchanged page is
// recorded with the previous run's items, copied in SQL, in one transaction.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { CarriedPage, PreviousPage, RecrawlStorage, StoredItem } from '../storage.ts';
import { storedItem } from './rows.ts';
import type { GroupCommit } from './group-commit.ts';
import { VALIDATION_CODES } from './trust-store.ts';

type Row = Record<string, unknown>;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

type RecrawlMethods = RecrawlStorage<StoredItem>;

export class SqliteRecrawlStore implements RecrawlMethods {
  private readonly commits: GroupCommit;
  private readonly s: Record<string, StatementSync>;
  /** Forgets the storage's cached next queue place of a crawl (seeding writes places itself). */
  private readonly forgetSeq: (crawlId: string) => void;
  /** The next item id: the item feed hands them out (item-feed.ts), inside the transaction. */
  private readonly takeItemId: () => number;

  constructor(db: DatabaseSync, commits: GroupCommit, storage: { forgetSeq(crawlId: string): void; takeItemId(): number }) {
    this.commits = commits;
    this.forgetSeq = storage.forgetSeq;
    this.takeItemId = storage.takeItemId;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      deleteItems: p('DELETE FROM items WHERE crawl_id = ?'),
      deleteWithdrawals: p('DELETE FROM item_withdrawals WHERE crawl_id = ?'),
      deleteRequests: p('DELETE FROM requests WHERE crawl_id = ?'),
      deleteSources: p('DELETE FROM crawl_sources WHERE crawl_id = ?'),
      deleteRecrawl: p('DELETE FROM recrawls WHERE crawl_id = ? OR previous_crawl_id = ?'),
      deleteCrawl: p('DELETE FROM crawls WHERE id = ?'),
      maxSeq: p('SELECT COALESCE(MAX(seq), 0) AS m FROM requests WHERE crawl_id = ?'),
      // Done pages bring what the previous run knew of them; others are simply queued again.
      seed: p(
        `INSERT OR IGNORE INTO requests (crawl_id, key, url, host, depth, seq, state, prev_etag, prev_last_modified, prev_hash)
         SELECT ?, key, url, host, depth, ? + ROW_NUMBER() OVER (ORDER BY seq), 0,
                CASE WHEN ? AND state = 2 THEN etag END, CASE WHEN ? AND state = 2 THEN last_modified END,
                CASE WHEN ? AND state = 2 THEN content_hash END
         FROM requests WHERE crawl_id = ? ORDER BY seq`,
      ),
      // The new crawl's start URLs were queued before the seeding: they get what the previous run knew too.
      seedStarts: p(
        `UPDATE requests AS n SET prev_etag = p.etag, prev_last_modified = p.last_modified, prev_hash = p.content_hash
         FROM requests AS p WHERE n.crawl_id = ? AND n.state = 0 AND p.crawl_id = ? AND p.key = n.key AND p.state = 2`,
      ),
      insertRecrawl: p('INSERT OR REPLACE INTO recrawls (crawl_id, previous_crawl_id) VALUES (?, ?)'),
      listRecrawls: p('SELECT crawl_id, previous_crawl_id FROM recrawls'),
      previousPage: p('SELECT prev_etag, prev_last_modified, prev_hash FROM requests WHERE crawl_id = ? AND key = ? AND state = 0'),
      setValidators: p('UPDATE requests SET etag = ?, last_modified = ? WHERE crawl_id = ? AND key = ?'),
      markCarried: p(
        `UPDATE requests SET state = 2, final_url = ?, http_status = ?, content_hash = ?, etag = coalesce(?, prev_etag),
         last_modified = coalesce(?, prev_last_modified), unchanged = 1, items = 0, links = 0, worker = 'hub', lease_id = NULL,
         spec_version = ?, done_at = ?, validation = ${VALIDATION_CODES.hub}, attempts = attempts + 1, error_code = NULL, error_message = NULL
         WHERE crawl_id = ? AND key = ? AND state = 0`,
      ),
      previousItems: p('SELECT url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = ? AND request_key = ? ORDER BY id'),
      insertCarried: p(
        `INSERT INTO items (id, crawl_id, request_key, url, type, data, spec_version, worker, created_at, carried)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
      ),
      setItems: p('UPDATE requests SET items = ? WHERE crawl_id = ? AND key = ?'),
      bump: p('UPDATE crawls SET pages_done = pages_done + 1, items_count = items_count + ? WHERE id = ?'),
      changedItems: p('SELECT id, url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = ? AND id > ? AND carried = 0 ORDER BY id LIMIT ?'),
      unchanged: p('SELECT COUNT(*) AS n FROM requests WHERE crawl_id = ? AND unchanged = 1'),
      carried: p('SELECT COUNT(*) AS n FROM items WHERE crawl_id = ? AND carried = 1'),
    };
  }

  deleteCrawl(crawlId: string): Promise<boolean> {
    return this.commits.run(() => {
      this.s.deleteItems!.run(crawlId);
      this.s.deleteWithdrawals!.run(crawlId);
      this.s.deleteRequests!.run(crawlId);
      this.s.deleteSources!.run(crawlId);
      this.s.deleteRecrawl!.run(crawlId, crawlId);
      this.forgetSeq(crawlId);
      return Number(this.s.deleteCrawl!.run(crawlId).changes) === 1;
    });
  }

  seedRecrawl(crawlId: string, previousCrawlId: string, withValidators: boolean): Promise<number> {
    return this.commits.run(() => {
      const after = Number((this.s.maxSeq!.get(crawlId) as Row).m);
      const v = withValidators ? 1 : 0;
      const queued = Number(this.s.seed!.run(crawlId, after, v, v, v, previousCrawlId).changes);
      if (withValidators) this.s.seedStarts!.run(crawlId, previousCrawlId);
      this.s.insertRecrawl!.run(crawlId, previousCrawlId);
      this.forgetSeq(crawlId);
      return queued;
    });
  }

  async listRecrawls(): Promise<{ crawlId: string; previousCrawlId: string }[]> {
    return this.s.listRecrawls!.all().map((r) => ({ crawlId: String(r.crawl_id), previousCrawlId: String(r.previous_crawl_id) }));
  }

  async previousPage(crawlId: string, key: string): Promise<PreviousPage | undefined> {
    const r = this.s.previousPage!.get(crawlId, key) as Row | undefined;
    if (!r || (r.prev_etag === null && r.prev_last_modified === null && r.prev_hash === null)) return undefined;
    return { etag: strOrNull(r.prev_etag), lastModified: strOrNull(r.prev_last_modified), contentHash: strOrNull(r.prev_hash) };
  }

  setValidators(crawlId: string, key: string, v: { etag: string | null; lastModified: string | null }): Promise<void> {
    return this.commits.run(() => {
      this.s.setValidators!.run(v.etag?.slice(0, 500) ?? null, v.lastModified?.slice(0, 100) ?? null, crawlId, key);
    });
  }

  carryPage(c: CarriedPage): Promise<{ recorded: boolean; items: number }> {
    return this.commits.run(() => {
      const changes = this.s.markCarried!.run(
        c.finalUrl, c.httpStatus, c.contentHash, c.etag?.slice(0, 500) ?? null, c.lastModified?.slice(0, 100) ?? null, c.specVersion, c.doneAt, c.crawlId, c.key,
      ).changes;
      if (Number(changes) !== 1) return { recorded: false, items: 0 };
      // One by one: each carried item takes its id from the item feed, like any new item.
      const previous = this.s.previousItems!.all(c.previousCrawlId, c.key);
      for (const r of previous) {
        this.s.insertCarried!.run(this.takeItemId(), c.crawlId, c.key, r.url as string, r.type as string, r.data as string, r.spec_version as number, r.worker as string | null, r.created_at as number);
      }
      const items = previous.length;
      this.s.setItems!.run(items, c.crawlId, c.key);
      this.s.bump!.run(items, c.crawlId);
      return { recorded: true, items };
    });
  }

  async *iterateChangedItems(crawlId: string, batch = 1000, after = 0): AsyncGenerator<StoredItem> {
    for (;;) {
      const rows = this.s.changedItems!.all(crawlId, after, batch);
      if (rows.length === 0) return;
      for (const row of rows) yield storedItem(row);
      after = Number((rows[rows.length - 1] as Row).id);
    }
  }

  async recrawlCounts(crawlId: string): Promise<{ pagesUnchanged: number; itemsCarried: number }> {
    return {
      pagesUnchanged: Number((this.s.unchanged!.get(crawlId) as Row).n),
      itemsCarried: Number((this.s.carried!.get(crawlId) as Row).n),
    };
  }
}

const RECRAWL_METHODS = ['deleteCrawl', 'seedRecrawl', 'listRecrawls', 'previousPage', 'setValidators', 'carryPage', 'iterateChangedItems', 'recrawlCounts'] as const satisfies readonly (keyof RecrawlMethods)[];

/** Gives `target` the re-crawl store's methods (see delegateOps). */
export function delegateRecrawls(target: object, store: SqliteRecrawlStore): void {
  for (const name of RECRAWL_METHODS) Object.defineProperty(target, name, { value: store[name].bind(store), enumerable: false });
}
