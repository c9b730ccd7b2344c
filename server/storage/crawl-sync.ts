// A crawl across the fleet (server/crawl/sync.ts, docs/scale-out.md): what
// storage decides for every hub sharing it, so no hub decides from its own
// memory. Part of the Storage interface; both backends implement it
// (postgres/crawl-sync.ts, sqlite/crawl-sync.ts).
import type { FleetStorage } from './fleet-rows.ts';

/**
 * What a hub of a fleet adds to a page to record (server/crawl/sync.ts): its
 * crawl's maxPages, which a backend a fleet shares keeps in the page's
 * transaction (RecordedPage.limitReached); SQLite ignores it.
 */
export interface FleetLimit {
  maxPages?: number;
}

/** What recordPage answers (generic so this file needs nothing of storage.ts: no import circle). */
export interface RecordedPage<Entry> {
  recorded: boolean;
  queued: Entry[];
  /**
   * The crawl's maxPages (PageRecord.maxPages) was reached: the crawl is
   * stored as finished (maxPages) in the same commit. A backend a fleet shares
   * (PostgreSQL) checks the crawl row's pages_done under its lock, so hubs
   * recording at once never go past the limit: a page past it is not recorded.
   * SQLite, a fleet of one, ignores maxPages: one hub's lease budget keeps it.
   */
  limitReached?: boolean;
}

/** The fleet's methods: its hubs (fleet-rows.ts) and what storage decides for every crawl. */
export interface CrawlSyncStorage extends FleetStorage {
  /**
   * Ends a running crawl as finished (completed), in one statement, only if
   * storage holds no queued request (leased ones stay queued) and no pending
   * source for it; false when it is not running or has work left. Whichever
   * hub of a fleet notices first ends it; the others find it ended.
   */
  endCrawlIfDrained(crawlId: string, at: number): Promise<boolean>;
}
