// Every SQL statement the hub runs, prepared once. The rest of the hub talks to
// storage only through this class, so the schema and its queries stay together.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { RequestState, transaction } from './db.ts';

export type CrawlStatus = 'created' | 'running' | 'paused' | 'finished' | 'cancelled' | 'failed';

export interface CrawlRow {
  id: string;
  name: string;
  spec: string;
  spec_version: number;
  status: CrawlStatus;
  finish_reason: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_seq: number;
  pages_done: number;
  pages_failed: number;
  pages_skipped: number;
  items_count: number;
}

export interface QueuedRow {
  key: string;
  url: string;
  host: string;
  depth: number;
  seq: number;
  attempts: number;
  not_before: number;
}

/** A queued URL as the frontier holds it. */
export interface QueuedEntry {
  readonly key: string;
  readonly url: string;
  readonly host: string;
  readonly depth: number;
  readonly seq: number;
  attempts: number;
  notBefore: number;
}

export interface DoneRecord {
  crawlId: string;
  key: string;
  finalUrl: string;
  httpStatus: number;
  contentHash: string;
  items: number;
  links: number;
  worker: string;
  leaseId: string;
  specVersion: number;
  doneAt: number;
}

export interface ItemRecord {
  crawlId: string;
  requestKey: string;
  url: string;
  type: string;
  data: string;
  specVersion: number;
  worker: string;
  createdAt: number;
}

export interface StoredItem {
  id: number;
  url: string;
  type: string;
  data: string;
  spec_version: number;
  worker: string | null;
  created_at: number;
}

export interface RequestRow extends QueuedRow {
  state: number;
  final_url: string | null;
  http_status: number | null;
  content_hash: string | null;
  items: number | null;
  links: number | null;
  worker: string | null;
  lease_id: string | null;
  spec_version: number | null;
  error_code: string | null;
  error_message: string | null;
  done_at: number | null;
}

/** A crawl's sitemap or robots.txt source (see crawl_sources in db.ts). */
export interface SourceRow {
  url: string;
  kind: SourceKind;
  scope_base: string;
  nesting: number;
  state: number;
  attempts: number;
  not_before: number;
  urls_queued: number;
  error_code: string | null;
  error_message: string | null;
  done_at: number | null;
}

export type SourceKind = 'sitemap' | 'robots';

/** crawl_sources.state */
export const SourceState = { PENDING: 0, DONE: 1, FAILED: 2 } as const;

export class Store {
  readonly db: DatabaseSync;
  private readonly s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.db = db;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      getMeta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      insertCrawl: p(
        'INSERT INTO crawls (id, name, spec, spec_version, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getCrawl: p('SELECT * FROM crawls WHERE id = ?'),
      listCrawls: p('SELECT * FROM crawls ORDER BY created_at DESC, id DESC'),
      setStatus: p(
        'UPDATE crawls SET status = ?, finish_reason = ?, started_at = COALESCE(started_at, ?), finished_at = ? WHERE id = ?',
      ),
      bump: p(
        `UPDATE crawls SET pages_done = pages_done + ?, pages_failed = pages_failed + ?, pages_skipped = pages_skipped + ?,
         items_count = items_count + ?, next_seq = MAX(next_seq, ?) WHERE id = ?`,
      ),
      insertRequest: p(
        'INSERT OR IGNORE INTO requests (crawl_id, key, url, host, depth, seq, state) VALUES (?, ?, ?, ?, ?, ?, 0)',
      ),
      loadQueued: p(
        `SELECT key, url, host, depth, seq, attempts, not_before FROM requests
         WHERE crawl_id = ? AND host = ? AND state = 0 AND seq > ? ORDER BY seq LIMIT ?`,
      ),
      queuedHosts: p('SELECT DISTINCT host FROM requests WHERE crawl_id = ? AND state = 0'),
      // One index seek per host (requests_queue), however many URLs each host has queued.
      nextQueuedHost: p('SELECT host FROM requests WHERE crawl_id = ? AND state = 0 AND host > ? ORDER BY host LIMIT 1'),
      insertSource: p(
        'INSERT OR IGNORE INTO crawl_sources (crawl_id, url, kind, scope_base, nesting) VALUES (?, ?, ?, ?, ?)',
      ),
      nextPendingSource: p('SELECT * FROM crawl_sources WHERE crawl_id = ? AND state = 0 ORDER BY not_before, url LIMIT 1'),
      countPendingSources: p('SELECT COUNT(*) AS n FROM crawl_sources WHERE crawl_id = ? AND state = 0'),
      listSources: p('SELECT * FROM crawl_sources WHERE crawl_id = ? ORDER BY url'),
      sumSourceUrls: p('SELECT COALESCE(SUM(urls_queued), 0) AS n FROM crawl_sources WHERE crawl_id = ?'),
      endSource: p(
        `UPDATE crawl_sources SET state = ?, attempts = ?, urls_queued = ?, error_code = ?, error_message = ?, done_at = ?
         WHERE crawl_id = ? AND url = ? AND state = 0`,
      ),
      retrySource: p(
        'UPDATE crawl_sources SET attempts = ?, not_before = ?, error_code = ?, error_message = ? WHERE crawl_id = ? AND url = ? AND state = 0',
      ),
      countByState: p('SELECT state, COUNT(*) AS n FROM requests WHERE crawl_id = ? GROUP BY state'),
      maxSeq: p('SELECT MAX(seq) AS m FROM requests WHERE crawl_id = ?'),
      markDone: p(
        `UPDATE requests SET state = 2, final_url = ?, http_status = ?, content_hash = ?, items = ?, links = ?, worker = ?,
         lease_id = ?, spec_version = ?, done_at = ?, attempts = attempts + 1, error_code = NULL, error_message = NULL
         WHERE crawl_id = ? AND key = ? AND state = 0`,
      ),
      markEnded: p(
        `UPDATE requests SET state = ?, attempts = ?, error_code = ?, error_message = ?, http_status = ?, final_url = ?, done_at = ?
         WHERE crawl_id = ? AND key = ? AND state = 0`,
      ),
      requeue: p('UPDATE requests SET attempts = ?, not_before = ?, seq = ?, error_code = ?, error_message = ? WHERE crawl_id = ? AND key = ? AND state = 0'),
      getRequest: p('SELECT * FROM requests WHERE crawl_id = ? AND key = ?'),
      insertItem: p(
        'INSERT INTO items (crawl_id, request_key, url, type, data, spec_version, worker, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      iterateItems: p('SELECT id, url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = ? AND id > ? ORDER BY id LIMIT ?'),
      countItems: p('SELECT COUNT(*) AS n FROM items WHERE crawl_id = ?'),
      requestsByState: p(
        `SELECT * FROM requests WHERE crawl_id = ? AND state = ? ORDER BY done_at DESC LIMIT ? OFFSET ?`,
      ),
      errorSummary: p(
        `SELECT error_code AS code, host, COUNT(*) AS n, MIN(url) AS example FROM requests
         WHERE crawl_id = ? AND state IN (3, 4) GROUP BY error_code, host ORDER BY n DESC LIMIT 200`,
      ),
      deleteCrawl: p('DELETE FROM crawls WHERE id = ?'),
    };
    for (const name of ['loadQueued', 'nextQueuedHost']) this.s[name]!.setReturnArrays(true);
  }

