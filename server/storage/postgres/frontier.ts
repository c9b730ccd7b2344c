// PostgreSQL: crawls, the frontier's queue and its start sources. Queue
// positions come from the crawl row's next_seq, taken under that row's lock for
// the rest of the transaction (group-commit.ts), so they stay dense and in the
// order URLs were queued even with several hubs writing; a URL the crawl has
// seen is never queued twice (the primary key, and the check before it).
import type { CrawlRow, NewCrawl, NewRequest, NewSource, QueuedEntry, SourceRow } from '../storage.ts';
import { crawlRow, sourceRow } from '../sqlite/rows.ts';
import { SOURCE_STATE_CODES, STATE_CODES } from '../sqlite/statements.ts';
import { run, statement, type Queryable, type Tx } from './group-commit.ts';

type QueuedDbRow = { key: string; url: string; host: string; depth: number; seq: string; attempts: number; not_before: string };

export function queued(r: QueuedDbRow): QueuedEntry {
  return { key: r.key, url: r.url, host: r.host, depth: Number(r.depth), seq: Number(r.seq), attempts: Number(r.attempts), notBefore: Number(r.not_before) };
}

export const QUEUED_COLUMNS = 'key, url, host, depth, seq, attempts, not_before';

const S = {
  insertCrawl: statement('fr_insert_crawl', `INSERT INTO crawls (id, name, spec, spec_version, status, created_at) VALUES ($1, $2, $3, $4, 'created', $5)`),
  getCrawl: statement('fr_get_crawl', 'SELECT * FROM crawls WHERE id = $1'),
  listCrawls: statement('fr_list_crawls', 'SELECT * FROM crawls ORDER BY created_at DESC, id DESC'),
  setStatus: statement('fr_set_status', 'UPDATE crawls SET status = $2, finish_reason = $3, started_at = $4, finished_at = $5 WHERE id = $1'),
  // New URLs, each once (the first of repeats), not seen by the crawl before, up to a budget,
  // given positions from $6 on in the order they came.
  insertRequests: statement(
    'fr_insert_requests',
    `INSERT INTO requests (crawl_id, key, url, host, depth, seq, state)
     SELECT $1, f.key, f.url, f.host, f.depth, $6 + row_number() OVER (ORDER BY f.ord) - 1, 0
     FROM (
       SELECT DISTINCT ON (t.key) t.key, t.url, t.host, t.depth, t.ord
       FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) WITH ORDINALITY AS t(key, url, host, depth, ord)
       WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.crawl_id = $1 AND r.key = t.key)
       ORDER BY t.key, t.ord
     ) f
     ORDER BY f.ord LIMIT $7
     ON CONFLICT DO NOTHING
     RETURNING ${QUEUED_COLUMNS}`,
  ),
  countQueued: statement('fr_count_queued', 'SELECT COUNT(*) AS n FROM requests WHERE crawl_id = $1 AND state = 0'),
  loadQueued: statement(
    'fr_load_queued',
    `SELECT ${QUEUED_COLUMNS} FROM requests WHERE crawl_id = $1 AND host = $2 AND state = 0 AND seq > $3 ORDER BY seq LIMIT $4`,
  ),
  nextQueuedHost: statement('fr_next_host', 'SELECT host FROM requests WHERE crawl_id = $1 AND state = 0 AND host > $2 ORDER BY host LIMIT 1'),
  markEnded: statement(
    'fr_mark_ended',
    `UPDATE requests SET state = $3, attempts = $4, error_code = $5, error_message = $6, http_status = $7, final_url = $8, done_at = $9
     WHERE crawl_id = $1 AND key = $2 AND state = 0`,
  ),
  requeue: statement(
    'fr_requeue',
    `UPDATE requests SET attempts = $3, not_before = $4, seq = $5, error_code = $6, error_message = $7
     WHERE crawl_id = $1 AND key = $2 AND state = 0 RETURNING ${QUEUED_COLUMNS}`,
  ),
  insertSources: statement(
    'fr_insert_sources',
    `INSERT INTO crawl_sources (crawl_id, url, kind, scope_base, nesting)
     SELECT $1, t.url, t.kind, t.scope_base, t.nesting FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS t(url, kind, scope_base, nesting)
     ON CONFLICT DO NOTHING`,
  ),
  nextPendingSource: statement('fr_next_source', 'SELECT * FROM crawl_sources WHERE crawl_id = $1 AND state = 0 ORDER BY not_before, url LIMIT 1'),
  countPendingSources: statement('fr_count_sources', 'SELECT COUNT(*) AS n FROM crawl_sources WHERE crawl_id = $1 AND state = 0'),
  listSources: statement('fr_list_sources', 'SELECT * FROM crawl_sources WHERE crawl_id = $1 ORDER BY url'),
  sumSourceUrls: statement('fr_sum_source_urls', 'SELECT COALESCE(SUM(urls_queued), 0) AS n FROM crawl_sources WHERE crawl_id = $1'),
  endSource: statement(
    'fr_end_source',
    `UPDATE crawl_sources SET state = $3, attempts = $4, urls_queued = $5, error_code = $6, error_message = $7, done_at = $8
     WHERE crawl_id = $1 AND url = $2 AND state = 0`,
  ),
  retrySource: statement(
    'fr_retry_source',
    'UPDATE crawl_sources SET attempts = $3, not_before = $4, error_code = $5, error_message = $6 WHERE crawl_id = $1 AND url = $2 AND state = 0',
  ),
};

