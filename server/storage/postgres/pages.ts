// PostgreSQL: pages' results and their items. A result, its items, the links
// it queues and the crawl's counters are written in the batch's one transaction
// (items and counters added up for the whole batch, group-commit.ts); reads
// for the console, the API and exports page by keyset (items by id).
import type { AdminErrorGroup } from '../../../shared/admin-protocol.ts';
import type { ErrorSummaryRow, FeedEntry, PageRecord, QueuedEntry, ReplacedPage, RequestRow, RequestState, StoredItem } from '../storage.ts';
import type { FleetLimit, RecordedPage } from '../crawl-sync.ts';
import { requestRow, storedItem } from '../sqlite/rows.ts';
import { STATE_CODES } from '../sqlite/statements.ts';
import { VALIDATION_CODES } from '../sqlite/trust-store.ts';
import { run, statement, type Queryable, type Tx } from './group-commit.ts';
import { insertRequests, queued, QUEUED_COLUMNS } from './frontier.ts';

const S = {
  markDone: statement(
    'pg_mark_done',
    `UPDATE requests SET state = 2, final_url = $3, http_status = $4, content_hash = $5, items = $6, links = $7, worker = $8,
     lease_id = $9, spec_version = $10, done_at = $11, client_id = $12, validation = $13, result_digest = $14,
     attempts = attempts + 1, error_code = NULL, error_message = NULL
     WHERE crawl_id = $1 AND key = $2 AND state = 0`,
  ),
  insertBody: statement(
    'pg_insert_body',
    'INSERT INTO bodies (content_hash, data, stored_at) VALUES ($1, $2, $3) ON CONFLICT (content_hash) DO UPDATE SET stored_at = excluded.stored_at',
  ),
  deletePageItems: statement('pg_delete_page_items', 'DELETE FROM items WHERE crawl_id = $1 AND request_key = $2'),
  pageItemIds: statement('pg_page_item_ids', 'SELECT id FROM items WHERE crawl_id = $1 AND request_key = $2 ORDER BY position'),
  insertWithdrawals: statement(
    'pg_insert_withdrawals',
    'INSERT INTO item_withdrawals (crawl_id, position, item_id) SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])',
  ),
  // Each branch walks its (crawl_id, position) index; the outer ORDER BY merges them.
  itemFeed: statement(
    'pg_item_feed',
    `(SELECT position, id, url, type, data, spec_version, worker, created_at, NULL::bigint AS withdrawn
       FROM items WHERE crawl_id = $1 AND position > $2 ORDER BY position LIMIT $3)
     UNION ALL
     (SELECT position, NULL, NULL, NULL, NULL, NULL, NULL, NULL, item_id
       FROM item_withdrawals WHERE crawl_id = $1 AND position > $2 ORDER BY position LIMIT $3)
     ORDER BY position LIMIT $3`,
  ),
  replaceDone: statement(
    'pg_replace_done',
    `UPDATE requests SET items = $3, links = $4, worker = 'hub', lease_id = NULL, validation = ${VALIDATION_CODES.hub}, result_digest = $5, done_at = $6
     WHERE crawl_id = $1 AND key = $2 AND state = 2 RETURNING final_url, spec_version`,
  ),
  reopen: statement(
    'pg_reopen',
    `UPDATE requests SET state = 0, seq = $3, not_before = 0, items = NULL, links = NULL, worker = NULL, lease_id = NULL,
     validation = NULL, result_digest = NULL, client_id = NULL, done_at = NULL, error_code = 'RESULT_WITHDRAWN',
     error_message = 'its contributor was caught cheating and the page body was no longer kept'
     WHERE crawl_id = $1 AND key = $2 AND state = 2 RETURNING ${QUEUED_COLUMNS}`,
  ),
  // maxPages reached (FleetLimit.maxPages): the crawl ends in the transaction that reached it.
  endAtLimit: statement(
    'pg_end_at_limit',
    `UPDATE crawls SET status = 'finished', finish_reason = 'maxPages', finished_at = $2 WHERE id = $1 AND status IN ('running', 'paused')`,
  ),
  getRequest: statement('pg_get_request', 'SELECT * FROM requests WHERE crawl_id = $1 AND key = $2'),
  countByState: statement('pg_count_by_state', 'SELECT state, COUNT(*) AS n FROM requests WHERE crawl_id = $1 GROUP BY state'),
  requestsByState: statement('pg_requests_by_state', 'SELECT * FROM requests WHERE crawl_id = $1 AND state = $2 ORDER BY done_at DESC LIMIT $3 OFFSET $4'),
  errorSummary: statement(
    'pg_error_summary',
    `SELECT error_code AS code, host, COUNT(*) AS n, MIN(url) AS example FROM requests
     WHERE crawl_id = $1 AND state IN (3, 4) GROUP BY error_code, host ORDER BY n DESC, code, host LIMIT 200`,
  ),
  // Each group's latest example: the row with the group's greatest done_at (what SQLite's bare columns give).
  errorGroups: statement(
    'pg_error_groups',
    `SELECT code, host, n, url, message FROM (
       SELECT error_code AS code, host, COUNT(*) OVER g AS n, url, error_message AS message,
              row_number() OVER (PARTITION BY error_code, host ORDER BY done_at DESC, key) AS latest
       FROM requests WHERE crawl_id = $1 AND state IN (3, 4)
       WINDOW g AS (PARTITION BY error_code, host)
     ) grouped WHERE latest = 1 ORDER BY n DESC, code, host LIMIT $2`,
  ),
  countItems: statement('pg_count_items', 'SELECT COUNT(*) AS n FROM items WHERE crawl_id = $1'),
  iterateItems: statement(
    'pg_iterate_items',
    'SELECT id, url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = $1 AND id > $2 ORDER BY id LIMIT $3',
  ),
  // strpos on lower(): the text anywhere in the item's JSON or its page URL, case aside (as the SQLite backend's instr).
  searchItems: statement(
    'pg_search_items',
    `SELECT id, url, type, data, spec_version, worker, created_at FROM items
     WHERE crawl_id = $1 AND id > $2 AND (strpos(lower(data), lower($3)) > 0 OR strpos(lower(url), lower($3)) > 0)
     ORDER BY id LIMIT $4`,
  ),
};

