// Opens the hub's embedded SQLite database (node:sqlite, no native addon) and
// brings its schema up to date. WAL with synchronous=NORMAL: a committed
// transaction survives the hub being killed (SIGKILL), which is what the hub
// promises when it acknowledges a result; only a power cut may lose the last
// few, and then the worst case is re-crawling those pages.
import { DatabaseSync } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const DB_FILE = 'crowdcrawl.db';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE crawls (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    spec_version INTEGER NOT NULL,
    status TEXT NOT NULL,
    finish_reason TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    next_seq INTEGER NOT NULL DEFAULT 1,
    pages_done INTEGER NOT NULL DEFAULT 0,
    pages_failed INTEGER NOT NULL DEFAULT 0,
    pages_skipped INTEGER NOT NULL DEFAULT 0,
    items_count INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE requests (
    crawl_id TEXT NOT NULL,
    key TEXT NOT NULL,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    depth INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,
    final_url TEXT,
    http_status INTEGER,
    content_hash TEXT,
    items INTEGER,
    links INTEGER,
    worker TEXT,
    lease_id TEXT,
    spec_version INTEGER,
    error_code TEXT,
    error_message TEXT,
    done_at INTEGER,
    PRIMARY KEY (crawl_id, key)
  ) WITHOUT ROWID;
  CREATE INDEX requests_queue ON requests (crawl_id, host, seq) WHERE state = 0;
  CREATE INDEX requests_done ON requests (crawl_id, state, done_at);
  CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    crawl_id TEXT NOT NULL,
    request_key TEXT NOT NULL,
    url TEXT NOT NULL,
    type TEXT NOT NULL,
    data TEXT NOT NULL,
    spec_version INTEGER NOT NULL,
    worker TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX items_crawl ON items (crawl_id, id);
  `,
  // 2: all-time totals of the board's contributors (server/live/board.ts, through Storage).
  `
  CREATE TABLE contributors (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    pages INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    first_seen_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX contributors_pages ON contributors (pages DESC);
  `,
  // 3: the admin console's library of named specs (server/transport/admin/specs-routes.ts, through Storage).
  `
  CREATE TABLE specs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX specs_name ON specs (name COLLATE NOCASE);
  `,
  // 4: a crawl's start sources besides its start URLs: sitemaps, and robots.txt
  // files read for their Sitemap: lines (server/politeness/sitemaps.ts). A source
  // is pending until its URLs are queued, in the same transaction.
  `
  CREATE TABLE crawl_sources (
    crawl_id TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    scope_base TEXT NOT NULL,
    nesting INTEGER NOT NULL DEFAULT 0,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before INTEGER NOT NULL DEFAULT 0,
    urls_queued INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    error_message TEXT,
    done_at INTEGER,
    PRIMARY KEY (crawl_id, url)
  ) WITHOUT ROWID;
  CREATE INDEX crawl_sources_pending ON crawl_sources (crawl_id, not_before, url) WHERE state = 0;
  `,
  // 5: trust (server/validate/). How each page's result was believed and its
  // fingerprint; the crawl's validation figures; the served bodies of results
  // accepted on trust (compressed, by content hash) for re-checks; contributors'
  // records; bans by browser and by address (they were one JSON list in meta);
  // the operator's worker tokens (hashes only).
  `
  ALTER TABLE requests ADD COLUMN client_id TEXT;
  ALTER TABLE requests ADD COLUMN validation INTEGER;
  ALTER TABLE requests ADD COLUMN result_digest TEXT;
  CREATE INDEX requests_trusted ON requests (client_id) WHERE validation = 2;
  ALTER TABLE crawls ADD COLUMN pages_checked INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE crawls ADD COLUMN pages_trusted INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE crawls ADD COLUMN results_rejected INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE crawls ADD COLUMN extra_extractions INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE crawls ADD COLUMN items_withdrawn INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE bodies (content_hash TEXT PRIMARY KEY, data BLOB NOT NULL, stored_at INTEGER NOT NULL);
  CREATE INDEX bodies_age ON bodies (stored_at);
  CREATE TABLE trust (
    key TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    checked INTEGER NOT NULL,
    valid INTEGER NOT NULL,
    invalid INTEGER NOT NULL,
    trusted INTEGER NOT NULL,
    strikes INTEGER NOT NULL,
    consecutive_valid INTEGER NOT NULL,
    banned INTEGER NOT NULL,
    last_reason TEXT,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE bans (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO bans (kind, value, reason, created_at)
    SELECT 'client', j.value, 'banned by the operator', 0 FROM meta, json_each(meta.value) AS j WHERE meta.key = 'banned';
  DELETE FROM meta WHERE key = 'banned';
  CREATE TABLE worker_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 6: the item feed (export --follow, GET /api/crawls/:id/feed). A withdrawn
  // item leaves a tombstone. Tombstones take their position from the same
  // counter as item ids, which the backend assigns itself (item-feed.ts) so an
  // id is never used twice, even after the highest items are withdrawn.
  `
  CREATE TABLE item_withdrawals (
    position INTEGER PRIMARY KEY,
    crawl_id TEXT NOT NULL,
    item_id INTEGER NOT NULL
  );
  CREATE INDEX item_withdrawals_crawl ON item_withdrawals (crawl_id, position);
  `,
  // 7: operations (server/ops/): schedules of saved specs and the runs they
  // claimed (unique per schedule and due time: one hub of a fleet wins each),
  // webhooks and their deliveries (one row per webhook, crawl and event,
  // claimed by one hub at a time).
  `
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    spec_id TEXT NOT NULL,
    cron TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    overlap TEXT NOT NULL,
    paused INTEGER NOT NULL,
    incremental INTEGER NOT NULL,
    keep_runs INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE schedule_runs (
    schedule_id TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    crawl_id TEXT,
    message TEXT,
    hub TEXT NOT NULL,
    claimed_at INTEGER NOT NULL,
    started_at INTEGER,
    PRIMARY KEY (schedule_id, due_at)
  ) WITHOUT ROWID;
  CREATE INDEX schedule_runs_crawl ON schedule_runs (crawl_id);
  CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    spec_name TEXT,
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL,
    crawl_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_by TEXT,
    claimed_until INTEGER,
    last_status INTEGER,
    last_latency_ms INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
  CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);
  `,
  // 8: re-crawls (server/ops/recrawl.ts): each page's ETag and Last-Modified
  // as fetched; for a re-crawl's queued page, what the previous run had (the
  // conditional request's validators and its content hash); pages recorded
  // unchanged; items carried from the previous run; which crawl revisits which.
  `
  ALTER TABLE requests ADD COLUMN etag TEXT;
  ALTER TABLE requests ADD COLUMN last_modified TEXT;
  ALTER TABLE requests ADD COLUMN prev_etag TEXT;
  ALTER TABLE requests ADD COLUMN prev_last_modified TEXT;
  ALTER TABLE requests ADD COLUMN prev_hash TEXT;
  ALTER TABLE requests ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE items ADD COLUMN carried INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX items_page ON items (crawl_id, request_key);
  CREATE TABLE recrawls (crawl_id TEXT PRIMARY KEY, previous_crawl_id TEXT NOT NULL) WITHOUT ROWID;
  `,
  // 9: the fleet's registry (docs/scale-out.md): on SQLite the one hub, and the runs before it.
  `
  CREATE TABLE hubs (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    version TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    workers INTEGER NOT NULL DEFAULT 0,
    leases INTEGER NOT NULL DEFAULT 0,
    pages_per_sec REAL NOT NULL DEFAULT 0,
    gone INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  `,
  // 10: every version of a running crawl's spec (server/crawl/respec.ts), and
  // how many queued URLs each version's rules dropped when it came in.
  `
  CREATE TABLE crawl_spec_versions (
    crawl_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    dropped INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (crawl_id, version)
  ) WITHOUT ROWID;
  `,
];

export function openDatabase(dataDir: string): DatabaseSync {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(join(dataDir, DB_FILE));
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
    PRAGMA cache_size = -32000;
    PRAGMA temp_store = MEMORY;
  `);
  migrate(db);
  return db;
}

function migrate(db: DatabaseSync): void {
  const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  }
}