const count = async (db: Queryable, s: (typeof S)[keyof typeof S], values: unknown[]) => Number((await run<{ n: string }>(db, s, values)).rows[0]!.n);

/** Inside a batch: queues the URLs the crawl has not seen, up to `budget`, in the order given. */
export async function insertRequests(tx: Tx, crawlId: string, given: readonly NewRequest[], budget = Number.MAX_SAFE_INTEGER): Promise<QueuedEntry[]> {
  // Links known to be in the table already are not sent (known-keys.ts); the statement skips them anyway.
  const requests = given.filter((q) => !tx.known.has(crawlId, q.key));
  if (requests.length === 0 || budget <= 0) return [];
  const base = await tx.nextSeq(crawlId);
  const r = await tx.run<QueuedDbRow>(S.insertRequests, [
    crawlId, requests.map((q) => q.key), requests.map((q) => q.url), requests.map((q) => q.host), requests.map((q) => q.depth), base, budget,
  ]);
  const out = r.rows.map(queued).sort((a, b) => a.seq - b.seq);
  tx.usedSeq(crawlId, base + out.length);
  // Under the budget, every key given is in the table now: inserted here, or there before (by any hub).
  if (out.length < budget) for (const q of requests) tx.known.add(crawlId, q.key);
  else for (const q of out) tx.known.add(crawlId, q.key);
  return out;
}

async function insertSources(tx: Tx, crawlId: string, sources: readonly NewSource[]): Promise<number> {
  if (sources.length === 0) return 0;
  const r = await tx.run(S.insertSources, [crawlId, sources.map((s) => s.url), sources.map((s) => s.kind), sources.map((s) => s.scopeBase), sources.map((s) => s.nesting)]);
  return r.rowCount ?? 0;
}

const message = (m: string) => m.slice(0, 1000);

// Crawls

export async function createCrawl(tx: Tx, c: NewCrawl): Promise<{ row: CrawlRow; queued: QueuedEntry[]; sources: number }> {
  await tx.run(S.insertCrawl, [c.id, c.name, c.spec, c.specVersion, c.createdAt]);
  const q = await insertRequests(tx, c.id, c.startUrls);
  const sources = await insertSources(tx, c.id, c.sources);
  return { row: crawlRow((await tx.run(S.getCrawl, [c.id])).rows[0]), queued: q, sources };
}

export async function listCrawls(db: Queryable): Promise<CrawlRow[]> {
  return (await run(db, S.listCrawls)).rows.map(crawlRow);
}

