// Group commit on PostgreSQL, as sqlite/group-commit.ts does on SQLite: the
// writes asked for in one turn of the event loop (and any asked for while the
// previous batch was committing) run in one transaction on the writer's
// connection, and each caller's promise settles after COMMIT. If the
// transaction fails, all of it is rolled back and every caller of the batch is
// told; a caller is never answered for a write that is not durable.
//
// Within a batch, what many writes add to is added up and written once before
// COMMIT (a crawl's counters and next queue position, extracted items as one
// multi-row INSERT): a batch of a few hundred results costs a handful of
// statements more than one result does, which is what keeps the hub's CPU per
// page near SQLite's.
import type pg from 'pg';
import { KnownKeys } from '../known-keys.ts';
import { KeptBodies } from '../kept-bodies.ts';

/** A statement prepared once per connection, by name (pg keeps the plan). */
export interface Statement {
  readonly name: string;
  readonly text: string;
}
export const statement = (name: string, text: string): Statement => ({ name, text });

export type Queryable = Pick<pg.ClientBase, 'query'>;

export function run<R extends pg.QueryResultRow = Record<string, unknown>>(db: Queryable, s: Statement, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  return db.query<R>({ name: s.name, text: s.text, values });
}

/** Counters on the crawl's row, added to by the writes of a batch. */
export interface CrawlCounters {
  done: number;
  failed: number;
  skipped: number;
  items: number;
  checked: number;
  trusted: number;
  rejected: number;
  extra: number;
  withdrawn: number;
}
const ZERO: CrawlCounters = { done: 0, failed: 0, skipped: 0, items: 0, checked: 0, trusted: 0, rejected: 0, extra: 0, withdrawn: 0 };

const S = {
  lockCrawl: statement('gc_lock_crawl', 'SELECT next_seq, pages_done FROM crawls WHERE id = $1 FOR UPDATE'),
  saveCrawl: statement(
    'gc_save_crawl',
    `UPDATE crawls SET next_seq = GREATEST(next_seq, $2), pages_done = pages_done + $3, pages_failed = pages_failed + $4,
     pages_skipped = pages_skipped + $5, items_count = items_count + $6, pages_checked = pages_checked + $7,
     pages_trusted = pages_trusted + $8, results_rejected = results_rejected + $9, extra_extractions = extra_extractions + $10,
     items_withdrawn = items_withdrawn + $11, feed_position = GREATEST(feed_position, $12) WHERE id = $1`,
  ),
  // The item feed's positions (Storage.itemFeed) are taken under the crawl row's
  // lock, held to COMMIT: a crawl's writers commit in the order of their positions.
  lockFeed: statement('gc_lock_feed', 'SELECT feed_position FROM crawls WHERE id = $1 FOR UPDATE'),
  insertItems: statement(
    'gc_insert_items',
    `INSERT INTO items (crawl_id, request_key, url, type, data, spec_version, worker, created_at, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::bigint[], $9::bigint[])`,
  ),
};

/** One item row, waiting for the batch's one INSERT. */
export interface ItemRow {
  crawlId: string;
  key: string;
  url: string;
  type: string;
  data: string;
  specVersion: number;
  worker: string | null;
  createdAt: number;
}

/** The open transaction a batch's writes run in. */
export class Tx {
  readonly client: pg.ClientBase;
  /** Links known to be in the requests table (known-keys.ts): the batch's commit forgets them all if it fails. */
  readonly known: KnownKeys;
  /** Bodies written lately (kept-bodies.ts), forgotten with `known` if the batch fails. */
  readonly kept: KeptBodies;
  /** The next queue position per crawl, read under the crawl row's lock (held to COMMIT). */
  private readonly seqs = new Map<string, number>();
  private readonly counters = new Map<string, CrawlCounters>();
  private items: ItemRow[] = [];
  /** The item feed's next position per crawl, read under the crawl row's lock. */
  private readonly feed = new Map<string, number>();
  /** pages_done per crawl as committed, read with next_seq under the crawl row's lock (maxPages across a fleet). */
  private readonly pagesDoneAtLock = new Map<string, number>();

  constructor(client: pg.ClientBase, known: KnownKeys, kept: KeptBodies) {
    this.client = client;
    this.known = known;
    this.kept = kept;
  }

  run<R extends pg.QueryResultRow = Record<string, unknown>>(s: Statement, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return run<R>(this.client, s, values);
  }

  /** The crawl's next queue position; the first call in a batch locks the crawl's row. */
  async nextSeq(crawlId: string): Promise<number> {
    let next = this.seqs.get(crawlId);
    if (next === undefined) {
      const r = await this.run<{ next_seq: string; pages_done: string }>(S.lockCrawl, [crawlId]);
      if (r.rows.length === 0) throw new Error(`no crawl ${crawlId}`);
      next = Number(r.rows[0]!.next_seq);
      this.seqs.set(crawlId, next);
      this.pagesDoneAtLock.set(crawlId, Number(r.rows[0]!.pages_done));
    }
    return next;
  }

  /**
   * The crawl's pages done with this batch's so far; locks the crawl's row (as
   * nextSeq), so no other hub's batch changes it before this one commits.
   */
  async pagesDone(crawlId: string): Promise<number> {
    await this.nextSeq(crawlId);
    return this.pagesDoneAtLock.get(crawlId)! + (this.counters.get(crawlId)?.done ?? 0);
  }

