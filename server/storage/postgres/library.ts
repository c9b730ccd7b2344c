// PostgreSQL: the live board's contributors (all-time totals) and the admin
// console's library of saved specs. A spec name taken (case aside: the
// specs_name index on lower(name)) undoes only that statement, under a
// savepoint, so the rest of its batch commits (as on SQLite).
import { SpecNameTakenError, type ContributorRow, type ContributorTotals, type SavedSpecRow } from '../storage.ts';
import { contributorRow, savedSpecRow } from '../sqlite/rows.ts';
import { run, statement, type PgGroupCommit, type Queryable, type Tx } from './group-commit.ts';

const S = {
  getContributor: statement('lb_get_contributor', 'SELECT * FROM contributors WHERE id = $1'),
  topContributors: statement('lb_top_contributors', 'SELECT * FROM contributors ORDER BY pages DESC, last_seen_at DESC LIMIT $1'),
  contributorTotals: statement(
    'lb_contributor_totals',
    'SELECT COUNT(*) AS known, COALESCE(SUM(pages), 0) AS pages, COALESCE(SUM(items), 0) AS items FROM contributors',
  ),
  // Increments, not absolute values: the hubs of a fleet add to one row without overwriting each other.
  addToContributors: statement(
    'lb_add_to_contributors',
    `INSERT INTO contributors (id, client_id, name, kind, pages, items, first_seen_at, last_seen_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, pages = contributors.pages + excluded.pages,
       items = contributors.items + excluded.items, last_seen_at = GREATEST(contributors.last_seen_at, excluded.last_seen_at)`,
  ),
  listSpecs: statement('lb_list_specs', 'SELECT * FROM specs ORDER BY updated_at DESC, name'),
  getSpec: statement('lb_get_spec', 'SELECT * FROM specs WHERE id = $1'),
  specByName: statement('lb_spec_by_name', 'SELECT id FROM specs WHERE lower(name) = lower($1)'),
  insertSpec: statement('lb_insert_spec', 'INSERT INTO specs (id, name, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) RETURNING *'),
  updateSpec: statement('lb_update_spec', 'UPDATE specs SET name = $2, spec = $3, updated_at = $4 WHERE id = $1 RETURNING *'),
  deleteSpec: statement('lb_delete_spec', 'DELETE FROM specs WHERE id = $1'),
};

const nameTaken = (name: string) => new SpecNameTakenError(`a saved spec is already named "${name}"`);

/** Runs one statement under a savepoint: 'taken' when a unique index refused it (only it is undone). */
async function unlessTaken<T>(tx: Tx, fn: () => Promise<T>): Promise<T | 'taken'> {
  await tx.client.query('SAVEPOINT spec_write');
  try {
    const out = await fn();
    await tx.client.query('RELEASE SAVEPOINT spec_write');
    return out;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await tx.client.query('ROLLBACK TO SAVEPOINT spec_write');
    return 'taken';
  }
}

export class PgLibrary {
  private readonly db: Queryable;
  private readonly commits: PgGroupCommit;

  constructor(db: Queryable, commits: PgGroupCommit) {
    this.db = db;
    this.commits = commits;
  }

  // The board's contributors

  async contributor(id: string): Promise<ContributorRow | undefined> {
    const row = (await run(this.db, S.getContributor, [id])).rows[0];
    return row ? contributorRow(row) : undefined;
  }

  async topContributors(limit: number): Promise<ContributorRow[]> {
    return (await run(this.db, S.topContributors, [limit])).rows.map(contributorRow);
  }

  async contributorTotals(): Promise<ContributorTotals> {
    const r = (await run(this.db, S.contributorTotals)).rows[0]!;
    return { known: Number(r.known), pages: Number(r.pages), items: Number(r.items) };
  }

  addToContributors(increments: readonly ContributorRow[]): Promise<void> {
    if (increments.length === 0) return Promise.resolve();
    // One row per id, increments added up: ON CONFLICT may not touch a row twice in one statement.
    const byId = new Map<string, ContributorRow>();
    for (const r of increments) {
      const seen = byId.get(r.id);
      byId.set(r.id, seen ? { ...r, pages: seen.pages + r.pages, items: seen.items + r.items, firstSeenAt: Math.min(seen.firstSeenAt, r.firstSeenAt), lastSeenAt: Math.max(seen.lastSeenAt, r.lastSeenAt) } : r);
    }
    const last = [...byId.values()];
    return this.commits.run(async (tx) => {
      await tx.run(S.addToContributors, [
        last.map((r) => r.id), last.map((r) => r.clientId), last.map((r) => r.name), last.map((r) => r.kind),
        last.map((r) => r.pages), last.map((r) => r.items), last.map((r) => r.firstSeenAt), last.map((r) => r.lastSeenAt),
      ]);
    });
  }

  // The console's library of specs

  async listSpecs(): Promise<SavedSpecRow[]> {
    return (await run(this.db, S.listSpecs)).rows.map(savedSpecRow);
  }

  async getSpec(id: string): Promise<SavedSpecRow | undefined> {
    const row = (await run(this.db, S.getSpec, [id])).rows[0];
    return row ? savedSpecRow(row) : undefined;
  }

  async specNameTaken(name: string): Promise<boolean> {
    return (await run(this.db, S.specByName, [name])).rows.length > 0;
  }

  async insertSpec(row: SavedSpecRow): Promise<SavedSpecRow> {
    const saved = await this.commits.run((tx) =>
      unlessTaken(tx, async () => savedSpecRow((await tx.run(S.insertSpec, [row.id, row.name, row.spec, row.createdAt, row.updatedAt])).rows[0])),
    );
    if (saved === 'taken') throw nameTaken(row.name);
    return saved;
  }

  async updateSpec(id: string, change: { name: string; spec: string; updatedAt: number }): Promise<SavedSpecRow | undefined> {
    const outcome = await this.commits.run((tx) =>
      unlessTaken(tx, async () => {
        const row = (await tx.run(S.updateSpec, [id, change.name, change.spec, change.updatedAt])).rows[0];
        return row ? savedSpecRow(row) : undefined;
      }),
    );
    if (outcome === 'taken') throw nameTaken(change.name);
    return outcome;
  }

  deleteSpec(id: string): Promise<boolean> {
    return this.commits.run(async (tx) => (await tx.run(S.deleteSpec, [id])).rowCount === 1);
  }
}