export async function setCrawlStatus(tx: Tx, id: string, s: { status: CrawlRow['status']; finishReason: string | null; startedAt: number | null; finishedAt: number | null }): Promise<void> {
  await tx.run(S.setStatus, [id, s.status, s.finishReason, s.startedAt, s.finishedAt]);
}

// The queue

export const countQueued = (db: Queryable, crawlId: string) => count(db, S.countQueued, [crawlId]);

export async function loadQueued(db: Queryable, crawlId: string, host: string, afterSeq: number, limit: number): Promise<QueuedEntry[]> {
  return (await run<QueuedDbRow>(db, S.loadQueued, [crawlId, host, afterSeq, limit])).rows.map(queued);
}

export async function nextQueuedHost(db: Queryable, crawlId: string, afterHost: string): Promise<string | undefined> {
  return (await run<{ host: string }>(db, S.nextQueuedHost, [crawlId, afterHost])).rows[0]?.host;
}

export async function endRequest(
  tx: Tx, crawlId: string, key: string, state: 'failed' | 'skipped',
  e: { attempts: number; code: string; message: string; httpStatus?: number | null; finalUrl?: string | null; at: number },
): Promise<boolean> {
  const r = await tx.run(S.markEnded, [crawlId, key, STATE_CODES[state], e.attempts, e.code, message(e.message), e.httpStatus ?? null, e.finalUrl ?? null, e.at]);
  if (r.rowCount !== 1) return false;
  tx.bump(crawlId, state === 'failed' ? { failed: 1 } : { skipped: 1 });
  return true;
}

export async function requeue(tx: Tx, crawlId: string, key: string, q: { attempts: number; notBefore: number; code: string; message: string }): Promise<QueuedEntry | undefined> {
  const seq = await tx.nextSeq(crawlId);
  const r = await tx.run<QueuedDbRow>(S.requeue, [crawlId, key, q.attempts, q.notBefore, seq, q.code, message(q.message)]);
  if (r.rows.length === 0) return undefined;
  tx.usedSeq(crawlId, seq + 1);
  return queued(r.rows[0]!);
}

// Start sources

export const countPendingSources = (db: Queryable, crawlId: string) => count(db, S.countPendingSources, [crawlId]);
export const sumSourceUrls = (db: Queryable, crawlId: string) => count(db, S.sumSourceUrls, [crawlId]);

export async function nextPendingSource(db: Queryable, crawlId: string): Promise<SourceRow | undefined> {
  const row = (await run(db, S.nextPendingSource, [crawlId])).rows[0];
  return row ? sourceRow(row) : undefined;
}

export async function listSources(db: Queryable, crawlId: string): Promise<SourceRow[]> {
  return (await run(db, S.listSources, [crawlId])).rows.map(sourceRow);
}

export async function retrySource(tx: Tx, crawlId: string, url: string, r: { attempts: number; notBefore: number; code: string; message: string }): Promise<void> {
  await tx.run(S.retrySource, [crawlId, url, r.attempts, r.notBefore, r.code, message(r.message)]);
}

export async function failSource(tx: Tx, crawlId: string, url: string, e: { attempts: number; code: string; message: string; at: number }): Promise<void> {
  await tx.run(S.endSource, [crawlId, url, SOURCE_STATE_CODES.failed, e.attempts, 0, e.code, message(e.message), e.at]);
}

export async function completeSource(
  tx: Tx, crawlId: string, url: string,
  c: { attempts: number; at: number; sources: readonly NewSource[]; urls: readonly NewRequest[]; budget: number },
): Promise<{ queued: QueuedEntry[] }> {
  await insertSources(tx, crawlId, c.sources);
  const q = await insertRequests(tx, crawlId, c.urls, Math.max(0, c.budget));
  await tx.run(S.endSource, [crawlId, url, SOURCE_STATE_CODES.done, c.attempts, q.length, null, null, c.at]);
  return { queued: q };
}