  /** Positions below `next` are given (call after nextSeq, under the same lock). */
  usedSeq(crawlId: string, next: number): void {
    if (next > (this.seqs.get(crawlId) ?? 0)) this.seqs.set(crawlId, next);
  }

  bump(crawlId: string, change: Partial<CrawlCounters>): void {
    const c = this.counters.get(crawlId) ?? { ...ZERO };
    for (const k of Object.keys(change) as (keyof CrawlCounters)[]) c[k] += change[k] ?? 0;
    this.counters.set(crawlId, c);
  }

  /** `n` consecutive feed positions of the crawl; the first call in a batch locks the crawl's row. */
  async takePositions(crawlId: string, n: number): Promise<number> {
    let next = this.feed.get(crawlId);
    if (next === undefined) {
      const r = await this.run<{ feed_position: string }>(S.lockFeed, [crawlId]);
      if (r.rows.length === 0) throw new Error(`no crawl ${crawlId}`);
      next = Number(r.rows[0]!.feed_position) + 1;
    }
    this.feed.set(crawlId, next + n);
    return next;
  }

  addItems(rows: ItemRow[]): void {
    for (const r of rows) this.items.push(r);
  }

  /** Writes the items added so far (before a statement that reads or deletes a page's items). */
  async flushItems(): Promise<void> {
    if (this.items.length === 0) return;
    const rows = this.items;
    this.items = [];
    // Positions crawl by crawl, crawls in id order (the lock order finish() keeps too).
    const positions = new Map<string, number>();
    for (const id of [...new Set(rows.map((r) => r.crawlId))].sort()) {
      positions.set(id, await this.takePositions(id, rows.filter((r) => r.crawlId === id).length));
    }
    const position = (r: ItemRow): number => {
      const p = positions.get(r.crawlId)!;
      positions.set(r.crawlId, p + 1);
      return p;
    };
    await this.run(S.insertItems, [
      rows.map((r) => r.crawlId), rows.map((r) => r.key), rows.map((r) => r.url), rows.map((r) => r.type),
      rows.map((r) => r.data), rows.map((r) => r.specVersion), rows.map((r) => r.worker), rows.map((r) => r.createdAt), rows.map(position),
    ]);
  }

  /** Before COMMIT: the items, then each crawl's counters and next position, crawls in id order (one lock order for every hub). */
  async finish(): Promise<void> {
    await this.flushItems();
    const ids = [...new Set([...this.counters.keys(), ...this.seqs.keys(), ...this.feed.keys()])].sort();
    for (const id of ids) {
      const c = this.counters.get(id) ?? ZERO;
      const feed = (this.feed.get(id) ?? 1) - 1;
      await this.run(S.saveCrawl, [id, this.seqs.get(id) ?? 0, c.done, c.failed, c.skipped, c.items, c.checked, c.trusted, c.rejected, c.extra, c.withdrawn, feed]);
    }
  }
}

/** deadlock_detected, serialization_failure: the transaction did nothing and may simply be run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_ATTEMPTS = 8;

interface Op {
  write(tx: Tx): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class PgGroupCommit {
  private readonly pool: pg.Pool;
  private batch: Op[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;
  /** Links known to be in the requests table, learned by committed batches (known-keys.ts). */
  readonly known = new KnownKeys();
  readonly kept = new KeptBodies();
  /** Told each commit's duration and size (Storage.observeCommits). */
  observer: ((seconds: number, writes: number) => void) | undefined;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Queues a write for the next batch; resolves with what it returned, after the commit. */
  run<T>(write: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.batch.push({ write, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.drain().finally(() => {
        this.running = undefined;
        if (this.batch.length > 0) this.schedule();
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.batch.length > 0) {
      const batch = this.batch;
      this.batch = [];
      await this.commit(batch);
    }
  }

  private async commit(batch: Op[]): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      for (const op of batch) op.reject(error);
      return;
    }
    let results: unknown[] = [];
    let broken: Error | undefined;
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        results = [];
        await client.query('BEGIN');
        const tx = new Tx(client, this.known, this.kept);
        for (const op of batch) results.push(await op.write(tx));
        await tx.finish();
        await client.query('COMMIT');
        break;
      } catch (error) {
        // What the failed attempt inserted is not in the table.
        this.known.clear();
        this.kept.clear();
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e; // the connection is gone: the pool gets a new one
        });
        // Hubs of a fleet batch different writes (a crawl's row, a shared trust row) in different orders:
        // PostgreSQL breaks such a deadlock by failing one transaction, which is run again whole.
        if (!broken && attempt < MAX_ATTEMPTS && RETRYABLE.has((error as { code?: string }).code ?? '')) {
          // A random pause, so the two sides of a deadlock do not meet again in the same order.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
          continue;
        }
        client.release(broken);
        for (const op of batch) op.reject(error);
        return;
      }
    }
    client.release();
    this.observer?.((performance.now() - started) / 1000, batch.length);
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
  }

  /** Waits until everything queued so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.running || this.batch.length > 0 || this.scheduled) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
