// A contributor as the board keeps it in memory: its stored row (all-time
// totals), its sessions here, its rate, and the pages and items counted here
// that storage has not been told of yet (storage adds them: increments, so
// the hubs of a fleet never overwrite each other's counts).
import { createHash } from 'node:crypto';
import type { BoardContributor } from '../../shared/board-protocol.ts';
import type { ContributorRow, Storage } from '../storage/storage.ts';
import { RateWindow } from './rate-window.ts';

export interface Contributor {
  row: ContributorRow;
  /** Worker session ids connected now. */
  sessions: Set<string>;
  rate: RateWindow;
  /** Pages and items in `row` that storage has not added yet. */
  pendingPages: number;
  pendingItems: number;
  /**
   * False until its stored totals are added to the row (a worker joined whose
   * row was not in memory): until then the row counts this run's pages only,
   * so it is not saved (the fold would count what was saved twice) nor evicted.
   */
  folded: boolean;
  /** The read of its stored totals, while it runs. */
  reading?: Promise<void>;
}

export function contributorId(clientId: string, name: string): string {
  return createHash('sha256').update(clientId).update('\0').update(name).digest('base64url').slice(0, 16);
}

/** A contributor read from storage (offline until a session joins). */
export function storedContributor(row: ContributorRow, rateSeconds = 60): Contributor {
  return { row, sessions: new Set(), rate: new RateWindow(rateSeconds), pendingPages: 0, pendingItems: 0, folded: true };
}

export function contributorView(c: Contributor, now: number): BoardContributor {
  return {
    id: c.row.id,
    name: c.row.name,
    kind: c.row.kind,
    online: c.sessions.size > 0,
    sessions: c.sessions.size,
    pages: c.row.pages,
    items: c.row.items,
    pagesPerMinute: c.rate.sum(now, 60),
    lastSeenAt: c.row.lastSeenAt,
  };
}

/** The contributor's row once its stored totals are read again (nothing of it pending here): storage has every hub's counts. */
export function refreshFromStorage(c: Contributor, stored: ContributorRow): void {
  if (!c.folded || c.reading || c.pendingPages > 0 || c.pendingItems > 0) return;
  c.row.pages = stored.pages;
  c.row.items = stored.items;
  c.row.lastSeenAt = Math.max(c.row.lastSeenAt, stored.lastSeenAt);
}

/**
 * Adds what the unsaved rows counted since the last write to storage, as
 * increments (so the hubs of a fleet add up); never rejects: board totals are
 * statistics, so on failure they stay in memory for the next round.
 */
export async function saveIncrements(unsaved: Set<Contributor>, storage: Pick<Storage, 'addToContributors'>, failed: (error: unknown) => void): Promise<void> {
  const saving: { c: Contributor; increment: ContributorRow }[] = [];
  for (const c of unsaved) {
    if (!c.folded) continue;
    unsaved.delete(c);
    // A contributor who came and went without a page is not kept.
    if (c.row.pages === 0) continue;
    saving.push({ c, increment: { ...c.row, pages: c.pendingPages, items: c.pendingItems } });
    c.pendingPages = c.pendingItems = 0;
  }
  if (saving.length === 0) return;
  try {
    await storage.addToContributors(saving.map((s) => s.increment));
  } catch (error) {
    for (const { c, increment } of saving) {
      c.pendingPages += increment.pages;
      c.pendingItems += increment.items;
      unsaved.add(c);
    }
    failed(error);
  }
}