// Writes (inside a batch)

export async function recordPage(tx: Tx, r: PageRecord & FleetLimit): Promise<RecordedPage<QueuedEntry>> {
  // A fleet's maxPages: decided on the crawl's row, under its lock, so hubs recording at once never go past it.
  if (r.maxPages !== undefined && (await tx.pagesDone(r.crawlId)) >= r.maxPages) {
    await tx.run(S.endAtLimit, [r.crawlId, r.doneAt]);
    return { recorded: false, queued: [], limitReached: true };
  }
  const done = await tx.run(S.markDone, [
    r.crawlId, r.key, r.finalUrl, r.httpStatus, r.contentHash, r.items.length, r.links.length, r.worker, r.leaseId, r.specVersion, r.doneAt,
    r.clientId, VALIDATION_CODES[r.validation], r.resultDigest,
  ]);
  if (done.rowCount !== 1) return { recorded: false, queued: [] };
  tx.addItems(r.items.map((item) => ({
    crawlId: r.crawlId, key: r.key, url: r.finalUrl, type: item.type, data: JSON.stringify(item.data), specVersion: r.specVersion, worker: r.worker, createdAt: r.doneAt,
  })));
  const q = await insertRequests(tx, r.crawlId, r.links);
  const checked = r.validation === 'checked' || r.validation === 'hub' ? 1 : 0;
  tx.bump(r.crawlId, { done: 1, items: r.items.length, checked, trusted: 1 - checked, rejected: r.rejected, extra: r.extraExtractions });
  const body = r.body && tx.kept.toWrite(r.body, r.doneAt);
  if (body) await tx.run(S.insertBody, [r.body!.contentHash, body, r.doneAt]);
  if (r.maxPages !== undefined && (await tx.pagesDone(r.crawlId)) >= r.maxPages) {
    await tx.run(S.endAtLimit, [r.crawlId, r.doneAt]);
    return { recorded: true, queued: q, limitReached: true };
  }
  return { recorded: true, queued: q };
}

/** Tombstones in the item feed for a page's items, before they are deleted (same transaction). */
async function withdrawPageItems(tx: Tx, crawlId: string, key: string): Promise<void> {
  const ids = (await tx.run<{ id: string }>(S.pageItemIds, [crawlId, key])).rows.map((r) => Number(r.id));
  if (ids.length === 0) return;
  const first = await tx.takePositions(crawlId, ids.length);
  await tx.run(S.insertWithdrawals, [crawlId, ids.map((_, i) => first + i), ids]);
}

