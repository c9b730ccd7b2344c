// Storage out of reach for a while (the PostgreSQL server restarted, the
// network to it broke; docs/scale-out.md "The database away for a while").
// The fleet's heartbeat (fleet.ts) is what decides it is away and back; while
// it is away the hub grants no lease (a grant would come from a window whose
// rows the database cannot confirm, and its result could not be stored
// anyway), leases do not expire (their workers keep their results and send
// them again: a result is acknowledged only after its commit), and worker
// sockets stay open. When it is back, every lease gets the time it lost, each
// running crawl's window is read again from the database (frontier resync),
// and leasing goes on.
import type { StorageStatus } from '../../shared/admin-api.ts';
import { ErrorCode } from '../../shared/errors.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { CrawlRegistry } from '../crawl/registry.ts';
import type { LeaseManager } from '../lease/leases.ts';

export interface OutageHooks {
  /** Leasing may go on: run a dispatch round. */
  kick(): void;
  /** The status changed (live views). */
  changed(status: StorageStatus): void;
}

export class StorageOutage {
  /** Since when storage cannot be reached (null: it can). */
  private since: number | null = null;
  private resyncing = false;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly crawls: CrawlRegistry;
  private readonly leases: LeaseManager;
  private readonly hooks: OutageHooks;

  constructor(deps: { clock: Clock; log: Logger; crawls: CrawlRegistry; leases: LeaseManager }, hooks: OutageHooks) {
    this.clock = deps.clock;
    this.log = deps.log;
    this.crawls = deps.crawls;
    this.leases = deps.leases;
    this.hooks = hooks;
  }

  /** Whether storage is away: no lease is granted, none expires. */
  get down(): boolean {
    return this.since !== null;
  }

  get status(): StorageStatus {
    return this.since === null
      ? { available: true, unavailableSince: null, code: null }
      : { available: false, unavailableSince: this.since, code: ErrorCode.STORAGE_UNAVAILABLE };
  }

  /** The heartbeat could not reach storage (since `at`). */
  lost(at: number): void {
    if (this.since !== null) return;
    this.since = at;
    this.hooks.changed(this.status);
  }

  /** Storage answers again: leases get the lost time back, windows are read again, leasing resumes. */
  async back(): Promise<void> {
    const since = this.since;
    if (since === null || this.resyncing) return;
    this.resyncing = true;
    try {
      // Writes that failed meanwhile gave their URLs back to memory only; the database says what is queued.
      // Leasing stays held until the windows are read again, so nothing is granted from the old ones.
      await Promise.all(
        this.crawls.running().map((crawl) =>
          crawl.frontier.resync().catch((error: unknown) => this.log.error({ err: error, crawl: crawl.id }, 'reading the queue again after the database came back failed')),
        ),
      );
    } finally {
      this.resyncing = false;
    }
    const awayMs = Math.max(0, this.clock.now() - since);
    this.since = null;
    this.leases.extendAll(awayMs);
    this.hooks.changed(this.status);
    this.hooks.kick();
  }
}
