// URLs a crawl is known to have in its requests table, so that a page's links
// that are already queued or seen (most of them: navigation comes back on every
// page) skip the INSERT OR IGNORE that would find them there. Both backends use
// it inside their group commit.
//
// Correct because a crawl's request rows are only ever deleted with the crawl
// itself (forget() is called then): a key is added only once its row is in the
// table, in this batch or before, and a failed batch forgets everything (its
// rows may not exist). After a restart the set starts empty. On a PostgreSQL
// fleet, another hub's inserts only make rows exist that this set does not know
// of: those links are sent to the database, which ignores them as before.
//
// Bounded: once it holds `capacity` keys it is emptied (the keys that come back
// on every page are learned again within a few pages).

export class KnownKeys {
  private readonly crawls = new Map<string, Set<string>>();
  private size = 0;
  private readonly capacity: number;

  constructor(capacity = 50_000) {
    this.capacity = capacity;
  }

  has(crawlId: string, key: string): boolean {
    return this.crawls.get(crawlId)?.has(key) ?? false;
  }

  /** The key's row is in the crawl's requests table (inserted in this batch, or found there). */
  add(crawlId: string, key: string): void {
    let keys = this.crawls.get(crawlId);
    if (!keys) this.crawls.set(crawlId, (keys = new Set()));
    if (keys.has(key)) return;
    if (this.size >= this.capacity) {
      this.clear();
      this.crawls.set(crawlId, (keys = new Set()));
    }
    keys.add(key);
    this.size++;
  }

  /** The crawl's rows were deleted (the crawl with them). */
  forget(crawlId: string): void {
    this.size -= this.crawls.get(crawlId)?.size ?? 0;
    this.crawls.delete(crawlId);
  }

  /** A batch failed: what it inserted is not in the table. */
  clear(): void {
    this.crawls.clear();
    this.size = 0;
  }

  /** How many keys are held (tests). */
  get count(): number {
    return this.size;
  }
}
