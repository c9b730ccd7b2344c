// This hub as a member of the fleet of hubs that share its database
// (docs/scale-out.md; on SQLite, a fleet of one). It registers the hub, renews
// its row every heartbeat with what the operator sees (workers, leases,
// pages/s), and gives the rows of hubs whose heartbeat stopped back to the
// queue, so a dead hub's leases are granted again within
// hubDeadAfterMs + hubHeartbeatMs. When storage cannot be reached it says so
// once, keeps trying every heartbeat, and says when it is back.
import { randomBytes } from 'node:crypto';
import type { Storage } from '../storage/storage.ts';
import type { HubRow } from '../storage/fleet-rows.ts';
import type { Clock, ClockTimer } from '../clock.ts';
import type { Logger } from '../log.ts';

export interface FleetOptions {
  /**
   * The hub's id; a restarted hub that keeps it (app.ts keeps it in the data
   * dir) finds the rows it had claimed still its own, instead of waiting
   * hubDeadAfterMs for them. Two running hubs must never share one.
   */
  id?: string;
  heartbeatMs: number;
  deadAfterMs: number;
  version: string;
}

export interface FleetHooks {
  /** What the heartbeat reports. */
  stats(): { workers: number; leases: number };
  /** This hub learnt it was taken for dead (its claimed rows were given back): its windows must be read again. */
  rejoined(): void;
  /**
   * This hub gave dead hubs' rows back to the queue: its windows are read again at once, so those rows are leased
   * within hubDeadAfterMs + hubHeartbeatMs (a window reads a host's rows after the last one it read, and theirs may be before).
   */
  reclaimed?(rows: number): void;
  /** A heartbeat could not reach storage, the first since it last could (the engine stops leasing: storage-outage.ts). */
  storageLost?(since: number): void;
  /** Storage answers again (the engine reads its windows again and leases again); the beat waits for it. */
  storageBack?(): Promise<void>;
  /** After each heartbeat that reached storage: what other hubs change and this one holds in memory is read again (bans). */
  beaten?(): Promise<void>;
}

/** A hub as GET /api/hubs shows it: its row, and whether its heartbeat is recent. */
export interface FleetHub extends HubRow {
  alive: boolean;
  /** This hub (the one answering). */
  self: boolean;
}

/** Gone hubs are listed for a day, then forgotten. */
const FORGET_GONE_MS = 24 * 3_600_000;

export class FleetMember {
  private idValue: string;
  private readonly storage: Storage;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly options: FleetOptions;
  private readonly hooks: FleetHooks;
  private address = '';
  private timer: ClockTimer | undefined;
  private pages = 0;
  private lastBeatAt: number;
  private pagesPerSec = 0;
  private beating: Promise<void> | undefined;
  private closed = false;
  /** Since when storage could not be reached (null: it can). */
  unavailableSince: number | null = null;
  /** The fleet as last read, shown while storage cannot be reached. */
  private lastHubs: HubRow[] = [];
  constructor(storage: Storage, clock: Clock, log: Logger, options: FleetOptions, hooks: FleetHooks) {
    this.storage = storage;
    this.clock = clock;
    this.log = log;
    this.options = options;
    this.idValue = options.id ?? newHubId();
    this.hooks = hooks;
    this.lastBeatAt = clock.now();
  }

  get id(): string {
    return this.idValue;
  }

  /** Registers the hub, reached at `address` (the URL other hubs and the operator see), and starts its heartbeat. */
  async join(address: string): Promise<void> {
    this.address = address;
    await this.storage.registerHub(this.row(this.clock.now()));
    this.timer = this.clock.setInterval(() => void this.beat(), this.options.heartbeatMs);
  }

  /** A storage call failed: beat now, so an outage is noticed (and leasing held) at once rather than at the next tick. */
  probe(): void {
    // At most a few probes a heartbeat: a burst of failed writes costs one beat.
    if (this.unavailableSince !== null || this.clock.now() - this.lastBeatAt < this.options.heartbeatMs / 5) return;
    void this.beat();
  }