export async function replacePage(tx: Tx, r: ReplacedPage): Promise<{ itemsBefore: number; itemsAfter: number; queued: QueuedEntry[] }> {
  await tx.flushItems();
  await withdrawPageItems(tx, r.crawlId, r.key);
  const itemsBefore = (await tx.run(S.deletePageItems, [r.crawlId, r.key])).rowCount ?? 0;
  const row = (await tx.run<{ final_url: string; spec_version: number }>(S.replaceDone, [r.crawlId, r.key, r.items.length, r.links.length, r.resultDigest, r.doneAt])).rows[0];
  if (!row) throw new Error(`page ${r.key} of crawl ${r.crawlId} is not done`);
  tx.addItems(r.items.map((item) => ({
    crawlId: r.crawlId, key: r.key, url: row.final_url, type: item.type, data: JSON.stringify(item.data), specVersion: Number(row.spec_version), worker: 'hub', createdAt: r.doneAt,
  })));
  const q = await insertRequests(tx, r.crawlId, r.links);
  tx.bump(r.crawlId, { items: r.items.length - itemsBefore, checked: 1, trusted: -1, rejected: 1, extra: 1, withdrawn: itemsBefore });
  return { itemsBefore, itemsAfter: r.items.length, queued: q };
}

export async function withdrawPage(tx: Tx, crawlId: string, key: string): Promise<{ itemsRemoved: number; queued: QueuedEntry } | undefined> {
  await tx.flushItems();
  const seq = await tx.nextSeq(crawlId);
  const row = (await tx.run<Parameters<typeof queued>[0]>(S.reopen, [crawlId, key, seq])).rows[0];
  if (!row) return undefined;
  tx.usedSeq(crawlId, seq + 1);
  await withdrawPageItems(tx, crawlId, key);
  const itemsRemoved = (await tx.run(S.deletePageItems, [crawlId, key])).rowCount ?? 0;
  tx.bump(crawlId, { done: -1, items: -itemsRemoved, trusted: -1, rejected: 1, withdrawn: itemsRemoved });
  return { itemsRemoved, queued: queued(row) };
}

// Reads

export async function getRequest(db: Queryable, crawlId: string, key: string): Promise<RequestRow | undefined> {
  const row = (await run(db, S.getRequest, [crawlId, key])).rows[0];
  return row ? requestRow(row) : undefined;
}

export async function countByState(db: Queryable, crawlId: string): Promise<Record<RequestState, number>> {
  const out: Record<RequestState, number> = { queued: 0, done: 0, failed: 0, skipped: 0 };
  for (const row of (await run<{ state: number; n: string }>(db, S.countByState, [crawlId])).rows) {
    for (const name of Object.keys(STATE_CODES) as RequestState[]) if (STATE_CODES[name] === Number(row.state)) out[name] = Number(row.n);
  }
  return out;
}

export async function requestsByState(db: Queryable, crawlId: string, state: RequestState, limit: number, offset: number): Promise<RequestRow[]> {
  return (await run(db, S.requestsByState, [crawlId, STATE_CODES[state], limit, offset])).rows.map(requestRow);
}

export async function errorSummary(db: Queryable, crawlId: string): Promise<ErrorSummaryRow[]> {
  const rows = (await run<{ code: string | null; host: string; n: string; example: string }>(db, S.errorSummary, [crawlId])).rows;
  return rows.map((r) => ({ code: r.code, host: r.host, count: Number(r.n), exampleUrl: r.example }));
}

export async function errorGroups(db: Queryable, crawlId: string, limit = 200): Promise<AdminErrorGroup[]> {
  const rows = (await run<{ code: string; host: string; n: string; url: string; message: string | null }>(db, S.errorGroups, [crawlId, limit])).rows;
  return rows.map((r) => ({ code: r.code, host: r.host, count: Number(r.n), exampleUrl: r.url, exampleMessage: r.message }));
}

export async function countItems(db: Queryable, crawlId: string): Promise<number> {
  return Number((await run<{ n: string }>(db, S.countItems, [crawlId])).rows[0]!.n);
}

export async function* iterateItems(db: Queryable, crawlId: string, batch = 1000, after = 0): AsyncGenerator<StoredItem> {
  for (;;) {
    const rows = (await run(db, S.iterateItems, [crawlId, after, batch])).rows;
    if (rows.length === 0) return;
    for (const row of rows) yield storedItem(row);
    after = Number(rows[rows.length - 1]!.id);
  }
}

export async function itemFeed(db: Queryable, crawlId: string, after: number, limit: number): Promise<FeedEntry[]> {
  return (await run(db, S.itemFeed, [crawlId, after, limit])).rows.map((row) => {
    const cursor = Number(row.position);
    return row.withdrawn === null ? { cursor, item: storedItem(row) } : { cursor, withdrawn: Number(row.withdrawn) };
  });
}

export async function searchItems(db: Queryable, crawlId: string, text: string, after: number, limit: number): Promise<StoredItem[]> {
  return (await run(db, S.searchItems, [crawlId, after, text, limit])).rows.map(storedItem);
}
