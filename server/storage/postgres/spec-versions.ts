// PostgreSQL: the spec versions of running crawls (server/crawl/respec.ts), as
// sqlite/spec-versions.ts does on SQLite. Dropped URLs are counted on the
// crawl's skipped pages through the batch's counters (group-commit.ts).
import type { QueuedUrl, SpecVersionRow } from '../spec-versions.ts';
import { STATE_CODES } from '../sqlite/statements.ts';
import { run, statement, type PgGroupCommit, type Queryable } from './group-commit.ts';

const S = {
  keepCurrent: statement(
    'sv_keep_current',
    `INSERT INTO crawl_spec_versions (crawl_id, version, spec, created_at)
     SELECT id, spec_version, spec, created_at FROM crawls WHERE id = $1 ON CONFLICT DO NOTHING`,
  ),
  insert: statement('sv_insert', 'INSERT INTO crawl_spec_versions (crawl_id, version, spec, created_at) VALUES ($1, $2, $3, $4)'),
  setCurrent: statement('sv_set_current', 'UPDATE crawls SET spec = $2, spec_version = $3 WHERE id = $1'),
  list: statement('sv_list', 'SELECT version, spec, created_at, dropped FROM crawl_spec_versions WHERE crawl_id = $1 ORDER BY version'),
  scan: statement(
    'sv_scan',
    `SELECT key, url, depth FROM requests WHERE crawl_id = $1 AND key > $2 AND state = ${STATE_CODES.queued} ORDER BY key LIMIT $3`,
  ),
  drop: statement(
    'sv_drop',
    `UPDATE requests SET state = ${STATE_CODES.skipped}, error_code = $3, error_message = $4, done_at = $5
     WHERE crawl_id = $1 AND key = ANY($2::text[]) AND state = ${STATE_CODES.queued}`,
  ),
  countDropped: statement('sv_count_dropped', 'UPDATE crawl_spec_versions SET dropped = dropped + $3 WHERE crawl_id = $1 AND version = $2'),
  itemsByVersion: statement(
    'sv_items_by_version',
    'SELECT spec_version, COUNT(*) AS n FROM items WHERE crawl_id = $1 GROUP BY spec_version ORDER BY spec_version',
  ),
};

export class PgSpecVersions {
  private readonly db: Queryable;
  private readonly commits: PgGroupCommit;

  constructor(db: Queryable, commits: PgGroupCommit) {
    this.db = db;
    this.commits = commits;
  }

  addSpecVersion(crawlId: string, v: { version: number; spec: string; at: number }): Promise<void> {
    return this.commits.run(async (tx) => {
      await tx.run(S.keepCurrent, [crawlId]);
      await tx.run(S.insert, [crawlId, v.version, v.spec, v.at]);
      if ((await tx.run(S.setCurrent, [crawlId, v.spec, v.version])).rowCount !== 1) throw new Error(`no crawl ${crawlId}`);
    });
  }

  async listSpecVersions(crawlId: string): Promise<SpecVersionRow[]> {
    return (await run(this.db, S.list, [crawlId])).rows.map((r) => ({
      version: Number(r.version),
      spec: String(r.spec),
      createdAt: Number(r.created_at),
      dropped: Number(r.dropped),
    }));
  }

  async scanQueued(crawlId: string, afterKey: string, limit: number): Promise<QueuedUrl[]> {
    return (await run(this.db, S.scan, [crawlId, afterKey, limit])).rows.map((r) => ({ key: String(r.key), url: String(r.url), depth: Number(r.depth) }));
  }

  dropQueued(crawlId: string, version: number, keys: readonly string[], e: { code: string; message: string; at: number }): Promise<number> {
    return this.commits.run(async (tx) => {
      const dropped = (await tx.run(S.drop, [crawlId, [...keys], e.code, e.message.slice(0, 1000), e.at])).rowCount ?? 0;
      if (dropped > 0) {
        tx.bump(crawlId, { skipped: dropped });
        await tx.run(S.countDropped, [crawlId, version, dropped]);
      }
      return dropped;
    });
  }

  async itemsByVersion(crawlId: string): Promise<{ specVersion: number; items: number }[]> {
    return (await run(this.db, S.itemsByVersion, [crawlId])).rows.map((r) => ({ specVersion: Number(r.spec_version), items: Number(r.n) }));
  }
}