  /** A page was recorded by this hub (for its pages/s). */
  pageDone(): void {
    this.pages++;
  }

  /** One heartbeat: renew the row, then reclaim dead hubs' rows. Never rejects; overlapping beats are skipped. */
  beat(): Promise<void> {
    if (this.beating || this.closed) return this.beating ?? Promise.resolve();
    this.beating = this.beatOnce().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    const now = this.clock.now();
    const elapsedMs = Math.max(1, now - this.lastBeatAt);
    this.pagesPerSec = Math.round((this.pages * 1000 * 10) / elapsedMs) / 10;
    this.pages = 0;
    this.lastBeatAt = now;
    try {
      const { workers, leases } = this.hooks.stats();
      const alive = await this.storage.heartbeat(this.idValue, { heartbeatAt: now, workers, leases, pagesPerSec: this.pagesPerSec });
      if (!alive) {
        // Taken for dead (paused past hubDeadAfterMs, or storage away that long): the rows it read were given back.
        const old = this.idValue;
        this.idValue = newHubId();
        this.log.warn({ hub: old, rejoinedAs: this.idValue }, 'this hub was taken for dead by the fleet; it rejoins and reads its queue again');
        await this.storage.registerHub(this.row(now));
        this.hooks.rejoined();
      }
      const reclaimed = await this.storage.reclaimDeadHubs(now - this.options.deadAfterMs, now - FORGET_GONE_MS);
      if (reclaimed.hubs.length > 0) {
        this.log.warn({ hubs: reclaimed.hubs, rows: reclaimed.rows }, 'hubs stopped beating; their leased and claimed URLs went back to the queue');
      }
      if (reclaimed.rows > 0) this.hooks.reclaimed?.(reclaimed.rows);
      await this.hooks.beaten?.();
      if (this.unavailableSince !== null) {
        this.log.info({ downMs: now - this.unavailableSince }, 'the database is reachable again; reading the queue again and leasing');
        this.unavailableSince = null;
        await this.hooks.storageBack?.();
      }
    } catch (error) {
      if (this.unavailableSince === null) {
        this.unavailableSince = now;
        this.log.error({ err: error, code: 'STORAGE_UNAVAILABLE' }, 'the database cannot be reached; no leases are granted until it is back; retrying every heartbeat');
        this.hooks.storageLost?.(now);
      }
    }
  }

  /** Every hub of the fleet, this one marked; alive means a heartbeat within hubDeadAfterMs. Storage away: as last read. */
  async hubs(): Promise<FleetHub[]> {
    const now = this.clock.now();
    if (this.unavailableSince === null) {
      try {
        this.lastHubs = await this.storage.listHubs();
      } catch {
        // Away since the last heartbeat: the next one says so.
      }
    }
    return this.lastHubs.map((row) => ({
      ...row,
      alive: row.state === 'alive' && row.heartbeatAt >= now - this.options.deadAfterMs,
      self: row.id === this.idValue,
    }));
  }

  /** Stops the heartbeat and leaves the fleet (its claims given back at once). */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.clearInterval(this.timer);
    await this.beating;
    try {
      await this.storage.leaveFleet(this.idValue, this.clock.now());
    } catch (error) {
      this.log.warn({ err: error }, 'could not leave the fleet cleanly; the others will take this hub for dead');
    }
  }

  private row(now: number): HubRow {
    const { workers, leases } = this.hooks.stats();
    return {
      id: this.idValue,
      address: this.address,
      version: this.options.version,
      startedAt: now,
      heartbeatAt: now,
      workers,
      leases,
      pagesPerSec: this.pagesPerSec,
      state: 'alive',
    };
  }
}

export function newHubId(): string {
  return `hub-${randomBytes(6).toString('hex')}`;
}
