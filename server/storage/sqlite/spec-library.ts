// The SQLite backend's library of saved specs (the admin console's Specs
// page): names unique regardless of case, enforced by a UNIQUE index.
import { SpecNameTakenError, type SavedSpecRow } from '../storage.ts';
import type { GroupCommit } from './group-commit.ts';
import { savedSpecRow } from './rows.ts';
import type { Statements } from './statements.ts';

/** A statement refused by a UNIQUE index: only that statement is undone, the transaction (and its batch) goes on. */
function isUniqueViolation(error: unknown): boolean {
  return /UNIQUE constraint failed/i.test((error as Error)?.message ?? '');
}

const nameTaken = (name: string) => new SpecNameTakenError(`a saved spec is already named "${name}"`);

export class SqliteSpecLibrary {
  private readonly s: Statements;
  private readonly commits: GroupCommit;

  constructor(s: Statements, commits: GroupCommit) {
    this.s = s;
    this.commits = commits;
  }

  async listSpecs(): Promise<SavedSpecRow[]> {
    return this.s.listSpecs.all().map(savedSpecRow);
  }

  async getSpec(id: string): Promise<SavedSpecRow | undefined> {
    const row = this.s.getSpec.get(id);
    return row ? savedSpecRow(row) : undefined;
  }

  async specNameTaken(name: string): Promise<boolean> {
    return this.s.specByName.get(name) !== undefined;
  }

  async insertSpec(row: SavedSpecRow): Promise<SavedSpecRow> {
    const saved = await this.commits.run(() => {
      try {
        this.s.insertSpec.run(row.id, row.name, row.spec, row.createdAt, row.updatedAt);
      } catch (error) {
        if (isUniqueViolation(error)) return undefined;
        throw error;
      }
      return savedSpecRow(this.s.getSpec.get(row.id));
    });
    if (!saved) throw nameTaken(row.name);
    return saved;
  }

  async updateSpec(id: string, change: { name: string; spec: string; updatedAt: number }): Promise<SavedSpecRow | undefined> {
    const outcome = await this.commits.run((): SavedSpecRow | 'missing' | 'taken' => {
      try {
        if (Number(this.s.updateSpec.run(change.name, change.spec, change.updatedAt, id).changes) !== 1) return 'missing';
      } catch (error) {
        if (isUniqueViolation(error)) return 'taken';
        throw error;
      }
      return savedSpecRow(this.s.getSpec.get(id));
    });
    if (outcome === 'taken') throw nameTaken(change.name);
    return outcome === 'missing' ? undefined : outcome;
  }

  deleteSpec(id: string): Promise<boolean> {
    return this.commits.run(() => Number(this.s.deleteSpec.run(id).changes) === 1);
  }
}
