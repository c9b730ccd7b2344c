// Storage's methods for a running crawl's spec versions (server/crawl/respec.ts),
// part of the Storage interface (storage.ts): every version pushed to a crawl
// is kept, queued URLs a new version no longer allows are ended as skipped and
// counted, and items are counted per version.

/** One kept version of a crawl's spec. */
export interface SpecVersionRow {
  version: number;
  /** JSON text of the spec, defaults filled in. */
  spec: string;
  createdAt: number;
  /** Queued URLs this version's rules no longer allowed, dropped when it came in. */
  dropped: number;
}

/** A queued URL as a new spec version's rules look at it. */
export interface QueuedUrl {
  key: string;
  url: string;
  depth: number;
}

export interface SpecVersionStore {
  /**
   * Makes `spec` the crawl's current spec, in one transaction: the version it
   * replaces is kept first (a crawl never changed has no version rows: its
   * row's spec is its only version).
   */
  addSpecVersion(crawlId: string, v: { version: number; spec: string; at: number }): Promise<void>;
  /** The kept versions of a crawl's spec, oldest first; empty for a crawl never changed. */
  listSpecVersions(crawlId: string): Promise<SpecVersionRow[]>;
  /** Up to `limit` of the crawl's queued URLs with a key after `afterKey`, in key order. */
  scanQueued(crawlId: string, afterKey: string, limit: number): Promise<QueuedUrl[]>;
  /**
   * Ends these queued requests as skipped (`e.code`), counted on the crawl's
   * skipped pages and on `version`'s dropped URLs; answers how many were still queued.
   */
  dropQueued(crawlId: string, version: number, keys: readonly string[], e: { code: string; message: string; at: number }): Promise<number>;
  /** A crawl's items per spec version, by version. */
  itemsByVersion(crawlId: string): Promise<{ specVersion: number; items: number }[]>;

}