  private st(name: string): StatementSync {
    return this.s[name]!;
  }

  transaction<T>(fn: () => T): T {
    return transaction(this.db, fn);
  }

  getMeta(key: string): string | undefined {
    return (this.st('getMeta').get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.st('setMeta').run(key, value);
  }

  insertCrawl(id: string, name: string, spec: string, specVersion: number, status: CrawlStatus, createdAt: number): void {
    this.st('insertCrawl').run(id, name, spec, specVersion, status, createdAt);
  }

  getCrawl(id: string): CrawlRow | undefined {
    return this.st('getCrawl').get(id) as CrawlRow | undefined;
  }

  listCrawls(): CrawlRow[] {
    return this.st('listCrawls').all() as unknown as CrawlRow[];
  }

  setStatus(id: string, status: CrawlStatus, reason: string | null, startedAt: number | null, finishedAt: number | null): void {
    this.st('setStatus').run(status, reason, startedAt, finishedAt, id);
  }

  bumpCounters(id: string, c: { done?: number; failed?: number; skipped?: number; items?: number; nextSeq?: number }): void {
    this.st('bump').run(c.done ?? 0, c.failed ?? 0, c.skipped ?? 0, c.items ?? 0, c.nextSeq ?? 0, id);
  }

  /** Queues a URL unless the crawl has seen its key; true when it was new. */
  insertRequest(crawlId: string, key: string, url: string, host: string, depth: number, seq: number): boolean {
    return Number(this.st('insertRequest').run(crawlId, key, url, host, depth, seq).changes) === 1;
  }

  /**
   * A host's queued URLs after `afterSeq`, in seq order, as the frontier holds
   * them. Read as arrays: node:sqlite builds a row object property by property,
   * several times the size (and garbage) of an array and one literal.
   */
  loadQueued(crawlId: string, host: string, afterSeq: number, limit: number): QueuedEntry[] {
    const rows = this.st('loadQueued').all(crawlId, host, afterSeq, limit) as unknown as [string, string, string, number, number, number, number][];
    const out: QueuedEntry[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const [key, url, rowHost, depth, seq, attempts, notBefore] = rows[i]!;
      out[i] = { key, url, host: rowHost, depth, seq, attempts, notBefore };
    }
    return out;
  }

  queuedHosts(crawlId: string): string[] {
    return (this.st('queuedHosts').all(crawlId) as { host: string }[]).map((r) => r.host);
  }

  /** The first host after `afterHost` (in byte order) with a queued URL; how the frontier finds hosts it does not hold in memory. */
  nextQueuedHost(crawlId: string, afterHost: string): string | undefined {
    return (this.st('nextQueuedHost').get(crawlId, afterHost) as [string] | undefined)?.[0];
  }

  /** Records a pending source unless the crawl already has one with this URL; true when it was new. */
  insertSource(crawlId: string, url: string, kind: SourceKind, scopeBase: string, nesting: number): boolean {
    return Number(this.st('insertSource').run(crawlId, url, kind, scopeBase, nesting).changes) === 1;
  }

  /** The pending source due first. */
  nextPendingSource(crawlId: string): SourceRow | undefined {
    return this.st('nextPendingSource').get(crawlId) as SourceRow | undefined;
  }

  countPendingSources(crawlId: string): number {
    return Number((this.st('countPendingSources').get(crawlId) as { n: number }).n);
  }

  listSources(crawlId: string): SourceRow[] {
    return this.st('listSources').all(crawlId) as unknown as SourceRow[];
  }

  /** URLs queued from the crawl's sources so far. */
  sumSourceUrls(crawlId: string): number {
    return Number((this.st('sumSourceUrls').get(crawlId) as { n: number }).n);
  }

  /** Ends a pending source as done or failed; false when it had already ended. */
  endSource(
    crawlId: string,
    url: string,
    state: typeof SourceState.DONE | typeof SourceState.FAILED,
    e: { attempts: number; urlsQueued: number; code?: string | null; message?: string | null; at: number },
  ): boolean {
    const changes = this.st('endSource').run(
      state, e.attempts, e.urlsQueued, e.code ?? null, e.message?.slice(0, 1000) ?? null, e.at, crawlId, url,
    ).changes;
    return Number(changes) === 1;
  }

  retrySource(crawlId: string, url: string, attempts: number, notBefore: number, code: string, message: string): void {
    this.st('retrySource').run(attempts, notBefore, code, message.slice(0, 1000), crawlId, url);
  }

  countByState(crawlId: string): Record<number, number> {
    const out: Record<number, number> = {};
    for (const row of this.st('countByState').all(crawlId) as { state: number; n: number }[]) out[row.state] = row.n;
    return out;
  }

  maxSeq(crawlId: string): number {
    return Number((this.st('maxSeq').get(crawlId) as { m: number | null }).m ?? 0);
  }

  /** Records a page's result; false when the page already has one (nothing changed). */
  markDone(r: DoneRecord): boolean {
    const changes = this.st('markDone').run(
      r.finalUrl, r.httpStatus, r.contentHash, r.items, r.links, r.worker, r.leaseId, r.specVersion, r.doneAt, r.crawlId, r.key,
    ).changes;
    return Number(changes) === 1;
  }

  /** Ends a queued request as failed or skipped; false when it had already ended. */
  markEnded(
    crawlId: string,
    key: string,
    state: typeof RequestState.FAILED | typeof RequestState.SKIPPED,
    e: { attempts: number; code: string; message: string; httpStatus?: number | null; finalUrl?: string | null; at: number },
  ): boolean {
    const changes = this.st('markEnded').run(
      state, e.attempts, e.code, e.message.slice(0, 1000), e.httpStatus ?? null, e.finalUrl ?? null, e.at, crawlId, key,
    ).changes;
    return Number(changes) === 1;
  }

  requeue(crawlId: string, key: string, attempts: number, notBefore: number, seq: number, code: string, message: string): void {
    this.st('requeue').run(attempts, notBefore, seq, code, message.slice(0, 1000), crawlId, key);
  }

  getRequest(crawlId: string, key: string): RequestRow | undefined {
    return this.st('getRequest').get(crawlId, key) as RequestRow | undefined;
  }

  insertItem(i: ItemRecord): void {
    this.st('insertItem').run(i.crawlId, i.requestKey, i.url, i.type, i.data, i.specVersion, i.worker, i.createdAt);
  }

  countItems(crawlId: string): number {
    return Number((this.st('countItems').get(crawlId) as { n: number }).n);
  }

  /** Streams a crawl's items (those with an id above `after`) in pages of `batch` rows, so a million items never sit in memory at once. */
  *iterateItems(crawlId: string, batch = 1000, after = 0): Generator<StoredItem> {
    for (;;) {
      const rows = this.st('iterateItems').all(crawlId, after, batch) as unknown as StoredItem[];
      if (rows.length === 0) return;
      yield* rows;
      after = rows[rows.length - 1]!.id;
    }
  }

  requestsByState(crawlId: string, state: number, limit: number, offset: number): RequestRow[] {
    return this.st('requestsByState').all(crawlId, state, limit, offset) as unknown as RequestRow[];
  }

  errorSummary(crawlId: string): { code: string | null; host: string; n: number; example: string }[] {
    return this.st('errorSummary').all(crawlId) as unknown as { code: string | null; host: string; n: number; example: string }[];
  }
}
