// The board's all-time totals per contributor (one row per clientId + nickname),
// so the leaderboard survives a hub restart. Kept apart from store.ts: the board
// is the only reader and writer.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { WorkerKind } from '../../shared/protocol.ts';
import { transaction } from './sqlite/group-commit.ts';

export interface ContributorRow {
  id: string;
  client_id: string;
  name: string;
  kind: WorkerKind;
  pages: number;
  items: number;
  first_seen_at: number;
  last_seen_at: number;
}

export class ContributorStore {
  private readonly db: DatabaseSync;
  private readonly getStatement: StatementSync;
  private readonly topStatement: StatementSync;
  private readonly countStatement: StatementSync;
  private readonly totalsStatement: StatementSync;
  private readonly upsertStatement: StatementSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.getStatement = db.prepare('SELECT * FROM contributors WHERE id = ?');
    this.topStatement = db.prepare('SELECT * FROM contributors ORDER BY pages DESC, last_seen_at DESC LIMIT ?');
    this.countStatement = db.prepare('SELECT COUNT(*) AS n FROM contributors');
    this.totalsStatement = db.prepare('SELECT COALESCE(SUM(pages), 0) AS pages, COALESCE(SUM(items), 0) AS items FROM contributors');
    // Absolute values, not increments: the board holds the running totals in memory and writes them out.
    this.upsertStatement = db.prepare(
      `INSERT INTO contributors (id, client_id, name, kind, pages, items, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, pages = excluded.pages, items = excluded.items, last_seen_at = excluded.last_seen_at`,
    );
  }

  get(id: string): ContributorRow | undefined {
    return this.getStatement.get(id) as ContributorRow | undefined;
  }

  /** The contributors with the most pages, for the board's first snapshot after a start. */
  top(limit: number): ContributorRow[] {
    return this.topStatement.all(limit) as unknown as ContributorRow[];
  }

  count(): number {
    return Number((this.countStatement.get() as { n: number }).n);
  }

  totals(): { pages: number; items: number } {
    const row = this.totalsStatement.get() as { pages: number; items: number };
    return { pages: Number(row.pages), items: Number(row.items) };
  }

  /** Writes the rows' current totals in one transaction. */
  save(rows: readonly ContributorRow[]): void {
    if (rows.length === 0) return;
    transaction(this.db, () => {
      for (const r of rows) this.upsertStatement.run(r.id, r.client_id, r.name, r.kind, r.pages, r.items, r.first_seen_at, r.last_seen_at);
    });
  }
}
