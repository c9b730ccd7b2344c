// The admin console's library of named specs: saved, listed, duplicated,
// edited and deleted by the operator, and loaded into the new-crawl form. A
// spec is kept as written (defaults not filled in), so it comes back exactly
// as the operator left it. Names are unique regardless of case.
import { randomBytes } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

export interface SavedSpecRow {
  id: string;
  name: string;
  /** JSON text of the spec as written. */
  spec: string;
  created_at: number;
  updated_at: number;
}

export class SpecNameTakenError extends Error {
  override readonly name = 'SpecNameTakenError';
  readonly code = 'SPEC_NAME_TAKEN';
}

function isUniqueViolation(error: unknown): boolean {
  return /UNIQUE constraint failed/i.test((error as Error)?.message ?? '');
}

export class SpecLibrary {
  private readonly listStatement: StatementSync;
  private readonly getStatement: StatementSync;
  private readonly byNameStatement: StatementSync;
  private readonly insertStatement: StatementSync;
  private readonly updateStatement: StatementSync;
  private readonly deleteStatement: StatementSync;

  constructor(db: DatabaseSync) {
    this.listStatement = db.prepare('SELECT * FROM specs ORDER BY updated_at DESC, name');
    this.getStatement = db.prepare('SELECT * FROM specs WHERE id = ?');
    this.byNameStatement = db.prepare('SELECT id FROM specs WHERE name = ? COLLATE NOCASE');
    this.insertStatement = db.prepare('INSERT INTO specs (id, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
    this.updateStatement = db.prepare('UPDATE specs SET name = ?, spec = ?, updated_at = ? WHERE id = ?');
    this.deleteStatement = db.prepare('DELETE FROM specs WHERE id = ?');
  }

  list(): SavedSpecRow[] {
    return this.listStatement.all() as unknown as SavedSpecRow[];
  }

  get(id: string): SavedSpecRow | undefined {
    return this.getStatement.get(id) as SavedSpecRow | undefined;
  }

  nameTaken(name: string): boolean {
    return this.byNameStatement.get(name) !== undefined;
  }

  /** Saves a new spec; throws SpecNameTakenError when the name is in use. */
  create(name: string, specJson: string, now = Date.now()): SavedSpecRow {
    const id = randomBytes(8).toString('hex');
    try {
      this.insertStatement.run(id, name, specJson, now, now);
    } catch (error) {
      if (isUniqueViolation(error)) throw new SpecNameTakenError(`a saved spec is already named "${name}"`);
      throw error;
    }
    return this.get(id)!;
  }

  /** Renames and/or replaces a saved spec; undefined when there is no such spec. */
  update(id: string, change: { name?: string; spec?: string }, now = Date.now()): SavedSpecRow | undefined {
    const row = this.get(id);
    if (!row) return undefined;
    const name = change.name ?? row.name;
    try {
      this.updateStatement.run(name, change.spec ?? row.spec, now, id);
    } catch (error) {
      if (isUniqueViolation(error)) throw new SpecNameTakenError(`a saved spec is already named "${name}"`);
      throw error;
    }
    return this.get(id);
  }

  /** A free name for a copy of `name`: "name (copy)", "name (copy 2)", ... */
  copyName(name: string): string {
    const base = name.replace(/ \(copy(?: \d+)?\)$/, '').slice(0, 90);
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? `${base} (copy)` : `${base} (copy ${n})`;
      if (!this.nameTaken(candidate)) return candidate;
    }
  }

  remove(id: string): boolean {
    return Number(this.deleteStatement.run(id).changes) === 1;
  }
}
