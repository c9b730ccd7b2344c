// The live board's contributors as storage keeps them: all-time totals, so
// the board survives a restart, added to by every hub of a fleet (increments,
// never absolute values: two hubs would overwrite each other's counts).
import type { WorkerKind } from '../../shared/protocol.ts';

/** A contributor's all-time totals on the live board: one row per clientId and nickname (`id` is the board's public hash of both). */
export interface ContributorRow {
  id: string;
  clientId: string;
  name: string;
  kind: WorkerKind;
  pages: number;
  items: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

/** All contributors together: how many are known, their pages and items. */
export interface ContributorTotals {
  known: number;
  pages: number;
  items: number;
}

/** Storage's methods for the board's contributors (part of the Storage interface). */
export interface ContributorStorage {
  contributor(id: string): Promise<ContributorRow | undefined>;
  /** The contributors with the most pages (the latest seen first among equals), at most `limit`. */
  topContributors(limit: number): Promise<ContributorRow[]>;
  contributorTotals(): Promise<ContributorTotals>;
  /**
   * Adds each row's pages and items to the stored totals (increments: hubs of a fleet add up,
   * never overwrite), in one transaction. An existing row keeps its clientId, name and
   * firstSeenAt; it takes the kind given and the latest lastSeenAt.
   */
  addToContributors(increments: readonly ContributorRow[]): Promise<void>;
}
