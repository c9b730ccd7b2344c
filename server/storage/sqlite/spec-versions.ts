// The SQLite backend's spec versions of running crawls (server/crawl/respec.ts
// is their one user): every version pushed to a crawl is kept, queued URLs a
// new version no longer allows are ended as skipped, and items are counted per
// version. Writes join the storage's group commit like every other write.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { QueuedUrl, SpecVersionRow } from '../spec-versions.ts';
import type { GroupCommit } from './group-commit.ts';
import { STATE_CODES } from './statements.ts';

export class SqliteSpecVersions {
  private readonly commits: GroupCommit;
  private readonly s: Record<string, StatementSync>;

  constructor(db: DatabaseSync, commits: GroupCommit) {
    this.commits = commits;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      // The version being replaced is kept first, with the crawl's creation time (a no-op once it is kept).
      keepCurrent: p(
        `INSERT INTO crawl_spec_versions (crawl_id, version, spec, created_at)
         SELECT id, spec_version, spec, created_at FROM crawls WHERE id = ? ON CONFLICT DO NOTHING`,
      ),
      insert: p('INSERT INTO crawl_spec_versions (crawl_id, version, spec, created_at) VALUES (?, ?, ?, ?)'),
      setCurrent: p('UPDATE crawls SET spec = ?, spec_version = ? WHERE id = ?'),
      list: p('SELECT version, spec, created_at, dropped FROM crawl_spec_versions WHERE crawl_id = ? ORDER BY version'),
      scan: p(`SELECT key, url, depth FROM requests WHERE crawl_id = ? AND key > ? AND state = ${STATE_CODES.queued} ORDER BY key LIMIT ?`),
      drop: p(
        `UPDATE requests SET state = ${STATE_CODES.skipped}, error_code = ?, error_message = ?, done_at = ?
         WHERE crawl_id = ? AND key = ? AND state = ${STATE_CODES.queued}`,
      ),
      countDropped: p('UPDATE crawl_spec_versions SET dropped = dropped + ? WHERE crawl_id = ? AND version = ?'),
      bumpSkipped: p('UPDATE crawls SET pages_skipped = pages_skipped + ? WHERE id = ?'),
      itemsByVersion: p('SELECT spec_version, COUNT(*) AS n FROM items WHERE crawl_id = ? GROUP BY spec_version ORDER BY spec_version'),
    };
  }

  addSpecVersion(crawlId: string, v: { version: number; spec: string; at: number }): Promise<void> {
    return this.commits.run(() => {
      this.s.keepCurrent!.run(crawlId);
      this.s.insert!.run(crawlId, v.version, v.spec, v.at);
      if (Number(this.s.setCurrent!.run(v.spec, v.version, crawlId).changes) !== 1) throw new Error(`no crawl ${crawlId}`);
    });
  }

  async listSpecVersions(crawlId: string): Promise<SpecVersionRow[]> {
    return this.s.list!.all(crawlId).map((r) => ({
      version: Number(r.version),
      spec: String(r.spec),
      createdAt: Number(r.created_at),
      dropped: Number(r.dropped),
    }));
  }

  async scanQueued(crawlId: string, afterKey: string, limit: number): Promise<QueuedUrl[]> {
    return this.s.scan!.all(crawlId, afterKey, limit).map((r) => ({ key: String(r.key), url: String(r.url), depth: Number(r.depth) }));
  }

  dropQueued(crawlId: string, version: number, keys: readonly string[], e: { code: string; message: string; at: number }): Promise<number> {
    return this.commits.run(() => {
      let dropped = 0;
      const message = e.message.slice(0, 1000);
      for (const key of keys) dropped += Number(this.s.drop!.run(e.code, message, e.at, crawlId, key).changes);
      if (dropped > 0) {
        this.s.bumpSkipped!.run(dropped, crawlId);
        this.s.countDropped!.run(dropped, crawlId, version);
      }
      return dropped;
    });
  }

  async itemsByVersion(crawlId: string): Promise<{ specVersion: number; items: number }[]> {
    return this.s.itemsByVersion!.all(crawlId).map((r) => ({ specVersion: Number(r.spec_version), items: Number(r.n) }));
  }
}
