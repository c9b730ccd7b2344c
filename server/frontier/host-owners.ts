// Host ownership, the frontier's side (docs/scale-out.md, "politeness per
// host"). On a database that several hubs share, a host of a crawl is worked
// by one hub at a time: a hub holds the host's row (Storage.holdHost) before it
// reads the host's queue, and gives it up when the host leaves its memory
// (drained, or evicted for room). So the host's politeness, kept in this hub's
// memory (concurrency, delay, AutoThrottle, Retry-After pauses), is the host's
// fleet-wide. A host another hub holds is paused here and asked for again
// later. On SQLite (a fleet of one) every host is the hub's at once: nothing
// is asked, nothing changes on the hot path.
import type { Storage } from '../storage/storage.ts';
import type { HostRelease } from '../storage/fleet-rows.ts';
import type { Clock } from '../clock.ts';
import type { HostQueue } from './host-queue.ts';
import type { Cooldowns } from './cooldowns.ts';

/** How long a host another hub holds waits before this hub asks for it again. */
export const HOST_ELSEWHERE_RETRY_MS = 2000;
/**
 * A held host with work queued here that this hub has not leased from for
 * max(this, 2 × the host's delay) is given up, so a hub whose workers want
 * work can take it (this hub's workers are busy elsewhere).
 */
export const HOST_UNUSED_GIVE_UP_MS = 2000;

export class HostOwners {
  private readonly storage: Storage;
  private readonly crawlId: string;
  private readonly clock: Clock;
  private readonly onError: (error: unknown) => void;
  /** Hosts given up this turn, written together. */
  private pending: HostRelease[] = [];
  /** The releases under way: a hold waits for them, so a row given up late never frees a host held again. */
  private releasing: Promise<void> = Promise.resolve();

  constructor(storage: Storage, crawlId: string, clock: Clock, onError: (error: unknown) => void) {
    this.storage = storage;
    this.crawlId = crawlId;
    this.clock = clock;
    this.onError = onError;
  }

  /** Whether hosts are shared with other hubs (PostgreSQL fleet): only then are they held and given up. */
  get shared(): boolean {
    return this.storage.sharesHosts;
  }

  /** A host comes into memory: on a fleet of one it is the hub's at once. */
  activated(host: HostQueue): void {
    if (!this.shared) host.owned = true;
  }

  /**
   * Asks for the host's row (the host counts as loading meanwhile). Held: the
   * host may not be leased before the time its last holder left, and `read`
   * reads its rows; not held: paused for HOST_ELSEWHERE_RETRY_MS, `wait`
   * schedules it and `wake` has the dispatcher count its retry. A host that
   * left memory meanwhile (`current` false) and was just taken is given up again.
   */
  hold(host: HostQueue, current: () => boolean, read: () => void, wait: () => void, wake: () => void): void {
    const settle = (held: boolean): boolean => {
      if (!current()) return false;
      if (held) read();
      else {
        wait();
        wake();
      }
      return true;
    };
    host.loading = true;
    this.releasing
      .then(() => this.storage.holdHost(this.crawlId, host.host))
      .then(
        ({ held, notBefore }) => {
          host.loading = false;
          host.owned = held;
          if (held) host.leasedAt = this.clock.now();
          host.pausedUntil = Math.max(host.pausedUntil, held ? notBefore : this.clock.now() + HOST_ELSEWHERE_RETRY_MS);
          if (!settle(held) && held) this.release(host);
        },
        (error: unknown) => {
          host.loading = false;
          this.onError(error);
        },
      );
  }

  /** The host leaves memory: its row is given up (with when its next lease may go out), batched per turn. */
  release(host: HostQueue): void {
    if (!host.owned || !this.shared) return;
    host.owned = false;
    this.pending.push({ host: host.host, notBefore: Math.max(host.nextAt, host.pausedUntil) });
    if (this.pending.length > 1) return;
    this.releasing = this.releasing.then(
      () =>
        new Promise<void>((resolve) => {
          setImmediate(() => {
            const batch = this.pending;
            this.pending = [];
            this.storage.releaseHosts(this.crawlId, batch).then(resolve, (error: unknown) => {
              this.onError(error);
              resolve();
            });
          });
        }),
    );
  }

  /**
   * Gives up the held hosts this hub has work queued for but has not leased
   * from for a while (a fleet's sync tick): each leaves memory (its politeness
   * kept in `cooldowns`) and is released like a host that drained; its rows are
   * found again by the dormant-host scan, if no other hub took it. Hosts in
   * use are kept: leases in flight, a read or robots.txt under way (held), a
   * pause (Retry-After), retries waiting for their time. Returns how many.
   */
  giveUpUnused(hosts: Map<string, HostQueue>, now: number, cooldowns: Cooldowns): number {
    if (!this.shared) return 0;
    let count = 0;
    for (const host of hosts.values()) {
      if (!host.owned || host.inFlight > 0 || host.loading || host.held || host.pausedUntil > now || host.delayedCount > 0) continue;
      if (!host.mayHaveWork() || now - host.leasedAt < Math.max(HOST_UNUSED_GIVE_UP_MS, 2 * host.delayMs)) continue;
      hosts.delete(host.host);
      cooldowns.remember(host, now);
      this.release(host);
      host.letGo();
      count++;
    }
    return count;
  }

  /** Memory is read again (resync): every host is asked for again before its rows are read. */
  forget(hosts: Iterable<HostQueue>): void {
    if (!this.shared) return;
    for (const host of hosts) host.owned = false;
  }
}
