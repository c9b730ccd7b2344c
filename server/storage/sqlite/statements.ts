// Every SQL statement of the SQLite backend, prepared once, by name: a typo in
// a name fails the type check, not a crawl. Request and source states are
// stored as small integers (see STATE_CODES); the rest of the hub sees names.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { RequestState, SourceState } from '../storage.ts';

/** requests.state as stored. */
export const STATE_CODES: Record<RequestState, number> = { queued: 0, done: 2, failed: 3, skipped: 4 };
export const STATE_NAMES: Record<number, RequestState> = { 0: 'queued', 2: 'done', 3: 'failed', 4: 'skipped' };
/** crawl_sources.state as stored. */
export const SOURCE_STATE_CODES: Record<SourceState, number> = { pending: 0, done: 1, failed: 2 };
export const SOURCE_STATE_NAMES: Record<number, SourceState> = { 0: 'pending', 1: 'done', 2: 'failed' };

export function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  const s = {
    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    insertCrawl: p('INSERT INTO crawls (id, name, spec, spec_version, status, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    getCrawl: p('SELECT * FROM crawls WHERE id = ?'),
    listCrawls: p('SELECT * FROM crawls ORDER BY created_at DESC, id DESC'),
    setStatus: p('UPDATE crawls SET status = ?, finish_reason = ?, started_at = ?, finished_at = ? WHERE id = ?'),
    bump: p(
      `UPDATE crawls SET pages_done = pages_done + ?, pages_failed = pages_failed + ?, pages_skipped = pages_skipped + ?,
       items_count = items_count + ? WHERE id = ?`,
    ),
    bumpValidation: p(
      `UPDATE crawls SET pages_checked = pages_checked + ?, pages_trusted = pages_trusted + ?, results_rejected = results_rejected + ?,
       extra_extractions = extra_extractions + ?, items_withdrawn = items_withdrawn + ? WHERE id = ?`,
    ),
    insertRequest: p('INSERT OR IGNORE INTO requests (crawl_id, key, url, host, depth, seq, state) VALUES (?, ?, ?, ?, ?, ?, 0)'),
    // Read as arrays: node:sqlite builds a row object property by property,
    // several times the size (and garbage) of an array and one literal.
    loadQueued: p(
      `SELECT key, url, host, depth, seq, attempts, not_before FROM requests
       WHERE crawl_id = ? AND host = ? AND state = 0 AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    // One index seek per host (requests_queue), however many URLs each host has queued.
    nextQueuedHost: p('SELECT host FROM requests WHERE crawl_id = ? AND state = 0 AND host > ? ORDER BY host LIMIT 1'),
    countQueued: p('SELECT COUNT(*) AS n FROM requests WHERE crawl_id = ? AND state = 0'),
    maxSeq: p('SELECT MAX(seq) AS m FROM requests WHERE crawl_id = ?'),
    countByState: p('SELECT state, COUNT(*) AS n FROM requests WHERE crawl_id = ? GROUP BY state'),
    markDone: p(
      `UPDATE requests SET state = 2, final_url = ?, http_status = ?, content_hash = ?, items = ?, links = ?, worker = ?,
       lease_id = ?, spec_version = ?, done_at = ?, client_id = ?, validation = ?, result_digest = ?,
       attempts = attempts + 1, error_code = NULL, error_message = NULL
       WHERE crawl_id = ? AND key = ? AND state = 0`,
    ),
    markEnded: p(
      `UPDATE requests SET state = ?, attempts = ?, error_code = ?, error_message = ?, http_status = ?, final_url = ?, done_at = ?
       WHERE crawl_id = ? AND key = ? AND state = 0`,
    ),
    requeue: p(
      `UPDATE requests SET attempts = ?, not_before = ?, seq = ?, error_code = ?, error_message = ?
       WHERE crawl_id = ? AND key = ? AND state = 0 RETURNING key, url, host, depth, seq, attempts, not_before`,
    ),
    getRequest: p('SELECT * FROM requests WHERE crawl_id = ? AND key = ?'),
    requestsByState: p('SELECT * FROM requests WHERE crawl_id = ? AND state = ? ORDER BY done_at DESC LIMIT ? OFFSET ?'),
    errorSummary: p(
      `SELECT error_code AS code, host, COUNT(*) AS n, MIN(url) AS example FROM requests
       WHERE crawl_id = ? AND state IN (3, 4) GROUP BY error_code, host ORDER BY n DESC LIMIT 200`,
    ),
    // SQLite fills the bare columns (url, error_message) from the row that has MAX(done_at): the latest example.
    errorGroups: p(
      `SELECT error_code AS code, host, COUNT(*) AS n, url, error_message AS message, MAX(done_at) AS last_at
       FROM requests WHERE crawl_id = ? AND state IN (3, 4)
       GROUP BY error_code, host ORDER BY n DESC, code, host LIMIT ?`,
    ),
    insertItem: p('INSERT INTO items (id, crawl_id, request_key, url, type, data, spec_version, worker, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    iterateItems: p('SELECT id, url, type, data, spec_version, worker, created_at FROM items WHERE crawl_id = ? AND id > ? ORDER BY id LIMIT ?'),
    countItems: p('SELECT COUNT(*) AS n FROM items WHERE crawl_id = ?'),
    // instr on lower() finds the text anywhere in the item's JSON or its page URL
    // (case-insensitive for ASCII letters); keyset paging by id keeps every page cheap to reach.
    searchItems: p(
      `SELECT id, url, type, data, spec_version, worker, created_at FROM items
       WHERE crawl_id = ? AND id > ? AND (instr(lower(data), lower(?)) > 0 OR instr(lower(url), lower(?)) > 0)
       ORDER BY id LIMIT ?`,
    ),
    insertSource: p('INSERT OR IGNORE INTO crawl_sources (crawl_id, url, kind, scope_base, nesting) VALUES (?, ?, ?, ?, ?)'),
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
    // The board's contributors.
    getContributor: p('SELECT * FROM contributors WHERE id = ?'),
    topContributors: p('SELECT * FROM contributors ORDER BY pages DESC, last_seen_at DESC LIMIT ?'),
    contributorTotals: p('SELECT COUNT(*) AS known, COALESCE(SUM(pages), 0) AS pages, COALESCE(SUM(items), 0) AS items FROM contributors'),
    // Increments, not absolute values: the hubs of a fleet add to one row without overwriting each other.
    addToContributor: p(
      `INSERT INTO contributors (id, client_id, name, kind, pages, items, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, pages = pages + excluded.pages, items = items + excluded.items,
         last_seen_at = MAX(last_seen_at, excluded.last_seen_at)`,
    ),
    // The console's library of specs (names unique case aside: the specs_name index).
    listSpecs: p('SELECT * FROM specs ORDER BY updated_at DESC, name'),
    getSpec: p('SELECT * FROM specs WHERE id = ?'),
    specByName: p('SELECT id FROM specs WHERE name = ? COLLATE NOCASE'),
    insertSpec: p('INSERT INTO specs (id, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)'),
    updateSpec: p('UPDATE specs SET name = ?, spec = ?, updated_at = ? WHERE id = ?'),
    deleteSpec: p('DELETE FROM specs WHERE id = ?'),
  };
  for (const statement of [s.loadQueued, s.nextQueuedHost, s.requeue]) statement.setReturnArrays(true);
  return s;
}

export type Statements = ReturnType<typeof prepareStatements>;
