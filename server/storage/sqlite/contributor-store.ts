// The board's contributors in SQLite: rows read by id or rank, and totals
// added as increments (so a restarted hub, or the hubs of a fleet, add up).
import type { ContributorRow, ContributorTotals } from '../storage.ts';
import type { GroupCommit } from './group-commit.ts';
import { contributorRow } from './rows.ts';
import type { Statements } from './statements.ts';

export class ContributorStore {
  private readonly s: Statements;
  private readonly commits: GroupCommit;

  constructor(s: Statements, commits: GroupCommit) {
    this.s = s;
    this.commits = commits;
  }

  async contributor(id: string): Promise<ContributorRow | undefined> {
    const row = this.s.getContributor.get(id);
    return row ? contributorRow(row) : undefined;
  }

  async topContributors(limit: number): Promise<ContributorRow[]> {
    return this.s.topContributors.all(limit).map(contributorRow);
  }

  async contributorTotals(): Promise<ContributorTotals> {
    const r = this.s.contributorTotals.get() as { known: number; pages: number; items: number };
    return { known: Number(r.known), pages: Number(r.pages), items: Number(r.items) };
  }

  addToContributors(increments: readonly ContributorRow[]): Promise<void> {
    if (increments.length === 0) return Promise.resolve();
    return this.commits.run(() => {
      for (const r of increments) this.s.addToContributor.run(r.id, r.clientId, r.name, r.kind, r.pages, r.items, r.firstSeenAt, r.lastSeenAt);
    });
  }
}
